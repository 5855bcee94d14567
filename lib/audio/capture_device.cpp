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
        // Wait for a whole period (the device's avail_min) before reading.
        // Reading at once would take the few frames that came in since the
        // last read: the read position leaves the period grid, the next
        // wait ends a period after that, and each wake-up's latency pushes
        // the phase later until a whole period lags behind (a sawtooth of
        // up to a period of latency, and jitter the peer must buffer for).
        if (!waitReady(*pcm, waitingSince)) {
            waitingSince = {};
            continue;
        }
        const ssize_t n = pcm->readi(out.data() + done * channels, frames - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            live += static_cast<size_t>(n);
            waitingSince = {};
        } else if (n < 0 && n != -EAGAIN && !recover(*pcm, n)) {
            waitingSince = {};
        }
    }
    updateDelay();
    if (Pcm* pcm = active()) {
        // What the device holds beyond the frames read: snd_pcm_delay, but
        // no more than it has ready to read. A sound server's delay adds its
        // own estimate of audio it has not handed over yet (ALSA's pulse
        // plugin: zero or a whole period, whichever the last timing update
        // caught), which is its buffering, as the playback side's beyond its
        // buffer is; the capture timestamps must not jump by a period with it.
        const ssize_t ready = pcm->avail();
        const long delay = delayFrames();
        heldFrames_.store(ready >= 0 ? std::min<long>(delay, ready) : delay,
                          std::memory_order_relaxed);
    }
    return live;
}

} // namespace voice
