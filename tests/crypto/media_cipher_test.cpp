// SPDX-License-Identifier: MIT
// MediaSealer / MediaOpener for both suites: round trips, tampering, replay,
// truncated tags, size limits and the sequence-number limit.
#include "crypto/aes_gcm_cipher.h"
#include "crypto/cbc_hmac_cipher.h"
#include "crypto/media_cipher.h"
#include "test_util.h"

#include <array>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <random>
#include <vector>

using namespace voice;
using voice::test::fixedKeys;

namespace {

class AMediaCipher : public ::testing::TestWithParam<CipherSuite> {
protected:
    void SetUp() override {
        auto s = makeMediaSealer(GetParam(), MediaDirection::CallerToCallee, fixedKeys(1));
        auto o = makeMediaOpener(GetParam(), MediaDirection::CallerToCallee, fixedKeys(1));
        ASSERT_TRUE(s.ok()) << s.status().toString();
        ASSERT_TRUE(o.ok()) << o.status().toString();
        sealer = std::move(*s);
        opener = std::move(*o);
    }

    static MediaHeader header() {
        MediaHeader h;
        h.kind = MediaKind::Audio;
        h.codec = 1;
        h.sessionId = 0x1122334455667788ULL;
        h.timestampUs = 123456;
        return h;
    }

    static std::vector<uint8_t> payload(size_t n, uint8_t seed = 0) {
        std::vector<uint8_t> p(n);
        for (size_t i = 0; i < n; ++i) {
            p[i] = static_cast<uint8_t>(seed + i * 7);
        }
        return p;
    }

    std::vector<uint8_t> seal(const std::vector<uint8_t>& plain) {
        std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
        auto n = sealer->seal(header(), plain, packet);
        EXPECT_TRUE(n.ok()) << n.status().toString();
        packet.resize(n.ok() ? *n : 0);
        return packet;
    }

    bool opens(const std::vector<uint8_t>& packet, std::vector<uint8_t>* plain = nullptr) {
        std::vector<uint8_t> out(MediaHeader::kMaxDatagram);
        auto r = opener->open(packet, out);
        if (!r.ok()) {
            // Every failure looks the same.
            EXPECT_EQ(r.status().code(), Errc::Auth);
            EXPECT_EQ(r.status().detail(), "packet dropped");
            return false;
        }
        if (plain) {
            plain->assign(out.begin(), out.begin() + static_cast<ptrdiff_t>(r->plaintextSize));
        }
        return true;
    }

    std::unique_ptr<MediaSealer> sealer;
    std::unique_ptr<MediaOpener> opener;
};

} // namespace

TEST_P(AMediaCipher, RoundTripsPayloadsOfManySizes) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{160},
                     size_t{480}, size_t{1000}, sealer->maxPlaintext()}) {
        const auto plain = payload(n, static_cast<uint8_t>(n));
        const auto packet = seal(plain);
        ASSERT_EQ(packet.size(), sealer->sealedSize(n));
        ASSERT_LE(packet.size(), MediaHeader::kMaxDatagram);
        std::vector<uint8_t> out(MediaHeader::kMaxDatagram);
        auto r = opener->open(packet, out);
        ASSERT_TRUE(r.ok()) << "size " << n;
        ASSERT_EQ(r->plaintextSize, n);
        EXPECT_TRUE(std::equal(plain.begin(), plain.end(), out.begin()));
        EXPECT_EQ(r->header.sessionId, header().sessionId);
        EXPECT_EQ(r->header.timestampUs, header().timestampUs);
        EXPECT_EQ(r->header.direction, MediaDirection::CallerToCallee);
    }
}

TEST_P(AMediaCipher, NumbersPacketsWithItsOwnCounterAndEncryptsThePayload) {
    const auto plain = payload(160);
    for (uint64_t i = 0; i < 3; ++i) {
        const auto packet = seal(plain);
        auto h = MediaHeader::decode(packet);
        ASSERT_TRUE(h.ok());
        EXPECT_EQ(h->sequence, i);
        // The payload does not appear in clear anywhere in the packet.
        EXPECT_EQ(std::search(packet.begin(), packet.end(), plain.begin(), plain.begin() + 16),
                  packet.end());
    }
    EXPECT_EQ(sealer->nextSequence(), 3u);
}

TEST_P(AMediaCipher, RefusesPayloadsThatWouldExceedOneDatagram) {
    std::vector<uint8_t> big(sealer->maxPlaintext() + 1);
    std::vector<uint8_t> out(4096);
    auto r = sealer->seal(header(), big, out);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Errc::InvalidArgument);
    EXPECT_EQ(sealer->nextSequence(), 0u);
    std::vector<uint8_t> small(10);
    EXPECT_FALSE(sealer->seal(header(), payload(100), small).ok());
}

TEST_P(AMediaCipher, RejectsEverySingleBitFlipAcrossTheWholePacket) {
    // >= 10,000 flips: every bit of several packets (header, nonce/IV,
    // ciphertext, tag), each flipped alone.
    size_t flips = 0;
    for (size_t n : {size_t{0}, size_t{160}, size_t{1000}}) {
        const auto packet = seal(payload(n));
        for (size_t bit = 0; bit < packet.size() * 8; ++bit) {
            auto bad = packet;
            bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            ASSERT_FALSE(opens(bad)) << "bit " << bit << " of a " << n << "-byte packet";
            ++flips;
        }
        EXPECT_TRUE(opens(packet)); // and the original still opens, once
    }
    EXPECT_GE(flips, 10000u);
}

TEST_P(AMediaCipher, RejectsDuplicatesAndPacketsOlderThanTheWindow) {
    std::vector<std::vector<uint8_t>> packets;
    for (int i = 0; i < 1100; ++i) {
        packets.push_back(seal(payload(20, static_cast<uint8_t>(i))));
    }
    EXPECT_TRUE(opens(packets[0]));
    EXPECT_FALSE(opens(packets[0])); // duplicate
    EXPECT_TRUE(opens(packets[1099]));
    EXPECT_FALSE(opens(packets[1099]));
    EXPECT_FALSE(opens(packets[50]));  // 1049 behind the newest: too old
    EXPECT_TRUE(opens(packets[200]));  // 899 behind: in window, first time
    EXPECT_FALSE(opens(packets[200])); // ... and only once
}

TEST_P(AMediaCipher, AcceptsReorderedPacketsInsideTheWindowExactlyOnce) {
    std::vector<std::vector<uint8_t>> packets;
    for (int i = 0; i < 300; ++i) {
        packets.push_back(seal(payload(40, static_cast<uint8_t>(i))));
    }
    std::vector<size_t> order(packets.size());
    for (size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::mt19937 rng(7);
    // Shuffle within blocks of 128 so every packet stays inside the window.
    for (size_t start = 0; start < order.size(); start += 128) {
        std::shuffle(order.begin() + static_cast<ptrdiff_t>(start),
                     order.begin() + static_cast<ptrdiff_t>(std::min(start + 128, order.size())),
                     rng);
    }
    for (size_t i : order) {
        std::vector<uint8_t> plain;
        ASSERT_TRUE(opens(packets[i], &plain)) << "packet " << i;
        EXPECT_EQ(plain, payload(40, static_cast<uint8_t>(i)));
    }
    for (size_t i : order) {
        EXPECT_FALSE(opens(packets[i])) << "replayed packet " << i;
    }
}

TEST_P(AMediaCipher, ForgedPacketsDoNotMoveTheReplayWindow) {
    const auto first = seal(payload(30));
    // A forged packet far ahead must not push genuine packets out of the window.
    auto forged = seal(payload(30));
    forged[12] = 0x7f; // sequence number byte: far in the future
    EXPECT_FALSE(opens(forged));
    EXPECT_TRUE(opens(first));
}

TEST_P(AMediaCipher, RejectsTruncatedAndExtendedPackets) {
    const auto packet = seal(payload(160));
    for (size_t cut = 1; cut <= 40; ++cut) {
        std::vector<uint8_t> shorter(packet.begin(), packet.end() - static_cast<ptrdiff_t>(cut));
        EXPECT_FALSE(opens(shorter)) << "cut " << cut;
    }
    auto longer = packet;
    longer.push_back(0);
    EXPECT_FALSE(opens(longer));
    EXPECT_FALSE(opens({}));
    std::vector<uint8_t> headerOnly(packet.begin(), packet.begin() + MediaHeader::kSize);
    EXPECT_FALSE(opens(headerOnly));
    std::vector<uint8_t> huge(MediaHeader::kMaxDatagram + 1);
    EXPECT_FALSE(opens(huge));
    EXPECT_TRUE(opens(packet));
}

TEST_P(AMediaCipher, RejectsPacketsFromTheOtherDirectionOrKey) {
    auto mine = makeMediaSealer(GetParam(), MediaDirection::CalleeToCaller, fixedKeys(1));
    auto other = makeMediaSealer(GetParam(), MediaDirection::CallerToCallee, fixedKeys(2));
    ASSERT_TRUE(mine.ok() && other.ok());
    std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
    auto n = (*mine)->seal(header(), payload(50), packet);
    ASSERT_TRUE(n.ok());
    packet.resize(*n);
    EXPECT_FALSE(opens(packet)); // reflected: wrong direction
    packet[2] &= static_cast<uint8_t>(~MediaHeader::kFlagDirection);
    EXPECT_FALSE(opens(packet)); // direction bit rewritten: tag fails
    std::vector<uint8_t> packet2(MediaHeader::kMaxDatagram);
    n = (*other)->seal(header(), payload(50), packet2);
    ASSERT_TRUE(n.ok());
    packet2.resize(*n);
    EXPECT_FALSE(opens(packet2)); // wrong key
}

TEST_P(AMediaCipher, RefusesSequenceNumbersAtOrPastTheKeyLimit) {
    auto packet = seal(payload(10));
    // Rewrite the sequence to 2^32: the opener refuses it before any crypto
    // (and the tag would not match anyway).
    packet[12] = 0;
    packet[13] = 0;
    packet[14] = 0;
    packet[15] = 1;
    EXPECT_FALSE(opens(packet));
}

TEST_P(AMediaCipher, AsksForARekeyBeforeTheLimitAndRefusesToSealPastIt) {
    EXPECT_FALSE(sealer->needsRekey());
    ASSERT_TRUE(sealer->skipTo(MediaSealer::kMaxPackets - MediaSealer::kRekeyMargin - 1).ok());
    EXPECT_FALSE(sealer->needsRekey());
    EXPECT_TRUE(opens(seal(payload(10))));
    EXPECT_TRUE(sealer->needsRekey()) << "a new handshake is due before the hard limit";

    // The last sequence number a key may protect still seals and opens...
    ASSERT_TRUE(sealer->skipTo(MediaSealer::kMaxPackets - 1).ok());
    EXPECT_TRUE(opens(seal(payload(10))));
    // ...and the next packet is refused rather than sent under a reused nonce.
    std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
    auto n = sealer->seal(header(), payload(10), packet);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), Errc::Busy);
    EXPECT_EQ(sealer->nextSequence(), MediaSealer::kMaxPackets);
}

TEST_P(AMediaCipher, OnlyEverMovesItsCounterForward) {
    seal(payload(4));
    seal(payload(4));
    EXPECT_EQ(sealer->skipTo(1).code(), Errc::InvalidArgument);
    EXPECT_EQ(sealer->skipTo(MediaSealer::kMaxPackets + 1).code(), Errc::InvalidArgument);
    EXPECT_EQ(sealer->nextSequence(), 2u);
    ASSERT_TRUE(sealer->skipTo(1000).ok());
    auto packet = seal(payload(4));
    ASSERT_TRUE(opens(packet));
    auto h = MediaHeader::decode(packet);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->sequence, 1000u);
}

TEST_P(AMediaCipher, RefusesAPayloadBufferThatIsTooSmall) {
    const auto packet = seal(payload(100));
    std::vector<uint8_t> small(50);
    EXPECT_FALSE(opener->open(packet, small).ok());
}

INSTANTIATE_TEST_SUITE_P(BothSuites, AMediaCipher,
                         ::testing::Values(CipherSuite::Aes256Gcm,
                                           CipherSuite::Aes256CbcHmacSha256),
                         [](const auto& param) {
                             return param.param == CipherSuite::Aes256Gcm ? "Gcm" : "CbcHmac";
                         });

TEST(AnAesGcmOpener, RejectsTagsShortenedTo12Or15Bytes) {
    auto sealer =
        makeMediaSealer(CipherSuite::Aes256Gcm, MediaDirection::CallerToCallee, fixedKeys(3));
    auto opener =
        makeMediaOpener(CipherSuite::Aes256Gcm, MediaDirection::CallerToCallee, fixedKeys(3));
    ASSERT_TRUE(sealer.ok() && opener.ok());
    MediaHeader h;
    for (size_t n : {size_t{0}, size_t{3}, size_t{160}}) {
        std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
        std::vector<uint8_t> plain(n, 0x42);
        auto len = (*sealer)->seal(h, plain, packet);
        ASSERT_TRUE(len.ok());
        packet.resize(*len);
        std::vector<uint8_t> out(MediaHeader::kMaxDatagram);
        for (size_t tag : {size_t{12}, size_t{15}}) {
            std::vector<uint8_t> shortTag(packet.begin(),
                                          packet.end() - static_cast<ptrdiff_t>(16 - tag));
            EXPECT_FALSE((*opener)->open(shortTag, out).ok()) << n << "/" << tag;
        }
        EXPECT_TRUE((*opener)->open(packet, out).ok());
    }
}

TEST(AnAesGcmSealer, UsesSaltXorSequenceAsTheNonce) {
    // Independent check of the packet format with a one-shot EVP computation.
    const auto keys = fixedKeys(9);
    auto sealer = makeMediaSealer(CipherSuite::Aes256Gcm, MediaDirection::CalleeToCaller, keys);
    ASSERT_TRUE(sealer.ok());
    MediaHeader h;
    std::vector<uint8_t> plain(33, 0x5a);
    std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
    for (int i = 0; i < 2; ++i) {
        auto len = (*sealer)->seal(h, plain, packet);
        ASSERT_TRUE(len.ok());
    }
    // The second packet has sequence 1.
    std::array<uint8_t, 12> salt{};
    std::copy(keys.aux.data(), keys.aux.data() + 12, salt.begin());
    uint8_t nonce[12];
    gcmNonce(salt, 1, nonce);
    EXPECT_EQ(nonce[11], static_cast<uint8_t>(salt[11] ^ 1));
    EXPECT_EQ(nonce[0], salt[0]);
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    std::vector<uint8_t> expect(plain.size());
    uint8_t tag[16];
    int len = 0;
    int fin = 0;
    ASSERT_EQ(EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), keys.key.data(), nonce, nullptr),
              1);
    ASSERT_EQ(EVP_EncryptUpdate(ctx.get(), nullptr, &len, packet.data(), 28), 1);
    ASSERT_EQ(EVP_EncryptUpdate(ctx.get(), expect.data(), &len, plain.data(),
                                static_cast<int>(plain.size())),
              1);
    ASSERT_EQ(EVP_EncryptFinal_ex(ctx.get(), expect.data() + len, &fin), 1);
    ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
    EXPECT_TRUE(std::equal(expect.begin(), expect.end(), packet.begin() + 28));
    EXPECT_TRUE(std::equal(tag, tag + 16, packet.begin() + 28 + 33));
}

TEST(ACbcHmacSealer, TagsHeaderIvAndCiphertextWithTheFullHmacAndFreshIvs) {
    const auto keys = fixedKeys(11);
    auto sealer =
        makeMediaSealer(CipherSuite::Aes256CbcHmacSha256, MediaDirection::CallerToCallee, keys);
    ASSERT_TRUE(sealer.ok());
    MediaHeader h;
    std::vector<uint8_t> plain(100, 0x33);
    std::vector<std::vector<uint8_t>> packets;
    for (int i = 0; i < 3; ++i) {
        std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
        auto len = (*sealer)->seal(h, plain, packet);
        ASSERT_TRUE(len.ok());
        packet.resize(*len);
        EXPECT_EQ(packet.size(), 28u + 16 + 112 + 32);
        // The reused EVP_MAC_CTX gives the same tag as a one-shot HMAC.
        uint8_t tag[32];
        size_t tagLen = 0;
        ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, keys.aux.data(), 32,
                            packet.data(), packet.size() - 32, tag, sizeof(tag), &tagLen),
                  nullptr);
        ASSERT_EQ(tagLen, 32u);
        EXPECT_TRUE(std::equal(tag, tag + 32, packet.end() - 32));
        packets.push_back(packet);
    }
    // Same plaintext, different IVs and ciphertexts.
    EXPECT_FALSE(
        std::equal(packets[0].begin() + 28, packets[0].begin() + 44, packets[1].begin() + 28));
    EXPECT_FALSE(std::equal(packets[1].begin() + 44, packets[1].end(), packets[2].begin() + 44));
}

TEST(ACbcHmacOpener, DropsAuthenticPacketsWithBadPaddingTheSameWay) {
    // Craft a packet whose MAC is valid but whose padding is not: only a key
    // holder can do this; it must still be the same generic drop.
    const auto keys = fixedKeys(12);
    auto opener =
        makeMediaOpener(CipherSuite::Aes256CbcHmacSha256, MediaDirection::CallerToCallee, keys);
    ASSERT_TRUE(opener.ok());
    MediaHeader h;
    std::vector<uint8_t> packet(28 + 16 + 32 + 32);
    h.encode(std::span<uint8_t, 28>(packet.data(), 28));
    std::vector<uint8_t> block(32, 0x00); // last byte 0x00 after decryption is bad padding
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    ASSERT_EQ(EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_cbc(), keys.key.data(), packet.data() + 28,
                                  nullptr),
              1);
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    ASSERT_EQ(EVP_EncryptUpdate(ctx.get(), packet.data() + 44, &len, block.data(), 32), 1);
    size_t tagLen = 0;
    ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, keys.aux.data(), 32,
                        packet.data(), packet.size() - 32, packet.data() + packet.size() - 32, 32,
                        &tagLen),
              nullptr);
    std::vector<uint8_t> out(1200);
    auto r = (*opener)->open(packet, out);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().detail(), MediaOpener::dropError().detail());
}

TEST(AMediaSealerFactory, RefusesKeysOfTheWrongSize) {
    DirectionKeys keys{SecureBytes(16), SecureBytes(32)};
    EXPECT_FALSE(
        makeMediaSealer(CipherSuite::Aes256Gcm, MediaDirection::CallerToCallee, keys).ok());
    EXPECT_FALSE(
        makeMediaOpener(CipherSuite::Aes256CbcHmacSha256, MediaDirection::CallerToCallee, keys)
            .ok());
}
