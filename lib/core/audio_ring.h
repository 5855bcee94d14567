// SPDX-License-Identifier: MIT
// AudioRing: single-producer/single-consumer lock-free queue of S16 audio frames.
//
// One thread writes, one thread reads; both are real-time safe (no locks, no
// allocation, no logging). Storage is allocated once, in the constructor.
// A frame is `channels` interleaved samples and is only ever moved whole.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace voice {

/// What a write does when the frames do not all fit.
enum class OverflowPolicy {
    /// Write what fits; the rest is discarded and counted as overflowFrames.
    /// For real-time producers that must never wait (the recorder).
    DropIncoming,
    /// Write all or nothing; when it does not fit, nothing is written, the
    /// caller keeps its frames, and one overflowEvent is counted. Lossless.
    Refuse,
};

/// What a read does when fewer frames are queued than asked for.
enum class UnderflowPolicy {
    /// Deliver every frame asked for, zeros for the missing ones, counted as
    /// underflowFrames. For real-time consumers that must always play.
    FillSilence,
    /// Read all or nothing; when not enough is queued, nothing is read and one
    /// underflowEvent is counted.
    Refuse,
};

/// Counters, readable from any thread while the ring is in use.
struct AudioRingStats {
    uint64_t framesWritten = 0;
    uint64_t framesRead = 0;      ///< real frames delivered (not silence)
    uint64_t overflowFrames = 0;  ///< frames discarded by DropIncoming
    uint64_t overflowEvents = 0;  ///< writes that could not store everything
    uint64_t underflowFrames = 0; ///< silence frames delivered by FillSilence
    uint64_t underflowEvents = 0; ///< reads that could not get everything
};

enum class WaitResult { Ready, TimedOut, Shutdown };

class AudioRing {
public:
    /// capacityFrames > 0 and channels > 0; allocates capacityFrames * channels samples.
    AudioRing(size_t capacityFrames, unsigned channels,
              OverflowPolicy overflow = OverflowPolicy::DropIncoming,
              UnderflowPolicy underflow = UnderflowPolicy::FillSilence);
    AudioRing(const AudioRing&) = delete;
    AudioRing& operator=(const AudioRing&) = delete;

    /// Producer thread. Lock-free. samples.size() must be a whole number of
    /// frames (a partial trailing frame is ignored). Returns frames stored.
    size_t write(std::span<const int16_t> samples);

    /// Consumer thread. Lock-free. Reads out.size() / channels frames following
    /// the underflow policy. Returns the number of frames written into out,
    /// silence included.
    size_t read(std::span<int16_t> out);

    /// Consumer thread. Blocks (futex, no lock) until at least `frames` frames
    /// are queued, the timeout passes, or shutdown() is called. Never call
    /// it from a real-time thread.
    WaitResult waitForFrames(size_t frames, std::chrono::nanoseconds timeout);

    /// Any thread. Wakes the waiting consumer; later waits return Shutdown.
    void shutdown();
    bool isShutdown() const { return shutdown_.load(std::memory_order_acquire); }

    /// Frames queued now. Exact on the consumer thread; a snapshot elsewhere.
    size_t availableToRead() const;
    /// Free frames now. Exact on the producer thread; a snapshot elsewhere.
    size_t availableToWrite() const;

    size_t capacityFrames() const { return capacity_; }
    unsigned channels() const { return channels_; }
    OverflowPolicy overflowPolicy() const { return overflow_; }
    UnderflowPolicy underflowPolicy() const { return underflow_; }

    /// Any thread.
    AudioRingStats stats() const;

private:
    void copyIn(uint64_t position, const int16_t* src, size_t frames);
    void copyOut(uint64_t position, int16_t* dst, size_t frames);
    void wakeConsumer();

    const size_t capacity_;
    const unsigned channels_;
    const OverflowPolicy overflow_;
    const UnderflowPolicy underflow_;
    std::vector<int16_t> storage_;

    // Positions count frames since construction and never wrap in practice
    // (2^64 frames is millions of years of audio). Each sits on its own
    // cache line so the two threads do not fight over one.
    alignas(64) std::atomic<uint64_t> writePos_{0};
    alignas(64) std::atomic<uint64_t> readPos_{0};

    // Futex word bumped by the producer when a consumer is waiting for
    // frames it has now written: the write position the waiter needs is in
    // wakeAt_, so a consumer waiting for a 20 ms codec frame is woken once
    // per frame, not once per 5 ms period the recorder writes.
    alignas(64) std::atomic<uint32_t> wakeSequence_{0};
    std::atomic<uint32_t> waiters_{0};
    std::atomic<uint64_t> wakeAt_{0};
    std::atomic<bool> shutdown_{false};

    alignas(64) std::atomic<uint64_t> overflowFrames_{0};
    std::atomic<uint64_t> overflowEvents_{0};
    std::atomic<uint64_t> underflowFrames_{0};
    std::atomic<uint64_t> underflowEvents_{0};
};

} // namespace voice
