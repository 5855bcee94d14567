// SPDX-License-Identifier: MIT
// Identity: a user's long-term Ed25519 key, its file, signatures and fingerprint.
#pragma once

#include "core/result.h"
#include "crypto/openssl_ptr.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace voice {

/// A long-term Ed25519 key pair. Kept 0600 as PEM PKCS#8 (unencrypted) under
/// $XDG_CONFIG_HOME/voiced/. Move-only; the private key stays inside the
/// EVP_PKEY (freed and wiped by OpenSSL) and is never logged. Methods may be
/// called from any non-real-time thread; a const Identity may be shared.
class Identity {
public:
    static constexpr size_t kPublicKeySize = 32;
    static constexpr size_t kSignatureSize = 64;
    /// Largest identity file load() reads (a PEM Ed25519 key is ~120 bytes).
    static constexpr size_t kMaxFileSize = 16 * 1024;

    using PublicKey = std::array<uint8_t, kPublicKeySize>;
    using Signature = std::array<uint8_t, kSignatureSize>;

    /// A fresh random key pair.
    static Result<Identity> generate();
    /// From a 32-byte RFC 8032 private key (seed): test vectors only.
    static Result<Identity> fromPrivateKey(std::span<const uint8_t> seed);

    /// Reads an identity file. Refuses (Errc::Permission) a file that is not
    /// a regular file owned by us with no group/other permission bits,
    /// (Errc::InvalidArgument) one over kMaxFileSize, not PEM or not Ed25519,
    /// and (Errc::NotFound) a missing file.
    static Result<Identity> load(const std::string& path);
    /// load(), or on first use generate() and save(): the daemon's entry point.
    /// Creates the parent directory (0700) if needed.
    static Result<Identity> loadOrCreate(const std::string& path);
    /// Writes the key atomically: a temporary file created 0600 with O_EXCL
    /// in the same directory, written, fsync'ed, renamed over path.
    Status save(const std::string& path) const;

    const PublicKey& publicKey() const { return public_; }
    /// fingerprintOf(publicKey()).
    std::string fingerprint() const { return fingerprintOf(public_); }

    /// Ed25519 signature over message (pure Ed25519, no prehash).
    Result<Signature> sign(std::span<const uint8_t> message) const;
    /// True only for a valid signature by publicKey over message.
    static bool verify(std::span<const uint8_t> publicKey, std::span<const uint8_t> message,
                       std::span<const uint8_t> signature);

    /// What people compare: the first 16 bytes of SHA-256(raw public key) as
    /// eight groups of four lower-case hex digits, "ab12 cd34 ... 9f0e".
    static std::string fingerprintOf(std::span<const uint8_t> publicKey);

private:
    Identity(PkeyPtr key, const PublicKey& pub) : key_(std::move(key)), public_(pub) {}
    static Result<Identity> wrap(PkeyPtr key);

    PkeyPtr key_;
    PublicKey public_{};
};

} // namespace voice
