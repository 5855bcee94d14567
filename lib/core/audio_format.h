// SPDX-License-Identifier: MIT
// AudioFormat: rate and channel count of S16 audio, and the arithmetic between
// frames, bytes and durations.
#pragma once

#include "core/result.h"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace voice {

/// Interleaved signed 16-bit little-endian PCM at 44.1 kHz or 48 kHz.
class AudioFormat {
public:
    static constexpr size_t kBytesPerSample = 2;
    static constexpr uint32_t kMaxChannels = 2;

    /// 48 kHz mono, the default of every stream.
    constexpr AudioFormat() = default;

    /// Checks rate (44100 or 48000) and channels (1 or 2).
    static Result<AudioFormat> make(uint32_t rate, uint32_t channels);
    static bool isSupportedRate(uint32_t rate) { return rate == 44100 || rate == 48000; }

    uint32_t rate() const { return rate_; }
    uint32_t channels() const { return channels_; }

    size_t bytesPerFrame() const { return kBytesPerSample * channels_; }
    size_t samplesForFrames(size_t frames) const { return frames * channels_; }
    size_t framesToBytes(size_t frames) const { return frames * bytesPerFrame(); }
    /// Whole frames in `bytes`; a trailing partial frame is not counted.
    size_t bytesToFrames(size_t bytes) const { return bytes / bytesPerFrame(); }
    bool isWholeFrames(size_t bytes) const { return bytes % bytesPerFrame() == 0; }

    /// Exact duration of `frames`, rounded down to the nanosecond.
    std::chrono::nanoseconds framesToDuration(uint64_t frames) const;
    /// Frames that fit in `duration`, rounded down.
    uint64_t durationToFrames(std::chrono::nanoseconds duration) const;
    /// True when `duration` is a whole number of frames (5 ms at 44.1 kHz is not).
    bool isWholeFrameDuration(std::chrono::nanoseconds duration) const;

    friend bool operator==(const AudioFormat&, const AudioFormat&) = default;

private:
    constexpr AudioFormat(uint32_t rate, uint32_t channels) : rate_(rate), channels_(channels) {}

    uint32_t rate_ = 48000;
    uint32_t channels_ = 1;
};

} // namespace voice
