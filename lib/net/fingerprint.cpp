// SPDX-License-Identifier: MIT
// Fingerprint: SPKI DER hashing, hex formatting and parsing, constant-time comparison.
#include "net/fingerprint.h"

#include "core/hex.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace voice {

namespace {
constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kPrefix = "sha256:";
} // namespace

Result<Fingerprint> Fingerprint::ofPublicKey(const EVP_PKEY* key) {
    if (key == nullptr) {
        return Result<Fingerprint>(Errc::InvalidArgument, "no public key");
    }
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key, &der);
    if (len <= 0) {
        return Status::fromOpenSsl("i2d_PUBKEY");
    }
    std::array<uint8_t, kSize> digest{};
    unsigned int dlen = 0;
    const int ok =
        EVP_Digest(der, static_cast<size_t>(len), digest.data(), &dlen, EVP_sha256(), nullptr);
    OPENSSL_free(der);
    if (ok != 1 || dlen != kSize) {
        return Status::fromOpenSsl("SHA-256 of public key");
    }
    return Fingerprint(digest);
}

Result<Fingerprint> Fingerprint::ofCertificate(const X509* cert) {
    if (cert == nullptr) {
        return Result<Fingerprint>(Errc::InvalidArgument, "no certificate");
    }
    return ofPublicKey(X509_get0_pubkey(cert));
}

Result<Fingerprint> Fingerprint::parse(std::string_view text) {
    auto fail = [] {
        return Result<Fingerprint>(Errc::InvalidArgument,
                                   "bad fingerprint (expected sha256: and 64 hex digits)");
    };
    if (text.size() > 200 || text.substr(0, kPrefix.size()) != kPrefix) {
        return fail();
    }
    text.remove_prefix(kPrefix.size());
    std::array<uint8_t, kSize> bytes{};
    size_t digits = 0;
    for (char c : text) {
        if (c == ' ') {
            continue;
        }
        const int v = hexDigitValue(c);
        if (v < 0 || digits >= 2 * kSize) {
            return fail();
        }
        bytes[digits / 2] = static_cast<uint8_t>(bytes[digits / 2] << 4 | v);
        ++digits;
    }
    if (digits != 2 * kSize) {
        return fail();
    }
    return Fingerprint(bytes);
}

std::string Fingerprint::toString() const {
    std::string out(kPrefix);
    for (size_t i = 0; i < kSize; ++i) {
        if (i > 0 && i % 2 == 0) {
            out += ' ';
        }
        out += kHex[bytes_[i] >> 4];
        out += kHex[bytes_[i] & 0xf];
    }
    return out;
}

std::string Fingerprint::toCompactString() const {
    std::string out(kPrefix);
    for (uint8_t b : bytes_) {
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
    }
    return out;
}

bool Fingerprint::operator==(const Fingerprint& other) const {
    return CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), kSize) == 0;
}

Status verifyPin(const Fingerprint& expected, const Fingerprint& actual, std::string_view who) {
    if (expected == actual) {
        return {};
    }
    return Status(Errc::Auth,
                  std::string(who) + ": key changed, refusing to connect. Pinned key " +
                      expected.toString() + ", but the server now presents " + actual.toString() +
                      ". If the server's key was replaced on purpose, remove its old pin.");
}

} // namespace voice
