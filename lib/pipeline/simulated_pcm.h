// SPDX-License-Identifier: MIT
// SimulatedPcm: a sound card simulated on CLOCK_MONOTONIC, for tests and benches without hardware.
#pragma once

#include "audio/pcm.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace voice {

/// What a simulated card captures and where its playback goes. Shared by
/// the opener and every handle it opens.
///
/// Threads: the audio thread using a handle reads `input` and appends to
/// `output`; the test reads output() only after the device was closed (its
/// threads joined). Nothing allocates after construction.
class SimulatedTape {
public:
    /// Capture delivers `input` once, then silence. Playback keeps the first
    /// outputCapacity samples written and counts the rest.
    SimulatedTape(std::vector<int16_t> input, size_t outputCapacity)
        : input_(std::move(input)), output_(outputCapacity) {}

    /// After the device is closed: what was played, in order.
    std::vector<int16_t> output() const {
        const size_t n = std::min(outputUsed_.load(std::memory_order_acquire), output_.size());
        return {output_.begin(), output_.begin() + static_cast<ptrdiff_t>(n)};
    }
    /// Samples played in total (kept or not). Any thread.
    uint64_t samplesPlayed() const { return outputUsed_.load(std::memory_order_relaxed); }
    /// Samples captured in total. Any thread.
    uint64_t samplesCaptured() const { return inputUsed_.load(std::memory_order_relaxed); }

private:
    friend class SimulatedPcm;
    std::vector<int16_t> input_;
    std::vector<int16_t> output_;
    std::atomic<uint64_t> inputUsed_{0};
    std::atomic<uint64_t> outputUsed_{0};
};

/// A Pcm (mono or stereo S16) that behaves like a sound card paced by the
/// monotonic clock: capture frames become readable as real time passes,
/// playback drains at the rate once the buffer was filled (start threshold
/// = full buffer); a reader or writer that falls a whole buffer behind gets
/// -EPIPE (an xrun), exactly as ALSA would report it. Non-blocking; wait()
/// sleeps until avail_min (a period, or wakeFrames) is available. One audio thread at a time.
class SimulatedPcm final : public Pcm {
public:
    SimulatedPcm(PcmStream stream, PcmParams params, std::shared_ptr<SimulatedTape> tape);

    ssize_t readi(int16_t* samples, size_t frames) override;
    ssize_t writei(const int16_t* samples, size_t frames) override;
    int wait(int timeoutMs) override;
    int prepare() override;
    int start() override;
    int resume() override { return -ENOSYS; }
    ssize_t avail() override;
    int delay(long* frames) override;
    const PcmParams& params() const override { return params_; }

private:
    /// Frames the hardware has moved since start (captured or played).
    int64_t hardwareFrames(int64_t nowNs) const;
    /// Frames readable (capture) or free (playback) now; < 0 after an xrun.
    int64_t available(int64_t nowNs) const;

    const PcmStream stream_;
    const PcmParams params_;
    std::shared_ptr<SimulatedTape> tape_;
    bool running_ = false;
    int64_t startNs_ = 0;
    int64_t appFrames_ = 0; // frames read or written by the application since prepare
};

/// Opens SimulatedPcm handles for any device name, with the configured
/// period and buffer (like a card that accepts everything).
class SimulatedPcmOpener final : public PcmOpener {
public:
    explicit SimulatedPcmOpener(std::shared_ptr<SimulatedTape> tape) : tape_(std::move(tape)) {}
    Result<std::unique_ptr<Pcm>> open(const PcmConfig& config, PcmStream stream) override;

private:
    std::shared_ptr<SimulatedTape> tape_;
};

} // namespace voice
