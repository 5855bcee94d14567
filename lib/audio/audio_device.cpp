// SPDX-License-Identifier: MIT
// AudioDevice: error classification, in-place recovery and background reopen.
#include "audio/audio_device.h"

#include "audio/alsa_pcm.h"
#include "audio/backoff.h"
#include "core/deferred_log.h"
#include "core/log.h"

#include <alsa/asoundlib.h>
#include <cerrno>
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace voice {

namespace {

// The worker sleeps on a futex rather than a condition variable so that the
// audio thread can wake it without touching a mutex.
void futexWait(std::atomic<uint32_t>& word, uint32_t expected,
               std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) {
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout != std::chrono::nanoseconds::max()) {
        ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
        tsp = &ts;
    }
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, tsp,
            nullptr, 0);
}

void futexWakeAll(std::atomic<uint32_t>& word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
            nullptr, 0);
}

int toMs(std::chrono::milliseconds d) {
    return static_cast<int>(std::min<std::chrono::milliseconds::rep>(d.count(), INT_MAX));
}

} // namespace

PcmErrorKind classifyPcmError(long err) {
    if (err >= 0) {
        return PcmErrorKind::None;
    }
    switch (-err) {
    case EAGAIN:
    case EINTR:
        return PcmErrorKind::Again;
    case EPIPE:
        return PcmErrorKind::Xrun;
    case ESTRPIPE:
        return PcmErrorKind::Suspend;
    default:
        return PcmErrorKind::Lost;
    }
}

AudioDevice::AudioDevice(PcmStream stream, PcmConfig config, AudioDeviceOptions options,
                         std::unique_ptr<PcmOpener> opener)
    : stream_(stream), config_(std::move(config)), options_(options),
      opener_(opener ? std::move(opener) : std::make_unique<AlsaPcmOpener>()),
      name_(stream == PcmStream::Capture ? "capture" : "playback") {}

AudioDevice::~AudioDevice() {
    close();
}

Status AudioDevice::open(OpenMode mode) {
    if (worker_.joinable()) {
        return Status(Errc::Busy, std::string(name_) + " device is already open");
    }
    if (Status valid = config_.validate(); !valid) {
        return valid;
    }
    started_ = false;
    stopping_.store(false, std::memory_order_relaxed);
    auto pcm = opener_->open(config_, stream_);
    if (!pcm) {
        const Errc code = pcm.status().code();
        if (mode == OpenMode::RequireDevice || code == Errc::InvalidArgument ||
            code == Errc::Unsupported) {
            return pcm.status();
        }
        LOG_WARNING("%s \"%s\" is missing, will keep trying: %s", name_, config_.device.c_str(),
                    pcm.status().toString().c_str());
        params_.format = config_.format;
        params_.periodFrames = config_.effectivePeriodFrames();
        params_.bufferFrames = params_.periodFrames * config_.periods;
        params_.wakeFrames =
            config_.effectiveWakeFrames(params_.periodFrames, params_.bufferFrames);
        connected_.store(false, std::memory_order_relaxed);
        worker_ = std::thread([this] { worker(true); });
        return Status();
    }
    params_ = (*pcm)->params();
    LOG_INFO("%s \"%s\": %u Hz, %u ch, period %u frames, buffer %u frames (%.2f ms)", name_,
             config_.device.c_str(), params_.format.rate(), params_.format.channels(),
             params_.periodFrames, params_.bufferFrames,
             params_.bufferFrames * 1000.0 / params_.format.rate());
    // The audio thread takes the first handle the same way it takes a
    // reopened one, so the capture stream starts only when reading begins.
    fresh_.store(pcm->release(), std::memory_order_release);
    connected_.store(true, std::memory_order_relaxed);
    worker_ = std::thread([this] { worker(false); });
    return Status();
}

void AudioDevice::close() {
    if (worker_.joinable()) {
        stopping_.store(true, std::memory_order_release);
        wakeWorker();
        worker_.join();
    }
    delete current_;
    current_ = nullptr;
    delete fresh_.exchange(nullptr, std::memory_order_acq_rel);
    delete retired_.exchange(nullptr, std::memory_order_acq_rel);
    connected_.store(false, std::memory_order_relaxed);
}

AudioDeviceStats AudioDevice::stats() const {
    AudioDeviceStats s;
    s.xruns = xruns_.load(std::memory_order_relaxed);
    s.suspends = suspends_.load(std::memory_order_relaxed);
    s.losses = losses_.load(std::memory_order_relaxed);
    s.reopens = reopens_.load(std::memory_order_relaxed);
    s.reopenFailures = reopenFailures_.load(std::memory_order_relaxed);
    s.framesWhileLost = framesWhileLost_.load(std::memory_order_relaxed);
    s.slowStarts = slowStarts_.load(std::memory_order_relaxed);
    s.framesDropped = framesDropped_.load(std::memory_order_relaxed);
    s.connected = connected_.load(std::memory_order_relaxed);
    s.delayFrames = delayFrames_.load(std::memory_order_relaxed);
    return s;
}

std::chrono::nanoseconds AudioDevice::delay() const {
    const long frames = delayFrames();
    return frames > 0 ? config_.format.framesToDuration(static_cast<uint64_t>(frames))
                      : std::chrono::nanoseconds(0);
}

Pcm* AudioDevice::active() {
    if (current_ != nullptr) {
        return current_;
    }
    Pcm* fresh = fresh_.exchange(nullptr, std::memory_order_acq_rel);
    if (fresh == nullptr) {
        return nullptr;
    }
    current_ = fresh;
    const bool first = !started_;
    started_ = true;
    startingSince_ = std::chrono::steady_clock::now();
    paceDeadline_ = startingSince_;
    substituted_ = false;
    waitedWhileStarting_ = false;
    if (!first) {
        reopens_.fetch_add(1, std::memory_order_relaxed);
        RT_LOG(LogLevel::Notice, "%s \"%s\": device is back", name_, config_.device.c_str());
    }
    connected_.store(true, std::memory_order_relaxed);
    const int err = restart(*current_, first);
    if (err < 0 && !recover(*current_, err)) {
        return nullptr;
    }
    return current_;
}

bool AudioDevice::recover(Pcm& pcm, long err) {
    int rc = 0;
    switch (classifyPcmError(err)) {
    case PcmErrorKind::None:
    case PcmErrorKind::Again:
        return true;
    case PcmErrorKind::Xrun:
        xruns_.fetch_add(1, std::memory_order_relaxed);
        RT_LOG(LogLevel::Warning, "%s \"%s\": %s", name_, config_.device.c_str(),
               stream_ == PcmStream::Capture ? "overrun" : "underrun");
        rc = pcm.prepare();
        if (rc >= 0) {
            rc = restart(pcm, false);
        }
        break;
    case PcmErrorKind::Suspend: {
        suspends_.fetch_add(1, std::memory_order_relaxed);
        RT_LOG(LogLevel::Notice, "%s \"%s\": resuming after suspend", name_,
               config_.device.c_str());
        const auto deadline = std::chrono::steady_clock::now() + options_.resumeTimeout;
        while ((rc = pcm.resume()) == -EAGAIN && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (rc < 0) {
            // The device cannot resume (or not in time): start it afresh.
            rc = pcm.prepare();
            if (rc >= 0) {
                rc = restart(pcm, false);
            }
        }
        break;
    }
    case PcmErrorKind::Lost:
        rc = static_cast<int>(err);
        break;
    }
    if (rc >= 0) {
        return true;
    }
    lose(rc);
    return false;
}

AudioDevice::Wait AudioDevice::waitReady(Pcm& pcm, std::chrono::steady_clock::time_point& since,
                                         size_t frames) {
    const auto now = std::chrono::steady_clock::now();
    if (startingSince_ != std::chrono::steady_clock::time_point{}) {
        // A handle that has not run yet (see "Starting"): wait for it only
        // so long, then have the caller substitute. Playback gets here with
        // its buffer full, so a later write that succeeds means the stream
        // took audio: it runs (noteProgress).
        waitedWhileStarting_ = true;
        if (now - startingSince_ >= options_.startTimeout) {
            lose(-ETIMEDOUT);
            return Wait::Lost;
        }
        const ssize_t avail = pcm.avail();
        if (avail < 0) {
            return recover(pcm, avail) ? Wait::Ready : Wait::Lost;
        }
        if (avail == 0) {
            // A device that starts normally runs within its first buffer
            // or so (a sound server adds its own latency): wait for that
            // much from the start, as for a running device. Past it, wait
            // no longer than until the frames the caller would substitute
            // are due by the pace (paceWhileLost), so a device that takes
            // seconds costs the caller no more time than a running one.
            const auto grace = std::min<std::chrono::nanoseconds>(
                std::max<std::chrono::nanoseconds>(
                    2 * config_.format.framesToDuration(pcm.params().bufferFrames),
                    std::chrono::milliseconds(50)),
                options_.stallTimeout);
            const auto due =
                std::max(startingSince_ + grace,
                         std::max(paceDeadline_, now - std::chrono::milliseconds(100)) +
                             config_.format.framesToDuration(frames));
            const auto wait = std::clamp<std::chrono::nanoseconds>(
                due - now, std::chrono::nanoseconds(0), options_.stallTimeout);
            const int rc = pcm.wait(toMs(std::chrono::floor<std::chrono::milliseconds>(wait)));
            if (rc < 0) {
                return recover(pcm, rc) ? Wait::Ready : Wait::Lost;
            }
            // A poll that says "ready" with nothing there yet is not a start.
            if (rc == 0 ||
                (pcm.avail() == 0 && std::chrono::steady_clock::now() >= startingSince_ + grace)) {
                if (!substituted_) {
                    substituted_ = true;
                    slowStarts_.fetch_add(1, std::memory_order_relaxed);
                    // Substitute from now on, at the pace: not, after the
                    // wait above, the time since the start in one burst
                    // (the peer dates frames by their sequence, and takes
                    // the frames after a burst for late ones).
                    paceDeadline_ =
                        std::max(paceDeadline_, std::chrono::steady_clock::now() -
                                                    config_.format.framesToDuration(frames));
                }
                return Wait::NotStarted;
            }
            since = {};
            return Wait::Ready;
        }
        // Something to read or room to write, yet the call found nothing
        // to do: wait as for a running device (a handle that never moves
        // is lost after stallTimeout).
    }
    if (since == std::chrono::steady_clock::time_point{}) {
        since = now;
    }
    const auto left = options_.stallTimeout - (now - since);
    if (left <= std::chrono::nanoseconds(0)) {
        lose(-ETIMEDOUT);
        return Wait::Lost;
    }
    // Round up so a sub-millisecond remainder still waits.
    const int rc = pcm.wait(toMs(std::chrono::ceil<std::chrono::milliseconds>(left)));
    if (rc > 0) {
        return Wait::Ready;
    }
    if (rc == 0) {
        lose(-ETIMEDOUT);
        return Wait::Lost;
    }
    return recover(pcm, rc) ? Wait::Ready : Wait::Lost;
}

void AudioDevice::noteProgress() {
    if (startingSince_ == std::chrono::steady_clock::time_point{}) {
        return;
    }
    // Playback's first writes only fill the buffer: the stream runs once it
    // took audio after it was full (after a wait).
    if (stream_ == PcmStream::Playback && !substituted_ && !waitedWhileStarting_) {
        return;
    }
    if (substituted_) {
        RT_LOG(LogLevel::Notice, "%s \"%s\": running after %lld ms (substituted meanwhile)", name_,
               config_.device.c_str(),
               static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - startingSince_)
                                          .count()));
    }
    startingSince_ = {};
}

void AudioDevice::updateDelay() {
    long frames = 0;
    if (current_ != nullptr && current_->delay(&frames) == 0) {
        delayFrames_.store(frames, std::memory_order_relaxed);
    }
}

void AudioDevice::noteFramesDropped(size_t frames, bool overrun) {
    framesDropped_.fetch_add(frames, std::memory_order_relaxed);
    const double ms = static_cast<double>(frames) * 1000.0 / config_.format.rate();
    if (overrun) {
        xruns_.fetch_add(1, std::memory_order_relaxed);
        RT_LOG(LogLevel::Warning, "%s \"%s\": held %.1f ms beyond its buffer, dropped", name_,
               config_.device.c_str(), ms);
    } else {
        RT_LOG(LogLevel::Info, "%s \"%s\": dropped %.1f ms captured while starting", name_,
               config_.device.c_str(), ms);
    }
}

void AudioDevice::paceWhileLost(size_t frames) {
    framesWhileLost_.fetch_add(frames, std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    paceDeadline_ += config_.format.framesToDuration(frames);
    // After a long stall, do not rush to catch up: pace from now.
    if (paceDeadline_ + std::chrono::milliseconds(100) < now) {
        paceDeadline_ = now;
    }
    std::this_thread::sleep_until(paceDeadline_);
}

void AudioDevice::lose(long err) {
    losses_.fetch_add(1, std::memory_order_relaxed);
    RT_LOG(LogLevel::Warning, "%s \"%s\": device lost (%s), reopening", name_,
           config_.device.c_str(), snd_strerror(static_cast<int>(err)));
    // The worker empties retired_ before it publishes a new handle, and the
    // audio thread can only lose a handle it took from fresh_: the slot is free.
    retired_.store(current_, std::memory_order_release);
    current_ = nullptr;
    startingSince_ = {};
    connected_.store(false, std::memory_order_relaxed);
    delayFrames_.store(0, std::memory_order_relaxed);
    paceDeadline_ = std::chrono::steady_clock::now();
    wakeWorker();
}

void AudioDevice::wakeWorker() {
    wake_.fetch_add(1, std::memory_order_release);
    futexWakeAll(wake_);
}

void AudioDevice::worker(bool openFirst) {
    Backoff backoff(options_.reopenInitial, options_.reopenMax);
    bool needed = openFirst;
    while (!stopping_.load(std::memory_order_acquire)) {
        const uint32_t seen = wake_.load(std::memory_order_acquire);
        std::unique_ptr<Pcm> old(retired_.exchange(nullptr, std::memory_order_acq_rel));
        if (old || needed) {
            needed = false;
            old.reset(); // snd_pcm_close, off the audio thread
            backoff.reset();
            uint64_t attempts = 0;
            while (!stopping_.load(std::memory_order_acquire)) {
                const uint32_t before = wake_.load(std::memory_order_acquire);
                futexWait(wake_, before, backoff.next());
                if (stopping_.load(std::memory_order_acquire)) {
                    break;
                }
                auto pcm = opener_->open(config_, stream_);
                ++attempts;
                if (pcm) {
                    LOG_INFO("%s \"%s\": reopened after %llu attempt(s)", name_,
                             config_.device.c_str(), static_cast<unsigned long long>(attempts));
                    fresh_.store(pcm->release(), std::memory_order_release);
                    break;
                }
                reopenFailures_.fetch_add(1, std::memory_order_relaxed);
                if (attempts == 1) {
                    LOG_WARNING("%s \"%s\": reopen failed, retrying with back-off: %s", name_,
                                config_.device.c_str(), pcm.status().toString().c_str());
                }
            }
            continue; // check retired_ again before sleeping
        }
        futexWait(wake_, seen);
    }
}

} // namespace voice
