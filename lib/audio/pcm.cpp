// SPDX-License-Identifier: MIT
// PcmConfig defaults that depend on the rate.
#include "audio/pcm.h"

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
    return Status();
}

} // namespace voice
