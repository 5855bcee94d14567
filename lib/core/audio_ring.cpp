// SPDX-License-Identifier: MIT
// AudioRing: acquire/release positions for data, a futex for the one waiter.
#include "core/audio_ring.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace voice {
namespace {

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word must be 32 bits");

void futexWait(std::atomic<uint32_t>* word, uint32_t expected, const timespec* timeout) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, timeout,
            nullptr, 0);
}

void futexWakeAll(std::atomic<uint32_t>* word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr,
            nullptr, 0);
}

} // namespace

AudioRing::AudioRing(size_t capacityFrames, unsigned channels, OverflowPolicy overflow,
                     UnderflowPolicy underflow)
    : capacity_(capacityFrames), channels_(channels), overflow_(overflow), underflow_(underflow),
      storage_(capacityFrames * channels) {
    assert(capacityFrames > 0 && channels > 0);
}

void AudioRing::copyIn(uint64_t position, const int16_t* src, size_t frames) {
    const size_t start = static_cast<size_t>(position % capacity_);
    const size_t first = std::min(frames, capacity_ - start);
    std::memcpy(&storage_[start * channels_], src, first * channels_ * sizeof(int16_t));
    if (frames > first) {
        std::memcpy(storage_.data(), src + first * channels_,
                    (frames - first) * channels_ * sizeof(int16_t));
    }
}

void AudioRing::copyOut(uint64_t position, int16_t* dst, size_t frames) {
    const size_t start = static_cast<size_t>(position % capacity_);
    const size_t first = std::min(frames, capacity_ - start);
    std::memcpy(dst, &storage_[start * channels_], first * channels_ * sizeof(int16_t));
    if (frames > first) {
        std::memcpy(dst + first * channels_, storage_.data(),
                    (frames - first) * channels_ * sizeof(int16_t));
    }
}

size_t AudioRing::write(std::span<const int16_t> samples) {
    const size_t frames = samples.size() / channels_;
    if (frames == 0) {
        return 0;
    }
    const uint64_t w = writePos_.load(std::memory_order_relaxed);
    const uint64_t r = readPos_.load(std::memory_order_acquire);
    const size_t space = capacity_ - static_cast<size_t>(w - r);

    size_t toWrite = frames;
    if (frames > space) {
        overflowEvents_.fetch_add(1, std::memory_order_relaxed);
        if (overflow_ == OverflowPolicy::Refuse) {
            return 0;
        }
        toWrite = space;
        overflowFrames_.fetch_add(frames - space, std::memory_order_relaxed);
    }
    if (toWrite == 0) {
        return 0;
    }
    copyIn(w, samples.data(), toWrite);
    // seq_cst (not just release) so the store is ordered before the waiter
    // check in wakeConsumer(); see waitForFrames().
    writePos_.store(w + toWrite, std::memory_order_seq_cst);
    wakeConsumer();
    return toWrite;
}

void AudioRing::wakeConsumer() {
    // In the single total order of seq_cst operations, either the waiter's
    // load of writePos_ comes after our store (it sees the frames), or its
    // increment of waiters_ comes before our load here, and so does its
    // store of wakeAt_ before that (we see what it waits for, and wake it
    // once it is there).
    if (waiters_.load(std::memory_order_seq_cst) != 0 &&
        writePos_.load(std::memory_order_relaxed) >= wakeAt_.load(std::memory_order_seq_cst)) {
        wakeSequence_.fetch_add(1, std::memory_order_release);
        futexWakeAll(&wakeSequence_);
    }
}

size_t AudioRing::read(std::span<int16_t> out) {
    const size_t frames = out.size() / channels_;
    if (frames == 0) {
        return 0;
    }
    const uint64_t r = readPos_.load(std::memory_order_relaxed);
    const uint64_t w = writePos_.load(std::memory_order_acquire);
    const size_t queued = static_cast<size_t>(w - r);

    size_t toRead = frames;
    if (frames > queued) {
        underflowEvents_.fetch_add(1, std::memory_order_relaxed);
        if (underflow_ == UnderflowPolicy::Refuse) {
            return 0;
        }
        toRead = queued;
    }
    if (toRead > 0) {
        copyOut(r, out.data(), toRead);
        readPos_.store(r + toRead, std::memory_order_release);
    }
    if (toRead < frames) {
        const size_t missing = frames - toRead;
        std::memset(out.data() + toRead * channels_, 0, missing * channels_ * sizeof(int16_t));
        underflowFrames_.fetch_add(missing, std::memory_order_relaxed);
    }
    return frames;
}

WaitResult AudioRing::waitForFrames(size_t frames, std::chrono::nanoseconds timeout) {
    frames = std::min(frames, capacity_);
    timespec deadline{};
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    const auto total = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    deadline.tv_sec += static_cast<time_t>(total / 1'000'000'000);
    deadline.tv_nsec += static_cast<long>(total % 1'000'000'000);
    if (deadline.tv_nsec >= 1'000'000'000) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1'000'000'000;
    }

    for (;;) {
        const uint32_t sequence = wakeSequence_.load(std::memory_order_acquire);
        wakeAt_.store(readPos_.load(std::memory_order_relaxed) + frames, std::memory_order_seq_cst);
        waiters_.fetch_add(1, std::memory_order_seq_cst);
        const uint64_t written = writePos_.load(std::memory_order_seq_cst);
        if (written - readPos_.load(std::memory_order_relaxed) >= frames) {
            waiters_.fetch_sub(1, std::memory_order_relaxed);
            return WaitResult::Ready;
        }
        if (isShutdown()) {
            waiters_.fetch_sub(1, std::memory_order_relaxed);
            return WaitResult::Shutdown;
        }
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        timespec remaining{deadline.tv_sec - now.tv_sec, deadline.tv_nsec - now.tv_nsec};
        if (remaining.tv_nsec < 0) {
            remaining.tv_sec -= 1;
            remaining.tv_nsec += 1'000'000'000;
        }
        if (remaining.tv_sec < 0) {
            waiters_.fetch_sub(1, std::memory_order_relaxed);
            return WaitResult::TimedOut;
        }
        // Returns at once if the producer bumped the sequence since we read it.
        futexWait(&wakeSequence_, sequence, &remaining);
        waiters_.fetch_sub(1, std::memory_order_relaxed);
    }
}

void AudioRing::shutdown() {
    shutdown_.store(true, std::memory_order_seq_cst);
    wakeSequence_.fetch_add(1, std::memory_order_release);
    futexWakeAll(&wakeSequence_);
}

size_t AudioRing::availableToRead() const {
    // Read position first: it never passes the write position, so w >= r.
    // From a third thread both may have moved between the loads; clamp.
    const uint64_t r = readPos_.load(std::memory_order_acquire);
    const uint64_t w = writePos_.load(std::memory_order_acquire);
    return std::min(static_cast<size_t>(w - r), capacity_);
}

size_t AudioRing::availableToWrite() const {
    return capacity_ - availableToRead();
}

AudioRingStats AudioRing::stats() const {
    AudioRingStats s;
    s.framesWritten = writePos_.load(std::memory_order_relaxed);
    s.framesRead = readPos_.load(std::memory_order_relaxed);
    s.overflowFrames = overflowFrames_.load(std::memory_order_relaxed);
    s.overflowEvents = overflowEvents_.load(std::memory_order_relaxed);
    s.underflowFrames = underflowFrames_.load(std::memory_order_relaxed);
    s.underflowEvents = underflowEvents_.load(std::memory_order_relaxed);
    return s;
}

} // namespace voice
