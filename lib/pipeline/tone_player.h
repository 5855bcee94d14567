// SPDX-License-Identifier: MIT
// TonePlayer: plays a call-progress tone (ring, ringback, busy) on a playback device from its own
// thread, for as long as asked; the device is open only while the tone plays.
//
// Threads: start() and stop() (and the destructor) on the control thread.
// The tone thread opens the device (so the control thread never waits for a
// sound server to open it), then writes one period at a time: generating
// and writing are real-time safe (no allocation, lock or log in the loop).
// stop() takes effect within one period: the thread sees the flag after its
// current write, closes the device (dropping what is buffered) and ends.
#pragma once

#include "audio/pcm.h"
#include "audio/tone_generator.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace voice {

class TonePlayer {
public:
    /// Period of the tone's device: the bound on how late stop() silences it.
    static constexpr uint32_t kPeriodMs = 10;

    /// Starts playing kind on device (device.device names the PCM; its
    /// period and buffer are set here). length 0: until stop(). With clip
    /// (mono samples at the device's rate, not empty), plays the clip over
    /// and over instead of the generated tone.
    static std::unique_ptr<TonePlayer> start(PcmConfig device, ToneKind kind,
                                             std::chrono::milliseconds length,
                                             std::shared_ptr<const std::vector<int16_t>> clip = {});
    ~TonePlayer();
    TonePlayer(const TonePlayer&) = delete;
    TonePlayer& operator=(const TonePlayer&) = delete;

    /// Control thread. Stops the tone and waits until the device is closed.
    void stop();
    /// Control thread. Asks the tone to stop and returns at once: the tone
    /// falls silent within one period of its current write, but a thread
    /// still inside a slow device open ends only when the open returns.
    void requestStop() { stop_.store(true, std::memory_order_release); }
    /// True once the tone thread has closed its device and ended (stop() is then instant).
    bool finished() const { return finished_.load(std::memory_order_acquire); }
    ToneKind kind() const { return kind_; }
    /// Frames written so far (any thread).
    uint64_t framesWritten() const { return written_.load(std::memory_order_relaxed); }

private:
    TonePlayer(PcmConfig device, ToneKind kind, std::chrono::milliseconds length,
               std::shared_ptr<const std::vector<int16_t>> clip);
    void run();

    PcmConfig device_;
    ToneKind kind_;
    std::chrono::milliseconds length_;
    std::shared_ptr<const std::vector<int16_t>> clip_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> written_{0};
    std::atomic<bool> finished_{false};
    std::thread thread_;
};

} // namespace voice
