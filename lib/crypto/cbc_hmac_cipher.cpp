// SPDX-License-Identifier: MIT
// aes-256-cbc-hmac-sha256 media suite on reused EVP_CIPHER_CTX and EVP_MAC_CTX.
#include "crypto/cbc_hmac_cipher.h"

#include <cstring>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

namespace voice {

namespace {

CipherCtxPtr keyedCbc(const DirectionKeys& keys, bool encrypt) {
    CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!cipher || !ctx) {
        return nullptr;
    }
    const int ok =
        encrypt ? EVP_EncryptInit_ex2(ctx.get(), cipher.get(), keys.key.data(), nullptr, nullptr)
                : EVP_DecryptInit_ex2(ctx.get(), cipher.get(), keys.key.data(), nullptr, nullptr);
    return ok == 1 ? std::move(ctx) : nullptr;
}

MacCtxPtr keyedHmac(const DirectionKeys& keys) {
    MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!mac) {
        return nullptr;
    }
    MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!ctx || EVP_MAC_init(ctx.get(), keys.aux.data(), keys.aux.size(), params) != 1) {
        return nullptr;
    }
    return ctx;
}

// HMAC over the given pieces. EVP_MAC_init with a NULL key restarts the
// computation with the key set at creation: no allocation per packet.
bool hmac(EVP_MAC_CTX* ctx, std::span<const uint8_t> data, uint8_t* tag) {
    size_t len = 0;
    return EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
           EVP_MAC_update(ctx, data.data(), data.size()) == 1 &&
           EVP_MAC_final(ctx, tag, &len, CbcHmacSealer::kTagSize) == 1 &&
           len == CbcHmacSealer::kTagSize;
}

} // namespace

Result<std::unique_ptr<MediaSealer>>
CbcHmacSealer::create(MediaDirection direction, const DirectionKeys& keys, size_t maxPacket) {
    std::unique_ptr<CbcHmacSealer> s(new CbcHmacSealer(direction, maxPacket));
    s->cipher_ = keyedCbc(keys, true);
    s->mac_ = keyedHmac(keys);
    if (!s->cipher_ || !s->mac_) {
        return Status::fromOpenSsl("setting up AES-256-CBC/HMAC sealer");
    }
    return std::unique_ptr<MediaSealer>(std::move(s));
}

bool CbcHmacSealer::nextIv(uint8_t* iv) {
    if (ivUsed_ == kIvPool) {
        if (RAND_bytes(ivPool_.data(), ivPool_.size()) != 1) {
            return false;
        }
        ivUsed_ = 0;
    }
    uint8_t* slot = ivPool_.data() + ivUsed_ * kIvSize;
    std::memcpy(iv, slot, kIvSize);
    // Spent IVs do not stay in the pool.
    std::memset(slot, 0, kIvSize);
    ++ivUsed_;
    return true;
}

size_t CbcHmacSealer::maxPlaintext() const {
    // Whole blocks that fit, minus at least one byte of padding.
    const size_t room = maxPacket_ - MediaHeader::kSize - kIvSize - kTagSize;
    return room / kBlockSize * kBlockSize - 1;
}

Result<size_t> CbcHmacSealer::seal(const MediaHeader& header, std::span<const uint8_t> plaintext,
                                   std::span<uint8_t> out) {
    auto begun = beginPacket(header, plaintext, out);
    if (!begun.ok()) {
        return begun;
    }
    const size_t total = *begun;

    uint8_t* iv = out.data() + MediaHeader::kSize;
    uint8_t* ct = iv + kIvSize;
    const size_t ctLen = total - MediaHeader::kSize - kIvSize - kTagSize;
    int len = 0;
    int finalLen = 0;
    if (!nextIv(iv) || EVP_EncryptInit_ex2(cipher_.get(), nullptr, nullptr, iv, nullptr) != 1 ||
        EVP_EncryptUpdate(cipher_.get(), ct, &len, plaintext.data(),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(cipher_.get(), ct + len, &finalLen) != 1 ||
        static_cast<size_t>(len + finalLen) != ctLen ||
        !hmac(mac_.get(), out.first(total - kTagSize), ct + ctLen)) {
        return Status::fromOpenSsl("AES-256-CBC/HMAC seal");
    }
    ++next_;
    return total;
}

Result<std::unique_ptr<MediaOpener>>
CbcHmacOpener::create(MediaDirection direction, const DirectionKeys& keys, size_t maxPacket) {
    std::unique_ptr<CbcHmacOpener> o(new CbcHmacOpener(direction, maxPacket));
    o->cipher_ = keyedCbc(keys, false);
    o->mac_ = keyedHmac(keys);
    if (!o->cipher_ || !o->mac_) {
        return Status::fromOpenSsl("setting up AES-256-CBC/HMAC opener");
    }
    o->scratch_.resize(maxPacket);
    return std::unique_ptr<MediaOpener>(std::move(o));
}

CbcHmacOpener::~CbcHmacOpener() {
    OPENSSL_cleanse(scratch_.data(), scratch_.size());
}

Result<OpenedPacket> CbcHmacOpener::open(std::span<const uint8_t> packet,
                                         std::span<uint8_t> plaintextOut) {
    constexpr size_t kFixed = MediaHeader::kSize + CbcHmacSealer::kIvSize + CbcHmacSealer::kTagSize;
    constexpr size_t kBlock = CbcHmacSealer::kBlockSize;
    if (packet.size() < kFixed + kBlock || packet.size() > maxPacket_ ||
        (packet.size() - kFixed) % kBlock != 0) {
        return dropError();
    }
    auto header = MediaHeader::decode(packet);
    if (!header.ok() || !carriesAudio(header->kind) || header->direction != direction_ ||
        header->sequence >= MediaSealer::kMaxPackets || !replay_.check(header->sequence)) {
        return dropError();
    }
    const size_t ctLen = packet.size() - kFixed;
    const size_t macLen = packet.size() - CbcHmacSealer::kTagSize;
    uint8_t tag[CbcHmacSealer::kTagSize];
    // Authenticate before touching the ciphertext: no padding oracle.
    if (!hmac(mac_.get(), packet.first(macLen), tag) ||
        CRYPTO_memcmp(tag, packet.data() + macLen, sizeof(tag)) != 0) {
        ERR_clear_error();
        return dropError();
    }
    const uint8_t* iv = packet.data() + MediaHeader::kSize;
    int len = 0;
    int finalLen = 0;
    const bool ok = EVP_DecryptInit_ex2(cipher_.get(), nullptr, nullptr, iv, nullptr) == 1 &&
                    EVP_DecryptUpdate(cipher_.get(), scratch_.data(), &len,
                                      iv + CbcHmacSealer::kIvSize, static_cast<int>(ctLen)) == 1 &&
                    EVP_DecryptFinal_ex(cipher_.get(), scratch_.data() + len, &finalLen) == 1;
    const size_t ptLen = static_cast<size_t>(len + finalLen);
    if (!ok || plaintextOut.size() < ptLen) {
        // Only a sender holding the MAC key can get here (bad padding):
        // still the same silent drop.
        OPENSSL_cleanse(scratch_.data(), ctLen);
        ERR_clear_error();
        return dropError();
    }
    std::memcpy(plaintextOut.data(), scratch_.data(), ptLen);
    replay_.accept(header->sequence);
    return OpenedPacket{*header, ptLen};
}

} // namespace voice
