// SPDX-License-Identifier: MIT
// DeferredLog: a bounded lock-free queue of log records for real-time threads.
//
// A real-time thread formats a short message into a preallocated slot and
// returns at once; a normal thread later drains the slots into logMessage().
// When the queue is full the message is dropped and counted, never waited for.
#pragma once

#include "core/log.h"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace voice {

class DeferredLog {
public:
    /// Longest message kept; longer ones are truncated.
    static constexpr size_t kMaxMessage = 160;

    /// capacity is rounded up to a power of two. Allocates here, never later.
    explicit DeferredLog(size_t capacity = 256);
    DeferredLog(const DeferredLog&) = delete;
    DeferredLog& operator=(const DeferredLog&) = delete;

    /// Queues a message. Any thread, including real-time ones: lock-free,
    /// never allocates, never blocks. Use integer and string conversions
    /// only (glibc may allocate for some floating-point formats).
    /// Returns false, and counts a drop, when the queue is full.
    bool post(LogLevel level, const char* format, ...) __attribute__((format(printf, 3, 4)));

    /// Writes every queued message through logMessage(). One draining thread
    /// at a time (not real-time). Returns how many it wrote.
    size_t drain();

    /// Messages lost because the queue was full. Any thread.
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    size_t capacity() const { return mask_ + 1; }

private:
    struct Slot {
        std::atomic<size_t> sequence;
        LogLevel level;
        uint16_t length;
        char text[kMaxMessage];
    };

    // Vyukov's bounded queue: each slot's sequence says whose turn it is.
    std::unique_ptr<Slot[]> slots_;
    size_t mask_;
    alignas(64) std::atomic<size_t> enqueuePos_{0};
    alignas(64) std::atomic<size_t> dequeuePos_{0};
    alignas(64) std::atomic<uint64_t> dropped_{0};
};

/// The process-wide queue used by the audio threads.
DeferredLog& realtimeLog();

/// Drains a DeferredLog from a background thread every interval until stopped.
class DeferredLogFlusher {
public:
    explicit DeferredLogFlusher(DeferredLog& log,
                                std::chrono::milliseconds interval = std::chrono::milliseconds(50));
    ~DeferredLogFlusher();
    DeferredLogFlusher(const DeferredLogFlusher&) = delete;
    DeferredLogFlusher& operator=(const DeferredLogFlusher&) = delete;

    /// Drains once more and joins the thread. Idempotent.
    void stop();

private:
    void run();

    DeferredLog& log_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false; // guarded by mutex_
    std::thread thread_;
};

} // namespace voice

#define RT_LOG(level, ...) ::voice::realtimeLog().post(level, __VA_ARGS__)
