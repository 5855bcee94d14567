// SPDX-License-Identifier: MIT
// PlaybackDevice: the write loop over AudioDevice's recovery, and priming.
#include "audio/playback_device.h"

#include <algorithm>
#include <thread>

namespace voice {

namespace {
constexpr size_t kSilenceFrames = 1024;
}

PlaybackDevice::PlaybackDevice(PcmConfig config, AudioDeviceOptions options,
                               std::unique_ptr<PcmOpener> opener)
    : AudioDevice(PcmStream::Playback, std::move(config), options, std::move(opener)),
      silence_(kSilenceFrames * this->config().format.channels(), 0) {}

int PlaybackDevice::restart(Pcm& pcm, bool first) {
    if (first) {
        return 0; // the caller's first frames fill the buffer and start it
    }
    const size_t channels = config().format.channels();
    const PcmParams& p = pcm.params();
    const size_t wake = p.effectiveWakeFrames();
    size_t left = p.bufferFrames > wake ? p.bufferFrames - wake : 0;
    // Bounded: a prepared stream below its start threshold accepts all of
    // this at once; anything else ends the priming early.
    while (left > 0) {
        const size_t chunk = std::min(left, silence_.size() / channels);
        const ssize_t n = pcm.writei(silence_.data(), chunk);
        if (n == -EAGAIN || n == 0) {
            return 0;
        }
        if (n < 0) {
            return static_cast<int>(n);
        }
        left -= static_cast<size_t>(n);
    }
    return 0;
}

void PlaybackDevice::sleepUntilRoom(Pcm& pcm, size_t frames) {
    const PcmParams& params = pcm.params();
    if (params.effectiveWakeFrames() <= params.periodFrames) {
        return;
    }
    const size_t wanted = std::min<size_t>(frames, params.effectiveWakeFrames());
    const ssize_t avail = pcm.avail();
    if (avail < 0 || static_cast<size_t>(avail) >= wanted) {
        return;
    }
    // Bounded: the wake-up size is below the buffer.
    std::this_thread::sleep_for(
        config().format.framesToDuration(wanted - static_cast<size_t>(avail)));
}

size_t PlaybackDevice::write(std::span<const int16_t> in) {
    const size_t channels = config().format.channels();
    const size_t frames = in.size() / channels;
    size_t done = 0;
    size_t live = 0;
    std::chrono::steady_clock::time_point waitingSince{}; // no progress since then
    while (done < frames) {
        Pcm* pcm = active();
        if (pcm == nullptr) {
            paceWhileLost(frames - done);
            return live;
        }
        sleepUntilRoom(*pcm, frames - done);
        const ssize_t n = pcm->writei(in.data() + done * channels, frames - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            live += static_cast<size_t>(n);
            waitingSince = {};
            noteProgress();
        } else if (n == 0 || n == -EAGAIN) {
            const Wait wait = waitReady(*pcm, waitingSince, frames - done);
            if (wait == Wait::NotStarted) {
                // The handle is starting: discard what it has no room for.
                paceWhileLost(frames - done);
                break;
            }
            if (wait == Wait::Lost) {
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
