// SPDX-License-Identifier: MIT
// FakePcm: a scripted stand-in for an ALSA PCM, so tests can make a device
// overrun, suspend, stall or disappear on cue.
#pragma once

#include "audio/pcm.h"

#include <algorithm>
#include <cerrno>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace voice::testing {

/// The "sound card" behind every FakePcm a FakePcmOpener opens. The test
/// thread scripts it while the device's audio and worker threads use it,
/// so everything is behind one mutex (fine in a fake).
class FakeBackend {
public:
    explicit FakeBackend(PcmParams params) : params_(params) {}

    // --- scripting (test thread) ---
    /// The next readi/writei calls return these errors, one per call.
    void failNextIo(std::initializer_list<int> errs) {
        std::lock_guard lock(mutex_);
        ioErrors_.insert(ioErrors_.end(), errs);
    }
    /// The next resume() calls return these, then 0.
    void scriptResume(std::initializer_list<int> results) {
        std::lock_guard lock(mutex_);
        resumeResults_.insert(resumeResults_.end(), results);
    }
    /// The next prepare() calls return these, then 0.
    void failNextPrepare(std::initializer_list<int> errs) {
        std::lock_guard lock(mutex_);
        prepareErrors_.insert(prepareErrors_.end(), errs);
    }
    /// The next wait() calls return 0 (timeout), as a stalled device does;
    /// until then readi/writei say -EAGAIN and avail() 0.
    void stallNextWaits(int count) {
        std::lock_guard lock(mutex_);
        stalls_ += count;
        stallIo_ = count > 0;
    }
    /// Ends a stall scripted by stallNextWaits().
    void stopStalling() {
        std::lock_guard lock(mutex_);
        stalls_ = 0;
        stallIo_ = false;
    }
    /// Unplugged: opens fail, open handles answer -ENODEV (for good).
    void unplug() {
        std::lock_guard lock(mutex_);
        present_ = false;
        goneUpTo_ = opens_;
    }
    /// The handles open now hang: poll says "ready" but nothing ever moves
    /// (readi/writei say -EAGAIN). Handles opened later work.
    void hangOpenHandles() {
        std::lock_guard lock(mutex_);
        hungUpTo_ = opens_;
    }
    void plugIn() {
        std::lock_guard lock(mutex_);
        present_ = true;
    }
    /// Capture from then on holds only what its "hardware" has captured, as
    /// a sound server does. wait() stands for the wake-up: with less than a
    /// period (avail_min) there, the hardware moves to a period past the read
    /// position, plus `wakeLatencyFrames` that come in before the woken
    /// thread reads.
    void paceCapture(uint32_t wakeLatencyFrames) {
        std::lock_guard lock(mutex_);
        paced_ = true;
        wakeLatency_ = wakeLatencyFrames;
        hardware_ = captured_;
    }

    /// Paced capture: `frames` more have come in (a sound server handing
    /// over a block).
    void captureArrives(uint64_t frames) {
        std::lock_guard lock(mutex_);
        hardware_ += frames;
    }
    /// Paced capture: avail() shows at most the buffer less a frame while
    /// delay() reports all that is held, as ALSA's pulse plugin does when
    /// the server's stream holds more than the ALSA buffer.
    void hideBeyondBuffer() {
        std::lock_guard lock(mutex_);
        hideBeyondBuffer_ = true;
    }
    // --- observation (test thread) ---
    int prepares() const { return get(&FakeBackend::prepares_); }
    int starts() const { return get(&FakeBackend::starts_); }
    int resumes() const { return get(&FakeBackend::resumes_); }
    int opens() const { return get(&FakeBackend::opens_); }
    int openAttempts() const { return get(&FakeBackend::openAttempts_); }
    int liveHandles() const { return get(&FakeBackend::liveHandles_); }
    std::vector<int16_t> played() const {
        std::lock_guard lock(mutex_);
        return played_;
    }
    /// Paced capture: frames captured and not read yet.
    uint64_t captureBacklog() const {
        std::lock_guard lock(mutex_);
        return hardware_ - captured_;
    }
    /// The sample the fake capture produces for frame n (never 0).
    static int16_t captureSample(uint64_t n) { return static_cast<int16_t>(1 + n % 30000); }

private:
    friend class FakePcm;
    friend class FakePcmOpener;

    int get(int FakeBackend::*field) const {
        std::lock_guard lock(mutex_);
        return this->*field;
    }
    int takeIoError() {
        if (ioErrors_.empty()) {
            return 0;
        }
        int e = ioErrors_.front();
        ioErrors_.pop_front();
        return e;
    }

    mutable std::mutex mutex_;
    PcmParams params_;
    std::deque<int> ioErrors_;
    std::deque<int> resumeResults_;
    std::deque<int> prepareErrors_;
    int stalls_ = 0;
    bool stallIo_ = false;
    bool present_ = true;
    int goneUpTo_ = 0; // handles with id <= this are unplugged
    int hungUpTo_ = 0; // handles with id <= this hang
    int prepares_ = 0, starts_ = 0, resumes_ = 0, opens_ = 0, openAttempts_ = 0, liveHandles_ = 0;
    uint64_t captured_ = 0;
    bool paced_ = false;
    bool hideBeyondBuffer_ = false;
    uint32_t wakeLatency_ = 0;
    uint64_t hardware_ = 0; // paced capture: frames the hardware has captured
    std::vector<int16_t> played_;
};

class FakePcm final : public Pcm {
public:
    FakePcm(std::shared_ptr<FakeBackend> backend, int id) : backend_(std::move(backend)), id_(id) {
        std::lock_guard lock(backend_->mutex_);
        ++backend_->liveHandles_;
    }
    ~FakePcm() override {
        std::lock_guard lock(backend_->mutex_);
        --backend_->liveHandles_;
    }

    ssize_t readi(int16_t* samples, size_t frames) override {
        std::lock_guard lock(backend_->mutex_);
        if (int e = ioError()) {
            return e;
        }
        if (backend_->paced_) {
            frames = std::min<size_t>(frames, backend_->hardware_ - backend_->captured_);
            if (backend_->hideBeyondBuffer_) {
                frames = std::min<size_t>(frames, backend_->params_.bufferFrames - 1);
            }
            if (frames == 0) {
                return -EAGAIN;
            }
        }
        for (size_t i = 0; i < frames; ++i) {
            samples[i] = FakeBackend::captureSample(backend_->captured_++);
        }
        return static_cast<ssize_t>(frames);
    }
    ssize_t writei(const int16_t* samples, size_t frames) override {
        std::lock_guard lock(backend_->mutex_);
        if (int e = ioError()) {
            return e;
        }
        backend_->played_.insert(backend_->played_.end(), samples, samples + frames);
        return static_cast<ssize_t>(frames);
    }
    int wait(int /*timeoutMs*/) override {
        std::lock_guard lock(backend_->mutex_);
        if (gone()) {
            return -ENODEV;
        }
        if (backend_->stalls_ > 0) {
            --backend_->stalls_;
            return 0;
        }
        FakeBackend& b = *backend_;
        if (b.paced_ && b.hardware_ - b.captured_ < b.params_.periodFrames) {
            b.hardware_ = b.captured_ + b.params_.periodFrames + b.wakeLatency_;
        }
        return 1;
    }
    int prepare() override {
        std::lock_guard lock(backend_->mutex_);
        ++backend_->prepares_;
        if (gone()) {
            return -ENODEV;
        }
        if (!backend_->prepareErrors_.empty()) {
            int e = backend_->prepareErrors_.front();
            backend_->prepareErrors_.pop_front();
            return e;
        }
        return 0;
    }
    int start() override {
        std::lock_guard lock(backend_->mutex_);
        ++backend_->starts_;
        return gone() ? -ENODEV : 0;
    }
    int resume() override {
        std::lock_guard lock(backend_->mutex_);
        ++backend_->resumes_;
        if (backend_->resumeResults_.empty()) {
            return 0;
        }
        int r = backend_->resumeResults_.front();
        backend_->resumeResults_.pop_front();
        return r;
    }
    ssize_t avail() override {
        std::lock_guard lock(backend_->mutex_);
        if (gone()) {
            return -ENODEV;
        }
        // A stalled device has nothing to read and no room. Otherwise
        // playback always has room (writei takes everything); capture holds
        // what it can read.
        if (backend_->stallIo_ && backend_->stalls_ > 0) {
            return 0;
        }
        if (backend_->paced_) {
            const uint64_t held = backend_->hardware_ - backend_->captured_;
            return static_cast<ssize_t>(
                backend_->hideBeyondBuffer_
                    ? std::min<uint64_t>(held, backend_->params_.bufferFrames - 1)
                    : held);
        }
        return backend_->params_.bufferFrames;
    }
    int delay(long* frames) override {
        std::lock_guard lock(backend_->mutex_);
        *frames = backend_->hideBeyondBuffer_
                      ? static_cast<long>(backend_->hardware_ - backend_->captured_)
                      : backend_->params_.bufferFrames / 2;
        return 0;
    }
    const PcmParams& params() const override { return backend_->params_; }

private:
    bool gone() const { return id_ <= backend_->goneUpTo_; }
    bool hung() const { return id_ <= backend_->hungUpTo_; }
    // Called with the backend locked.
    int ioError() {
        if (gone()) {
            return -ENODEV;
        }
        if (hung() || (backend_->stallIo_ && backend_->stalls_ > 0)) {
            return -EAGAIN; // nothing moves, so the device waits (and times out)
        }
        return backend_->takeIoError();
    }

    std::shared_ptr<FakeBackend> backend_;
    int id_;
};

class FakePcmOpener final : public PcmOpener {
public:
    explicit FakePcmOpener(std::shared_ptr<FakeBackend> backend) : backend_(std::move(backend)) {}

    Result<std::unique_ptr<Pcm>> open(const PcmConfig& config, PcmStream) override {
        int id = 0;
        {
            std::lock_guard lock(backend_->mutex_);
            ++backend_->openAttempts_;
            if (!backend_->present_) {
                return Status(Errc::NotFound, "fake \"" + config.device + "\": unplugged");
            }
            id = ++backend_->opens_;
        }
        return std::unique_ptr<Pcm>(std::make_unique<FakePcm>(backend_, id));
    }

private:
    std::shared_ptr<FakeBackend> backend_;
};

} // namespace voice::testing
