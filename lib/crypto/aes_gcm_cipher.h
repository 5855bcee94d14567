// SPDX-License-Identifier: MIT
// aes-256-gcm media suite: nonce = per-direction salt XOR sequence, 16-byte tag.
#pragma once

#include "crypto/media_cipher.h"
#include "crypto/openssl_ptr.h"
#include "crypto/replay_window.h"

#include <array>
#include <vector>

namespace voice {

/// AES-256-GCM sealer. The 96-bit nonce is the direction's 12-byte salt with
/// the big-endian sequence number XORed into its last 8 bytes; the sealer's
/// counter never repeats, so neither does the nonce. Transmitter thread only.
class AesGcmSealer final : public MediaSealer {
public:
    static constexpr size_t kNonceSize = 12;
    static constexpr size_t kTagSize = 16;

    static Result<std::unique_ptr<MediaSealer>> create(MediaDirection direction,
                                                       const DirectionKeys& keys, size_t maxPacket);
    ~AesGcmSealer() override;

    CipherSuite suite() const override { return CipherSuite::Aes256Gcm; }
    size_t maxPlaintext() const override { return maxPacket_ - MediaHeader::kSize - kTagSize; }
    size_t sealedSize(size_t n) const override { return MediaHeader::kSize + n + kTagSize; }
    Result<size_t> seal(const MediaHeader& header, std::span<const uint8_t> plaintext,
                        std::span<uint8_t> out) override;

private:
    AesGcmSealer(MediaDirection direction, size_t maxPacket) : MediaSealer(direction, maxPacket) {}

    CipherCtxPtr ctx_; // keyed once; only the nonce changes per packet
    std::array<uint8_t, kNonceSize> salt_{};
};

/// AES-256-GCM opener: checks size, header, direction and replay window,
/// decrypts into a scratch buffer and copies out only after the exactly
/// 16-byte tag verified. Receiver thread only.
class AesGcmOpener final : public MediaOpener {
public:
    static Result<std::unique_ptr<MediaOpener>> create(MediaDirection direction,
                                                       const DirectionKeys& keys, size_t maxPacket);
    ~AesGcmOpener() override;

    CipherSuite suite() const override { return CipherSuite::Aes256Gcm; }
    Result<OpenedPacket> open(std::span<const uint8_t> packet,
                              std::span<uint8_t> plaintextOut) override;

private:
    AesGcmOpener(MediaDirection direction, size_t maxPacket) : MediaOpener(direction, maxPacket) {}

    CipherCtxPtr ctx_;
    std::array<uint8_t, AesGcmSealer::kNonceSize> salt_{};
    std::vector<uint8_t> scratch_; // maxPacket bytes, allocated once
    ReplayWindow replay_;
};

/// nonce = salt XOR (0^32 ‖ be64(sequence)).
void gcmNonce(const std::array<uint8_t, AesGcmSealer::kNonceSize>& salt, uint64_t sequence,
              uint8_t* nonce);

} // namespace voice
