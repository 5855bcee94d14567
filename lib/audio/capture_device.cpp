// SPDX-License-Identifier: MIT
// CaptureDevice: the read loop over AudioDevice's recovery.
#include "audio/capture_device.h"

#include <algorithm>
#include <thread>

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
        const Wait wait = waitReady(*pcm, waitingSince, frames - done);
        if (wait == Wait::NotStarted) {
            break; // silence for the rest, below
        }
        if (wait == Wait::Lost) {
            waitingSince = {};
            continue;
        }
        const ssize_t n = pcm->readi(out.data() + done * channels, frames - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            live += static_cast<size_t>(n);
            waitingSince = {};
            noteProgress();
        } else if (n < 0 && n != -EAGAIN && !recover(*pcm, n)) {
            waitingSince = {};
        }
    }
    if (done < frames) {
        // The handle is starting: silence for what it has not delivered.
        std::fill(out.begin() + static_cast<ptrdiff_t>(done * channels),
                  out.begin() + static_cast<ptrdiff_t>(frames * channels), int16_t{0});
        paceWhileLost(frames - done);
    }
    noteHeldFrames();
    return live;
}

size_t CaptureDevice::readAtLeast(std::span<int16_t> out, size_t minFrames) {
    const size_t channels = config().format.channels();
    const size_t capacity = out.size() / channels;
    minFrames = std::min(minFrames, capacity);
    size_t done = 0;
    bool slept = false;
    std::chrono::steady_clock::time_point waitingSince{}; // no progress since then
    while (done < minFrames) {
        Pcm* pcm = active();
        if (pcm == nullptr) {
            std::fill(out.begin() + static_cast<ptrdiff_t>(done * channels),
                      out.begin() + static_cast<ptrdiff_t>(minFrames * channels), int16_t{0});
            paceWhileLost(minFrames - done);
            return minFrames;
        }
        const ssize_t ready = pcm->avail();
        if (ready < 0) {
            if (!recover(*pcm, ready)) {
                waitingSince = {};
            }
            continue;
        }
        const auto have = done + static_cast<size_t>(ready);
        if (have < minFrames && !slept) {
            // Once per call, sleep until the rest should be there. A sound
            // server signals every period whatever avail_min asks (ALSA's
            // pulse plugin), and each of those wake-ups costs the thread
            // and the client library's thread a context switch or more.
            // Bounded: less than the buffer out can hold.
            slept = true;
            std::this_thread::sleep_for(config().format.framesToDuration(minFrames - have));
            continue;
        }
        if (ready == 0) {
            // Still short after the sleep: the device's own wait ends when
            // the next period comes in, so the frame is read the moment it
            // is whole and no later.
            const Wait wait = waitReady(*pcm, waitingSince, minFrames - done);
            if (wait == Wait::NotStarted) {
                break;
            }
            if (wait == Wait::Lost) {
                waitingSince = {};
            }
            continue;
        }
        // Everything that is ready, not just what is missing, and not even
        // what avail() said a moment ago (more may have come in since): a
        // sound server's block read in part stays pinned by the client
        // library until the next read, and when the server goes away
        // libpulse waits for that block with its lock held, so the next
        // read never returns (seen in alsa_pulse_test). The device is
        // non-blocking: the read takes what is there, whole blocks.
        const ssize_t n = pcm->readi(out.data() + done * channels, capacity - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            waitingSince = {};
            noteProgress();
        } else if (n < 0 && n != -EAGAIN && !recover(*pcm, n)) {
            waitingSince = {};
        } else if (n == 0 || n == -EAGAIN) {
            const Wait wait = waitReady(*pcm, waitingSince, minFrames - done);
            if (wait == Wait::NotStarted) {
                break;
            }
            if (wait == Wait::Lost) {
                waitingSince = {};
            }
        }
    }
    if (done < minFrames) {
        // The handle is starting: silence for what it has not delivered.
        std::fill(out.begin() + static_cast<ptrdiff_t>(done * channels),
                  out.begin() + static_cast<ptrdiff_t>(minFrames * channels), int16_t{0});
        paceWhileLost(minFrames - done);
        done = minFrames;
    }
    noteHeldFrames();
    return done;
}

void CaptureDevice::noteHeldFrames() {
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
}

} // namespace voice
