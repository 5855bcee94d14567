// SPDX-License-Identifier: MIT
// AudioFormat: integer arithmetic only, so 44.1 kHz frames never drift.
#include "core/audio_format.h"

#include <string>

namespace voice {

Result<AudioFormat> AudioFormat::make(uint32_t rate, uint32_t channels) {
    if (!isSupportedRate(rate)) {
        return Status(Errc::InvalidArgument,
                      "unsupported sample rate " + std::to_string(rate) + " (use 44100 or 48000)");
    }
    if (channels == 0 || channels > kMaxChannels) {
        return Status(Errc::InvalidArgument,
                      "unsupported channel count " + std::to_string(channels) + " (use 1 or 2)");
    }
    return AudioFormat(rate, channels);
}

std::chrono::nanoseconds AudioFormat::framesToDuration(uint64_t frames) const {
    // frames * 1e9 overflows 64 bits only after ~5 days at 48 kHz; split to be safe.
    const uint64_t seconds = frames / rate_;
    const uint64_t rest = frames % rate_;
    return std::chrono::nanoseconds(seconds * 1'000'000'000ULL + rest * 1'000'000'000ULL / rate_);
}

uint64_t AudioFormat::durationToFrames(std::chrono::nanoseconds duration) const {
    if (duration.count() <= 0) {
        return 0;
    }
    const auto ns = static_cast<uint64_t>(duration.count());
    const uint64_t seconds = ns / 1'000'000'000ULL;
    const uint64_t rest = ns % 1'000'000'000ULL;
    return seconds * rate_ + rest * rate_ / 1'000'000'000ULL;
}

bool AudioFormat::isWholeFrameDuration(std::chrono::nanoseconds duration) const {
    if (duration.count() < 0) {
        return false;
    }
    const auto ns = static_cast<uint64_t>(duration.count());
    return (ns % 1'000'000'000ULL) * rate_ % 1'000'000'000ULL == 0;
}

} // namespace voice
