// SPDX-License-Identifier: MIT
// SimulatedPcm: frame positions computed from the monotonic clock.
#include "pipeline/simulated_pcm.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace voice {
namespace {

int64_t monotonicNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void sleepUntil(int64_t ns) {
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

} // namespace

SimulatedPcm::SimulatedPcm(PcmStream stream, PcmParams params, std::shared_ptr<SimulatedTape> tape)
    : stream_(stream), params_(params), tape_(std::move(tape)) {}

int64_t SimulatedPcm::hardwareFrames(int64_t nowNs) const {
    if (!running_) {
        return 0;
    }
    return (nowNs - startNs_) * params_.format.rate() / 1'000'000'000;
}

int64_t SimulatedPcm::available(int64_t nowNs) const {
    const int64_t buffer = params_.bufferFrames;
    if (stream_ == PcmStream::Capture) {
        const int64_t avail = hardwareFrames(nowNs) - appFrames_;
        return avail > buffer ? -1 : avail;
    }
    if (!running_) {
        return buffer - appFrames_;
    }
    const int64_t queued = appFrames_ - hardwareFrames(nowNs);
    return queued < 0 ? -1 : buffer - queued;
}

ssize_t SimulatedPcm::readi(int16_t* samples, size_t frames) {
    if (stream_ != PcmStream::Capture) {
        return -EBADFD;
    }
    if (!running_) {
        return -EBADFD; // capture must be started first, as with ALSA
    }
    const int64_t avail = available(monotonicNs());
    if (avail < 0) {
        return -EPIPE;
    }
    const size_t n = std::min(frames, static_cast<size_t>(avail));
    if (n == 0) {
        return -EAGAIN;
    }
    const size_t channels = params_.format.channels();
    const size_t count = n * channels;
    const uint64_t used = tape_->inputUsed_.load(std::memory_order_relaxed);
    const auto& input = tape_->input_;
    const size_t fromInput = used < input.size() ? std::min<size_t>(count, input.size() - used) : 0;
    if (fromInput > 0) {
        std::memcpy(samples, input.data() + used, fromInput * sizeof(int16_t));
    }
    std::fill(samples + fromInput, samples + count, int16_t{0});
    tape_->inputUsed_.store(used + count, std::memory_order_relaxed);
    appFrames_ += static_cast<int64_t>(n);
    return static_cast<ssize_t>(n);
}

ssize_t SimulatedPcm::writei(const int16_t* samples, size_t frames) {
    if (stream_ != PcmStream::Playback) {
        return -EBADFD;
    }
    const int64_t now = monotonicNs();
    const int64_t avail = available(now);
    if (avail < 0) {
        return -EPIPE;
    }
    const size_t n = std::min(frames, static_cast<size_t>(avail));
    if (n == 0) {
        return -EAGAIN;
    }
    const size_t channels = params_.format.channels();
    const size_t count = n * channels;
    const uint64_t used = tape_->outputUsed_.load(std::memory_order_relaxed);
    auto& output = tape_->output_;
    if (used < output.size()) {
        const size_t kept = std::min<size_t>(count, output.size() - used);
        std::memcpy(output.data() + used, samples, kept * sizeof(int16_t));
    }
    tape_->outputUsed_.store(used + count, std::memory_order_release);
    appFrames_ += static_cast<int64_t>(n);
    if (!running_ && appFrames_ >= static_cast<int64_t>(params_.bufferFrames)) {
        running_ = true; // start threshold: a full buffer
        startNs_ = now;
    }
    return static_cast<ssize_t>(n);
}

int SimulatedPcm::wait(int timeoutMs) {
    const int64_t now = monotonicNs();
    const int64_t avail = available(now);
    const auto wake = static_cast<int64_t>(params_.effectiveWakeFrames());
    if (avail < 0 || avail >= wake || !running_) {
        return 1; // an xrun or a stopped stream: report "ready" so the caller sees it
    }
    // When avail_min is available: the hardware must move (wake - avail) frames.
    const int64_t missing = wake - avail;
    const int64_t rate = params_.format.rate();
    const int64_t target = hardwareFrames(now) + missing;
    const int64_t readyNs = startNs_ + (target * 1'000'000'000 + rate - 1) / rate;
    const int64_t limitNs = now + int64_t{timeoutMs} * 1'000'000;
    sleepUntil(std::min(readyNs, limitNs));
    return readyNs <= limitNs ? 1 : 0;
}

int SimulatedPcm::prepare() {
    running_ = false;
    appFrames_ = 0;
    return 0;
}

int SimulatedPcm::start() {
    running_ = true;
    startNs_ = monotonicNs();
    appFrames_ = 0;
    return 0;
}

ssize_t SimulatedPcm::avail() {
    const int64_t avail = available(monotonicNs());
    return avail < 0 ? -EPIPE : static_cast<ssize_t>(avail);
}

int SimulatedPcm::delay(long* frames) {
    const int64_t now = monotonicNs();
    if (stream_ == PcmStream::Capture) {
        *frames = static_cast<long>(std::max<int64_t>(0, hardwareFrames(now) - appFrames_));
    } else {
        *frames = static_cast<long>(std::max<int64_t>(0, appFrames_ - hardwareFrames(now)));
    }
    return 0;
}

Result<std::unique_ptr<Pcm>> SimulatedPcmOpener::open(const PcmConfig& config, PcmStream stream) {
    if (Status s = config.validate(); !s) {
        return s;
    }
    PcmParams params;
    params.format = config.format;
    params.periodFrames = config.effectivePeriodFrames();
    params.bufferFrames = params.periodFrames * config.periods;
    params.wakeFrames = config.effectiveWakeFrames(params.periodFrames, params.bufferFrames);
    return std::unique_ptr<Pcm>(new SimulatedPcm(stream, params, tape_));
}

} // namespace voice
