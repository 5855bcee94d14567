// SPDX-License-Identifier: MIT
// X25519 key generation and derivation through EVP_PKEY.
#include "crypto/x25519.h"

#include <openssl/crypto.h>

namespace voice {

Result<X25519KeyPair> X25519KeyPair::wrap(PkeyPtr key) {
    PublicKey pub{};
    size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != pub.size()) {
        return Status::fromOpenSsl("reading X25519 public key");
    }
    return X25519KeyPair(std::move(key), pub);
}

Result<X25519KeyPair> X25519KeyPair::generate() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    if (!key) {
        return Status::fromOpenSsl("generating X25519 key");
    }
    return wrap(std::move(key));
}

Result<X25519KeyPair> X25519KeyPair::fromPrivateKey(std::span<const uint8_t> privateKey) {
    if (privateKey.size() != kKeySize) {
        return Status(Errc::InvalidArgument, "X25519 private key must be 32 bytes");
    }
    PkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, privateKey.data(),
                                                privateKey.size()));
    if (!key) {
        return Status::fromOpenSsl("loading X25519 private key");
    }
    return wrap(std::move(key));
}

Result<SecureBytes> X25519KeyPair::sharedSecret(std::span<const uint8_t> peerPublicKey) const {
    if (peerPublicKey.size() != kKeySize) {
        return Status(Errc::Protocol, "X25519 public key must be 32 bytes");
    }
    PkeyPtr peer(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peerPublicKey.data(),
                                                peerPublicKey.size()));
    if (!peer) {
        return Status::fromOpenSsl("loading peer X25519 key");
    }
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
        return Status::fromOpenSsl("setting up X25519 derivation");
    }
    SecureBytes secret(kKeySize);
    size_t len = secret.size();
    // OpenSSL itself fails on an all-zero output; check again below so the
    // guarantee does not depend on the provider.
    if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 || len != kKeySize) {
        Status failed = Status::fromOpenSsl("X25519 derivation");
        return Status(Errc::Auth,
                      "X25519 with peer key failed (low-order point?): " + failed.detail());
    }
    static const uint8_t kZero[kKeySize] = {};
    if (CRYPTO_memcmp(secret.data(), kZero, kKeySize) == 0) {
        return Status(Errc::Auth, "peer X25519 key gives an all-zero shared secret");
    }
    return secret;
}

} // namespace voice
