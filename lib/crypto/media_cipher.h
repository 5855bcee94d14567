// SPDX-License-Identifier: MIT
// MediaSealer / MediaOpener: per-direction end-to-end protection of media packets.
//
// A media packet is  MediaHeader (28 bytes, clear, authenticated as AAD) ‖
// sealed payload. The layout of the sealed payload depends on the suite:
//
//   aes-256-gcm              ciphertext ‖ tag (exactly 16 bytes)
//   aes-256-cbc-hmac-sha256  IV (16, random) ‖ CBC ciphertext (PKCS#7) ‖
//                            HMAC-SHA256(mac key, header ‖ IV ‖ ciphertext),
//                            the full 32 bytes
//
// The header's sequence number is the per-direction packet counter. The
// sealer owns it (starting at 0, never reused) and refuses to go past
// kMaxPackets; the opener refuses sequence numbers at or past the same limit.
// Before the limit (needsRekey()) the daemon runs a new handshake: at 50
// packets per second 2^32 packets take over two years, so a call never gets
// there in practice.
#pragma once

#include "core/result.h"
#include "crypto/cipher_suite.h"
#include "crypto/secure_bytes.h"
#include "wire/media_header.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace voice {

/// Keys for one direction of a call, as derived by the handshake.
/// aes-256-gcm: key = AES key, aux[0..12) = nonce salt.
/// aes-256-cbc-hmac-sha256: key = AES key, aux = HMAC key.
struct DirectionKeys {
    static constexpr size_t kKeySize = 32;
    static constexpr size_t kAuxSize = 32;
    SecureBytes key;
    SecureBytes aux;
};

/// What open() found: the authenticated header and the plaintext length.
struct OpenedPacket {
    MediaHeader header;
    size_t plaintextSize = 0;
};

/// Seals outgoing media for one direction. Owned and called by the
/// transmitter thread only; no allocation or locking after creation (except
/// the Status text on a refusal).
class MediaSealer {
public:
    /// Packets per key: sequence numbers 0 .. kMaxPackets-1.
    static constexpr uint64_t kMaxPackets = uint64_t{1} << 32;
    /// needsRekey() turns true this many packets before the hard limit.
    static constexpr uint64_t kRekeyMargin = uint64_t{1} << 20;

    virtual ~MediaSealer() = default;

    virtual CipherSuite suite() const = 0;
    /// Largest plaintext one packet can carry within the packet limit.
    virtual size_t maxPlaintext() const = 0;
    /// Bytes a packet with plaintextSize bytes of payload takes, header included.
    virtual size_t sealedSize(size_t plaintextSize) const = 0;

    /// Writes header ‖ sealed plaintext into out and returns its length.
    /// header.kind must be Audio or Feedback; its direction and sequence are replaced by
    /// the sealer's own. Refuses (Errc::InvalidArgument) a plaintext over
    /// maxPlaintext() or an out buffer shorter than sealedSize(), and
    /// (Errc::Busy) any packet once kMaxPackets were sealed.
    virtual Result<size_t> seal(const MediaHeader& header, std::span<const uint8_t> plaintext,
                                std::span<uint8_t> out) = 0;

    /// The sequence number the next packet will carry.
    uint64_t nextSequence() const { return next_; }
    /// Moves the counter forward to `sequence` (never back: a nonce must not
    /// repeat), e.g. to continue a resumed stream past packets already
    /// sent. Refuses (Errc::InvalidArgument) a sequence behind the counter
    /// or past kMaxPackets.
    Status skipTo(uint64_t sequence) {
        if (sequence < next_ || sequence > kMaxPackets) {
            return Status(Errc::InvalidArgument, "media sequence may only move forward");
        }
        next_ = sequence;
        return {};
    }
    /// True once it is time to run a new handshake for fresh keys.
    bool needsRekey() const { return next_ >= kMaxPackets - kRekeyMargin; }

protected:
    MediaSealer(MediaDirection direction, size_t maxPacket)
        : direction_(direction), maxPacket_(maxPacket) {}

    /// The checks every suite makes before sealing (key not exhausted, an
    /// audio packet within maxPlaintext(), room in out), then writes the
    /// header with this sealer's direction and sequence. Returns the whole
    /// packet's size.
    Result<size_t> beginPacket(const MediaHeader& header, std::span<const uint8_t> plaintext,
                               std::span<uint8_t> out) const;

    MediaDirection direction_;
    size_t maxPacket_;
    uint64_t next_ = 0;
};

/// Opens incoming media for one direction. Owned and called by the receiver
/// thread only; no allocation or locking after creation.
class MediaOpener {
public:
    virtual ~MediaOpener() = default;

    virtual CipherSuite suite() const = 0;

    /// Authenticates and decrypts one packet; writes the plaintext to
    /// plaintextOut only after the packet verified. Any bad packet (wrong
    /// size, header, direction, tag, padding, replayed or too old) gives the
    /// same Status (dropError()) with no detail, to be dropped silently.
    /// Each sequence number is accepted at most once (replay window of
    /// ReplayWindow::kSize packets, moved only by authentic packets).
    virtual Result<OpenedPacket> open(std::span<const uint8_t> packet,
                                      std::span<uint8_t> plaintextOut) = 0;

    /// The one error every rejected packet gets.
    static Status dropError() { return Status(Errc::Auth, "packet dropped"); }

protected:
    MediaOpener(MediaDirection direction, size_t maxPacket)
        : direction_(direction), maxPacket_(maxPacket) {}

    MediaDirection direction_;
    size_t maxPacket_;
};

/// A sealer for packets sent in direction. maxPacket bounds whole packets;
/// only benchmarks pass more than MediaHeader::kMaxDatagram.
Result<std::unique_ptr<MediaSealer>> makeMediaSealer(CipherSuite suite, MediaDirection direction,
                                                     const DirectionKeys& keys,
                                                     size_t maxPacket = MediaHeader::kMaxDatagram);
/// An opener for packets received from direction (the peer's sending direction).
Result<std::unique_ptr<MediaOpener>> makeMediaOpener(CipherSuite suite, MediaDirection direction,
                                                     const DirectionKeys& keys,
                                                     size_t maxPacket = MediaHeader::kMaxDatagram);

} // namespace voice
