// SPDX-License-Identifier: MIT
// CaptureDevice: the read loop over AudioDevice's recovery.
#include "audio/capture_device.h"

#include <algorithm>

namespace voice {

int CaptureDevice::restart(Pcm& pcm, bool /*first*/) {
    return pcm.start();
}

size_t CaptureDevice::read(std::span<int16_t> out) {
    const size_t channels = config().format.channels();
    const size_t frames = out.size() / channels;
    size_t done = 0;
    size_t live = 0;
    std::chrono::steady_clock::time_point waitingSince{}; // no progress since then
    while (done < frames) {
        Pcm* pcm = active();
        if (pcm == nullptr) {
            std::fill(out.begin() + static_cast<ptrdiff_t>(done * channels),
                      out.begin() + static_cast<ptrdiff_t>(frames * channels), int16_t{0});
            paceWhileLost(frames - done);
            return live;
        }
        const ssize_t n = pcm->readi(out.data() + done * channels, frames - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            live += static_cast<size_t>(n);
            waitingSince = {};
        } else if (n == 0 || n == -EAGAIN) {
            if (!waitReady(*pcm, waitingSince)) {
                waitingSince = {};
            }
        } else if (!recover(*pcm, n)) {
            waitingSince = {};
        }
    }
    updateDelay();
    return live;
}

} // namespace voice
