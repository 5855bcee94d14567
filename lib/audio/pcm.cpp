// SPDX-License-Identifier: MIT
// PcmConfig defaults that depend on the rate.
#include "audio/pcm.h"

#include <algorithm>
#include <string>

namespace voice {

uint32_t PcmConfig::effectivePeriodFrames() const {
    if (periodFrames != 0) {
        return periodFrames;
    }
    return format.rate() / 200; // 5 ms, rounded down to whole frames
}

Status PcmConfig::validate() const {
    if (device.empty() || device.size() > 255) {
        return Status(Errc::InvalidArgument, "ALSA device name must have 1 to 255 characters");
    }
    if (periods < 2 || periods > 32) {
        return Status(Errc::InvalidArgument,
                      "period count " + std::to_string(periods) + " is outside 2..32");
    }
    if (periodFrames != 0 && (periodFrames < 16 || periodFrames > 8192)) {
        return Status(Errc::InvalidArgument, "period size " + std::to_string(periodFrames) +
                                                 " is outside 16..8192 frames");
    }
    if (wakeFrames != 0 && (wakeFrames < 16 || wakeFrames > 8192)) {
        return Status(Errc::InvalidArgument,
                      "wake-up size " + std::to_string(wakeFrames) + " is outside 16..8192 frames");
    }
    return Status();
}

uint32_t PcmConfig::effectiveWakeFrames(uint32_t period, uint32_t buffer) const {
    const uint32_t most = buffer > 2 * period ? buffer - period : period;
    return std::clamp(wakeFrames, period, most);
}

} // namespace voice
