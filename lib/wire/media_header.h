// SPDX-License-Identifier: MIT
// MediaHeader: the clear, authenticated header in front of every media packet.
//
// A media packet is  header (28 bytes) ‖ sealed payload (ciphertext ‖ tag).
// The header is authenticated end to end as associated data but not
// encrypted, so the relay can route it by session id and count loss and
// jitter from sequence and timestamp without reading audio. The same bytes
// travel in a UDP datagram or inside a control frame.
//
//  offset size field
//   0     1    version (kVersion)
//   1     1    kind (MediaKind)
//   2     1    flags: bit 0 direction (0 caller→callee, 1 callee→caller),
//                     bit 1 in-band FEC present; other bits must be zero
//   3     1    codec id
//   4     8    session id: the sender's per-call token from the relay
//  12     8    sequence number, per direction, starting at 0, never reused
//  20     8    capture timestamp, microseconds of the sender's CLOCK_MONOTONIC
#pragma once

#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace voice {

enum class MediaKind : uint8_t {
    Audio = 1, ///< header ‖ sealed audio frame
    Probe = 2, ///< header only: teaches the relay this sender's UDP address
    /// header ‖ sealed (LossReport ‖ audio frame): an audio packet that also
    /// carries the receiver's loss report for the other direction (see
    /// wire/loss_report.h). Same sequence space as Audio: one number per frame.
    Feedback = 3,
};

/// True for the kinds that carry an audio frame (Audio and Feedback).
constexpr bool carriesAudio(MediaKind kind) {
    return kind == MediaKind::Audio || kind == MediaKind::Feedback;
}

enum class MediaDirection : uint8_t {
    CallerToCallee = 0,
    CalleeToCaller = 1,
};

struct MediaHeader {
    static constexpr size_t kSize = 28;
    static constexpr uint8_t kVersion = 1;
    /// Largest media datagram anyone sends or accepts: under the IPv6
    /// minimum MTU with room for IP and UDP headers.
    static constexpr size_t kMaxDatagram = 1200;

    static constexpr uint8_t kFlagDirection = 0x01;
    static constexpr uint8_t kFlagFec = 0x02;
    static constexpr uint8_t kKnownFlags = kFlagDirection | kFlagFec;

    MediaKind kind = MediaKind::Audio;
    MediaDirection direction = MediaDirection::CallerToCallee;
    bool fec = false;
    uint8_t codec = 0;
    uint64_t sessionId = 0;
    uint64_t sequence = 0;
    uint64_t timestampUs = 0;

    /// Writes exactly kSize bytes.
    void encode(std::span<uint8_t, kSize> out) const;
    /// Parses the first kSize bytes of a packet. Refuses short input, other
    /// versions, unknown kinds and reserved flag bits.
    static Result<MediaHeader> decode(std::span<const uint8_t> packet);

    friend bool operator==(const MediaHeader&, const MediaHeader&) = default;
};

} // namespace voice
