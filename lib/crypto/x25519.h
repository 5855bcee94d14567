// SPDX-License-Identifier: MIT
// X25519KeyPair: an ephemeral Diffie-Hellman key (RFC 7748) for one call.
#pragma once

#include "core/result.h"
#include "crypto/openssl_ptr.h"
#include "crypto/secure_bytes.h"

#include <array>
#include <cstdint>
#include <span>

namespace voice {

class X25519KeyPair {
public:
    static constexpr size_t kKeySize = 32;
    using PublicKey = std::array<uint8_t, kKeySize>;

    /// A fresh random key pair (from the OpenSSL DRBG).
    static Result<X25519KeyPair> generate();
    /// A key pair from a known 32-byte private scalar: test vectors only.
    static Result<X25519KeyPair> fromPrivateKey(std::span<const uint8_t> privateKey);

    const PublicKey& publicKey() const { return public_; }

    /// The 32-byte shared secret with a peer's public key. Refuses an
    /// all-zero result (the peer sent a low-order point, so the secret would
    /// not depend on our key: a non-contributory exchange).
    Result<SecureBytes> sharedSecret(std::span<const uint8_t> peerPublicKey) const;

private:
    X25519KeyPair(PkeyPtr key, const PublicKey& pub) : key_(std::move(key)), public_(pub) {}
    static Result<X25519KeyPair> wrap(PkeyPtr key);

    PkeyPtr key_; // EVP_PKEY_free wipes the private scalar
    PublicKey public_{};
};

} // namespace voice
