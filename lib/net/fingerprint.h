// SPDX-License-Identifier: MIT
// Fingerprint: SHA-256 of a public key's SubjectPublicKeyInfo, the value people and pin files
// compare.
#pragma once

#include "core/result.h"

#include <array>
#include <cstdint>
#include <openssl/types.h>
#include <string>
#include <string_view>

namespace voice {

/// SHA-256 over the DER SubjectPublicKeyInfo of a key. Hashing the key,
/// not the certificate, keeps a pin valid when a certificate is re-issued
/// for the same key.
class Fingerprint {
public:
    static constexpr size_t kSize = 32;

    Fingerprint() = default; ///< all zero; equal to no real key
    explicit Fingerprint(const std::array<uint8_t, kSize>& bytes) : bytes_(bytes) {}

    static Result<Fingerprint> ofPublicKey(const EVP_PKEY* key);
    static Result<Fingerprint> ofCertificate(const X509* cert);
    /// Accepts toString() and toCompactString() output, case-insensitive;
    /// spaces between hex digits are ignored, the "sha256:" prefix is required.
    static Result<Fingerprint> parse(std::string_view text);

    /// For people: "sha256:ab12 cd34 ..." (16 groups of 4 hex digits).
    std::string toString() const;
    /// For files and one-word fields: "sha256:ab12cd34..." (64 hex digits).
    std::string toCompactString() const;

    const std::array<uint8_t, kSize>& bytes() const { return bytes_; }
    /// Constant-time comparison (CRYPTO_memcmp).
    bool operator==(const Fingerprint& other) const;

private:
    std::array<uint8_t, kSize> bytes_{};
};

/// Ok when actual equals expected (constant-time); otherwise an Auth error
/// naming `who` and showing both fingerprints, e.g.
/// "relay.example.org:7000: key changed! pinned sha256:..., now presents sha256:...".
Status verifyPin(const Fingerprint& expected, const Fingerprint& actual, std::string_view who);

} // namespace voice
