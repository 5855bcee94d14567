// SPDX-License-Identifier: MIT
// Known-answer tests: RFC 7748 (X25519), RFC 8032 (Ed25519), RFC 5869 (HKDF),
// McGrew-Viega GCM test cases 13-16 (AES-256-GCM), run through our wrappers.
#include "crypto/hkdf.h"
#include "crypto/identity.h"
#include "crypto/openssl_ptr.h"
#include "crypto/x25519.h"
#include "test_util.h"

#include <gtest/gtest.h>

using namespace voice;
using voice::test::hex;
using voice::test::unhex;

TEST(X25519, MatchesRfc7748Section52Vectors) {
    struct {
        const char* scalar;
        const char* u;
        const char* out;
    } vectors[] = {
        {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
        {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
    };
    for (const auto& v : vectors) {
        auto key = X25519KeyPair::fromPrivateKey(unhex(v.scalar));
        ASSERT_TRUE(key.ok()) << key.status().toString();
        auto shared = key->sharedSecret(unhex(v.u));
        ASSERT_TRUE(shared.ok()) << shared.status().toString();
        EXPECT_EQ(hex(shared->span()), v.out);
    }
}

TEST(X25519, MatchesRfc7748Section61DiffieHellman) {
    auto alice = X25519KeyPair::fromPrivateKey(
        unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    auto bob = X25519KeyPair::fromPrivateKey(
        unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    ASSERT_TRUE(alice.ok() && bob.ok());
    EXPECT_EQ(hex(alice->publicKey()),
              "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    EXPECT_EQ(hex(bob->publicKey()),
              "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    auto k1 = alice->sharedSecret(bob->publicKey());
    auto k2 = bob->sharedSecret(alice->publicKey());
    ASSERT_TRUE(k1.ok() && k2.ok());
    EXPECT_EQ(hex(k1->span()), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    EXPECT_EQ(hex(k2->span()), hex(k1->span()));
}

TEST(X25519, RefusesLowOrderPeerKeysThatGiveAnAllZeroSecret) {
    auto key = X25519KeyPair::generate();
    ASSERT_TRUE(key.ok());
    // 0 and 1 are points of small order: the product is all zero for any scalar.
    for (const char* point : {"0000000000000000000000000000000000000000000000000000000000000000",
                              "0100000000000000000000000000000000000000000000000000000000000000",
                              "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"}) {
        auto shared = key->sharedSecret(unhex(point));
        ASSERT_FALSE(shared.ok()) << point;
        EXPECT_EQ(shared.status().code(), Errc::Auth);
    }
}

TEST(Ed25519, MatchesRfc8032Tests1To3) {
    struct {
        const char* secret;
        const char* pub;
        const char* msg;
        const char* sig;
    } vectors[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e397"
         "01cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f361"
         "3d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f76"
         "0984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    };
    for (const auto& v : vectors) {
        auto id = Identity::fromPrivateKey(unhex(v.secret));
        ASSERT_TRUE(id.ok()) << id.status().toString();
        EXPECT_EQ(hex(id->publicKey()), v.pub);
        const auto msg = unhex(v.msg);
        auto sig = id->sign(msg);
        ASSERT_TRUE(sig.ok());
        EXPECT_EQ(hex(*sig), v.sig);
        EXPECT_TRUE(Identity::verify(id->publicKey(), msg, *sig));
        auto bad = *sig;
        bad[10] ^= 1;
        EXPECT_FALSE(Identity::verify(id->publicKey(), msg, bad));
    }
}

TEST(HkdfSha256, MatchesRfc5869TestCases1To3) {
    std::vector<uint8_t> ikm1(22, 0x0b);
    std::vector<uint8_t> seq80a, seq80b, seq80c;
    for (int i = 0; i < 80; ++i) {
        seq80a.push_back(static_cast<uint8_t>(i));
        seq80b.push_back(static_cast<uint8_t>(0x60 + i));
        seq80c.push_back(static_cast<uint8_t>(0xb0 + i));
    }
    auto okm1 =
        hkdfSha256(ikm1, unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
    ASSERT_TRUE(okm1.ok()) << okm1.status().toString();
    EXPECT_EQ(hex(okm1->span()), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                                 "34007208d5b887185865");
    auto okm2 = hkdfSha256(seq80a, seq80b, seq80c, 82);
    ASSERT_TRUE(okm2.ok());
    EXPECT_EQ(hex(okm2->span()), "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                                 "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                                 "cc30c58179ec3e87c14c01d5c1f3434f1d87");
    auto okm3 = hkdfSha256(ikm1, {}, {}, 42);
    ASSERT_TRUE(okm3.ok());
    EXPECT_EQ(hex(okm3->span()), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                                 "9d201395faa4b61a96c8");
}

namespace {
// AES-256-GCM through the same EVP calls the media sealer makes.
std::string gcmSeal(const std::vector<uint8_t>& key, const std::vector<uint8_t>& iv,
                    const std::vector<uint8_t>& aad, const std::vector<uint8_t>& pt) {
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    std::vector<uint8_t> out(pt.size() + 16);
    int len = 0;
    int fin = 0;
    EXPECT_EQ(EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.data(), iv.data(), nullptr), 1);
    if (!aad.empty()) {
        EXPECT_EQ(
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())),
            1);
    }
    EXPECT_EQ(
        EVP_EncryptUpdate(ctx.get(), out.data(), &len, pt.data(), static_cast<int>(pt.size())), 1);
    EXPECT_EQ(EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &fin), 1);
    EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, out.data() + pt.size()), 1);
    return hex(out);
}
} // namespace

TEST(Aes256Gcm, MatchesMcGrewViegaTestCases13To16) {
    const auto zeroKey = std::vector<uint8_t>(32, 0);
    const auto zeroIv = std::vector<uint8_t>(12, 0);
    EXPECT_EQ(gcmSeal(zeroKey, zeroIv, {}, {}), "530f8afbc74536b9a963b4f1c4cb738b");
    EXPECT_EQ(gcmSeal(zeroKey, zeroIv, {}, std::vector<uint8_t>(16, 0)),
              "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");

    const auto key = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    const auto iv = unhex("cafebabefacedbaddecaf888");
    const auto pt = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
    const std::string ct = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                           "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
    EXPECT_EQ(gcmSeal(key, iv, {}, pt), ct + "b094dac5d93471bdec1a502270e3cc6c");
    const auto aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    const std::vector<uint8_t> pt60(pt.begin(), pt.begin() + 60);
    EXPECT_EQ(gcmSeal(key, iv, aad, pt60), ct.substr(0, 120) + "76fc6ece0f4e1768cddf8853bb2d551b");
}
