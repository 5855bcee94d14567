// SPDX-License-Identifier: MIT
// TonePlayer: a call-progress tone on a playback device.
#include "pipeline/tone_player.h"

#include "audio/playback_device.h"
#include "audio/realtime.h"
#include "core/log.h"

#include <thread>
#include <vector>

namespace voice {

std::unique_ptr<TonePlayer> TonePlayer::start(PcmConfig device, ToneKind kind,
                                              std::chrono::milliseconds length,
                                              std::shared_ptr<const std::vector<int16_t>> clip) {
    if (clip && clip->empty()) {
        clip.reset();
    }
    std::unique_ptr<TonePlayer> p(new TonePlayer(std::move(device), kind, length, std::move(clip)));
    p->thread_ = std::thread([raw = p.get()] {
        raw->run();
        raw->finished_.store(true, std::memory_order_release);
    });
    return p;
}

TonePlayer::TonePlayer(PcmConfig device, ToneKind kind, std::chrono::milliseconds length,
                       std::shared_ptr<const std::vector<int16_t>> clip)
    : device_(std::move(device)), kind_(kind), length_(length), clip_(std::move(clip)) {
    device_.periodFrames = device_.format.rate() * kPeriodMs / 1000;
    device_.periods = 4;
    device_.wakeFrames = 0;
}

TonePlayer::~TonePlayer() {
    stop();
}

void TonePlayer::stop() {
    stop_.store(true, std::memory_order_release);
    if (thread_.joinable()) {
        thread_.join();
    }
}

void TonePlayer::run() {
    // Opening may take a sound server a while and may log: before the loop.
    PlaybackDevice device(device_);
    if (stop_.load(std::memory_order_acquire)) {
        return;
    }
    if (Status s = device.open(AudioDevice::OpenMode::RequireDevice); !s.ok()) {
        LOG_WARNING("%s tone: cannot open %s: %s", std::string(toneKindName(kind_)).c_str(),
                    device_.device.c_str(), s.toString().c_str());
        return;
    }
    const PcmParams& params = device.params();
    const uint32_t channels = device_.format.channels();
    std::vector<int16_t> period(static_cast<size_t>(params.periodFrames) * channels);
    ToneGenerator tone(kind_, device_.format.rate(), channels);
    (void)makeThreadRealtime(15); // once the allocations are done
    const uint64_t limit =
        length_.count() > 0 ? static_cast<uint64_t>(length_.count()) * device_.format.rate() / 1000
                            : 0;
    uint64_t written = 0;
    size_t clipAt = 0; // next clip sample
    // A device that takes audio faster than real time never blocks the
    // write (ALSA's file and null plugins: the tests' devices, or a user's
    // recording setup), and this real-time thread then wrote as fast as the
    // CPU went, starving every normal thread on its CPU (two such tones on a
    // two-core machine stalled the daemons' D-Bus for 30 s). So the loop
    // never runs more than one buffer ahead of the clock; a real device
    // blocks before that and the wait never happens.
    const auto start = std::chrono::steady_clock::now();
    const auto bufferAhead = device_.format.framesToDuration(params.bufferFrames);
    // The real-time loop: generate (or copy) a period, write it (blocking for room).
    while (!stop_.load(std::memory_order_acquire) && (limit == 0 || written < limit)) {
        if (clip_) {
            const std::vector<int16_t>& c = *clip_;
            for (size_t f = 0; f < params.periodFrames; ++f) {
                for (uint32_t ch = 0; ch < channels; ++ch) {
                    period[f * channels + ch] = c[clipAt];
                }
                clipAt = clipAt + 1 < c.size() ? clipAt + 1 : 0;
            }
        } else {
            tone.fill(period);
        }
        (void)device.write(period); // a lost device discards, paced: the tone still ends
        written += params.periodFrames;
        written_.store(written, std::memory_order_relaxed);
        const auto due = start + device_.format.framesToDuration(written) - bufferAhead;
        if (std::chrono::steady_clock::now() < due) {
            std::this_thread::sleep_until(due);
        }
    }
    leaveRealtime(); // before the close and the teardown (audio/realtime.h)
    // Closing drops what the device still holds: silent at once.
    device.close();
}

} // namespace voice
