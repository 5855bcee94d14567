// SPDX-License-Identifier: MIT
// CaptureDevice: the read loop over AudioDevice's recovery.
#include "audio/capture_device.h"

#include <algorithm>
#include <thread>

namespace voice {

namespace {
constexpr size_t kScratchFrames = 1024;
}

CaptureDevice::CaptureDevice(PcmConfig config, AudioDeviceOptions options,
                             std::unique_ptr<PcmOpener> opener)
    : AudioDevice(PcmStream::Capture, std::move(config), options, std::move(opener)),
      scratch_(kScratchFrames * this->config().format.channels(), 0) {}

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
        dropStartOverlap(*pcm, frames - done);
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
        if (have < minFrames && !slept && !starting()) {
            // Once per call, sleep until the rest should be there. A sound
            // server signals every period whatever avail_min asks (ALSA's
            // pulse plugin), and each of those wake-ups costs the thread
            // and the client library's thread a context switch or more.
            // Bounded: less than the buffer out can hold. Not while the
            // handle is starting: then the frames are substituted on
            // paceWhileLost()'s clock, and a sleep from now on top of it
            // would fall behind by each call's wake-up latency (up to
            // 100 ms over a 2 s start; the peer's jitter buffer, which
            // dates frames by their sequence, took that for transit and
            // kept it as delay for ten seconds and more).
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
        dropStartOverlap(*pcm, minFrames - done);
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

size_t CaptureDevice::discard(Pcm& pcm, size_t frames) {
    const size_t channels = config().format.channels();
    size_t dropped = 0;
    while (dropped < frames) {
        const size_t chunk = std::min(frames - dropped, scratch_.size() / channels);
        const ssize_t n = pcm.readi(scratch_.data(), chunk);
        if (n <= 0) {
            break; // -EAGAIN: the rest is not there (yet); errors: the next read sees them
        }
        dropped += static_cast<size_t>(n);
    }
    return dropped;
}

void CaptureDevice::dropStartOverlap(Pcm& pcm, size_t need) {
    if (!substituting()) {
        return;
    }
    const ssize_t ready = pcm.avail();
    if (ready < 0 || static_cast<size_t>(ready) <= need) {
        return;
    }
    if (const size_t dropped = discard(pcm, static_cast<size_t>(ready) - need); dropped > 0) {
        noteFramesDropped(dropped, false);
    }
}

void CaptureDevice::dropBacklog(Pcm& pcm) {
    long delay = 0;
    if (pcm.delay(&delay) != 0) {
        return;
    }
    const PcmParams& p = pcm.params();
    if (delay <= static_cast<long>(p.bufferFrames + p.periodFrames)) {
        return;
    }
    // Only a device that shows a full buffer to read can hold more behind
    // it: a sound server's delay also counts audio it has not handed over
    // (an estimate that runs on while the stream waits for a block), which
    // is no backlog.
    const ssize_t ready = pcm.avail();
    if (ready < 0 || static_cast<size_t>(ready) + p.periodFrames < p.bufferFrames) {
        return;
    }
    // Keep what the device's own buffer shows, less a period, so the reads
    // that follow see all of it (the pulse plugin shows at most the buffer
    // less a frame) and date it right. Bounded: non-blocking reads of what
    // is there, at most the excess.
    const auto excess = static_cast<size_t>(delay) - (p.bufferFrames - p.periodFrames);
    if (const size_t dropped = discard(pcm, excess); dropped > 0) {
        noteFramesDropped(dropped, true);
    }
}

void CaptureDevice::noteHeldFrames() {
    if (Pcm* pcm = active()) {
        dropBacklog(*pcm);
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
}

} // namespace voice
