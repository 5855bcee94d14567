// SPDX-License-Identifier: MIT
// aes-256-cbc-hmac-sha256 media suite: AES-CBC with random IVs, encrypt-then-MAC.
#pragma once

#include "crypto/media_cipher.h"
#include "crypto/openssl_ptr.h"
#include "crypto/replay_window.h"

#include <array>
#include <vector>

namespace voice {

/// Sealer: header ‖ IV ‖ AES-256-CBC(PKCS#7) ciphertext ‖ HMAC-SHA256 tag.
/// The IV is fresh from RAND_bytes for every packet (drawn 64 IVs at a time
/// into a pool, since one RAND_bytes call costs about as much as encrypting a
/// frame; every IV is used once); the tag is the full 32-byte HMAC over
/// header ‖ IV ‖ ciphertext under a separate MAC key. Transmitter thread only.
class CbcHmacSealer final : public MediaSealer {
public:
    static constexpr size_t kIvSize = 16;
    static constexpr size_t kBlockSize = 16;
    static constexpr size_t kTagSize = 32;

    static Result<std::unique_ptr<MediaSealer>> create(MediaDirection direction,
                                                       const DirectionKeys& keys, size_t maxPacket);

    CipherSuite suite() const override { return CipherSuite::Aes256CbcHmacSha256; }
    size_t maxPlaintext() const override;
    size_t sealedSize(size_t n) const override {
        return MediaHeader::kSize + kIvSize + (n / kBlockSize + 1) * kBlockSize + kTagSize;
    }
    Result<size_t> seal(const MediaHeader& header, std::span<const uint8_t> plaintext,
                        std::span<uint8_t> out) override;

private:
    CbcHmacSealer(MediaDirection direction, size_t maxPacket) : MediaSealer(direction, maxPacket) {}

    /// Copies the next unused random IV to iv; false if RAND_bytes failed.
    bool nextIv(uint8_t* iv);

    static constexpr size_t kIvPool = 64;

    CipherCtxPtr cipher_; // keyed once; the IV changes per packet
    MacCtxPtr mac_;       // keyed once; re-initialised per packet without a new key
    std::array<uint8_t, kIvPool * kIvSize> ivPool_{};
    size_t ivUsed_ = kIvPool; // pool starts empty
};

/// Opener: checks size, header, direction and replay window, then the HMAC
/// in constant time (CRYPTO_memcmp) before decrypting anything, then the
/// padding. Every failure is the same dropError(). Receiver thread only.
class CbcHmacOpener final : public MediaOpener {
public:
    static Result<std::unique_ptr<MediaOpener>> create(MediaDirection direction,
                                                       const DirectionKeys& keys, size_t maxPacket);
    ~CbcHmacOpener() override;

    CipherSuite suite() const override { return CipherSuite::Aes256CbcHmacSha256; }
    Result<OpenedPacket> open(std::span<const uint8_t> packet,
                              std::span<uint8_t> plaintextOut) override;

private:
    CbcHmacOpener(MediaDirection direction, size_t maxPacket) : MediaOpener(direction, maxPacket) {}

    CipherCtxPtr cipher_;
    MacCtxPtr mac_;
    std::vector<uint8_t> scratch_;
    ReplayWindow replay_;
};

} // namespace voice
