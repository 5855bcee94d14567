// SPDX-License-Identifier: MIT
// ToneGenerator: the call-progress tones voiced plays itself, generated (no sample files): ring
// (callee), ringback (caller, while the peer's phone rings) and busy.
//
// Each tone is a cadence of on/off segments repeating forever; while on, the
// sum of one or two sines. fill() is real-time safe: no allocation, no lock,
// no logging (the sines are stepped by a rotating phasor, not a table).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace voice {

enum class ToneKind {
    /// Callee: 1000 + 1250 Hz, 1.5 s on, 1 s off (a bright two-tone ring).
    Ring,
    /// Caller while the peer's phone rings: 425 Hz, 1 s on, 4 s off (ETSI ringback).
    Ringback,
    /// Caller when the peer is busy: 425 Hz, 0.5 s on, 0.5 s off (ETSI busy).
    Busy,
};

/// "ring", "ringback", "busy".
std::string_view toneKindName(ToneKind kind);

class ToneGenerator {
public:
    /// rate in Hz (44100 or 48000), channels 1 or 2 (the same signal on both).
    ToneGenerator(ToneKind kind, uint32_t rate, uint32_t channels);

    /// Any thread (one at a time). Real-time safe. Fills `out` (whole
    /// frames, interleaved) with the next part of the tone.
    void fill(std::span<int16_t> out) noexcept;

    /// Frequencies of the tone (the second 0 for one sine); for tests.
    double frequency(int which) const { return which == 0 ? f1_ : f2_; }

private:
    uint32_t rate_;
    uint32_t channels_;
    double f1_ = 0, f2_ = 0;
    uint64_t onFrames_ = 0, periodFrames_ = 0;
    uint64_t position_ = 0; ///< frames into the cadence
    // Phasors (cos, sin) and their per-frame rotations.
    double c1_ = 1, s1_ = 0, c2_ = 1, s2_ = 0;
    double dc1_ = 1, ds1_ = 0, dc2_ = 1, ds2_ = 0;
};

} // namespace voice
