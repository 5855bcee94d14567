// SPDX-License-Identifier: MIT
// PcmConfig defaults that depend on the rate.
#include "audio/pcm.h"

namespace voice {

uint32_t PcmConfig::effectivePeriodFrames() const {
    if (periodFrames != 0) {
        return periodFrames;
    }
    return format.rate() / 200; // 5 ms, rounded down to whole frames
}

} // namespace voice
