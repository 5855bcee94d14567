// SPDX-License-Identifier: MIT
// LossReport: the receiver's loss and jitter report that rides in front of an audio frame.
//
// A media packet of kind MediaKind::Feedback carries, sealed like any audio
// packet, this 16-byte block followed by one ordinary audio frame (so
// feedback takes no sequence number of its own and the audio stream keeps
// one sequence number per frame). All fields big-endian:
//
//  offset size field
//   0     1    loss fraction over the interval, in 1/256 (RFC 3550 "fraction lost")
//   1     1    reserved, must be 0
//   2     2    interval the loss was counted over, milliseconds, 1..60000
//   4     4    interarrival jitter estimate (RFC 3550), microseconds, <= 10 s
//   8     8    highest sequence number received from the peer, < 2^32
#pragma once

#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace voice {

struct LossReport {
    static constexpr size_t kSize = 16;
    static constexpr uint16_t kMaxIntervalMs = 60000;
    static constexpr uint32_t kMaxJitterUs = 10'000'000;
    static constexpr uint64_t kMaxSequence = (uint64_t{1} << 32) - 1;

    uint8_t lossFraction = 0; ///< lost / expected, times 256, clamped to 255
    uint16_t intervalMs = 500;
    uint32_t jitterUs = 0;
    uint64_t highestSequence = 0;

    /// Loss over the interval in percent, 0..99.6.
    double lossPercent() const { return lossFraction * 100.0 / 256.0; }
    /// lost/expected as a fraction in 1/256, clamped (0 when nothing was expected).
    static uint8_t fractionOf(uint64_t lost, uint64_t expected);

    /// Writes exactly kSize bytes.
    void encode(std::span<uint8_t, kSize> out) const;
    /// Parses the first kSize bytes. Any thread, no allocation except the
    /// error text: refuses short input, reserved bits and out-of-range fields.
    static Result<LossReport> decode(std::span<const uint8_t> in);

    friend bool operator==(const LossReport&, const LossReport&) = default;
};

} // namespace voice
