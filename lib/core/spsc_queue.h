// SPDX-License-Identifier: MIT
// SpscQueue: a bounded single-producer/single-consumer lock-free queue of small values.
//
// One thread pushes, one thread pops; both sides are real-time safe (no locks,
// no allocation, no system calls). Storage is allocated once, in the
// constructor. For values that are cheap to copy (marks, events, indices);
// audio goes through AudioRing, packets through PacketQueue.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

namespace voice {

template <typename T>
class SpscQueue {
    static_assert(std::is_trivially_copyable_v<T>,
                  "SpscQueue holds small trivially copyable values");

public:
    /// capacity is rounded up to a power of two (at least 2). Allocates here only.
    explicit SpscQueue(size_t capacity) : slots_(roundUp(capacity)), mask_(slots_.size() - 1) {}
    SpscQueue(const SpscQueue&) = delete;
    SpscQueue& operator=(const SpscQueue&) = delete;

    /// Producer thread. Lock-free. Returns false, storing nothing and counting
    /// a drop, when the queue is full.
    bool tryPush(const T& value) {
        const uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_.load(std::memory_order_acquire) > mask_) {
            dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            return false;
        }
        slots_[tail & mask_] = value;
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    /// Consumer thread. Lock-free. The oldest value, without removing it.
    const T* front() const {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        if (head == tail_.load(std::memory_order_acquire)) {
            return nullptr;
        }
        return &slots_[head & mask_];
    }

    /// Consumer thread. Removes the value front() returned; no-op when empty.
    void pop() {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        if (head != tail_.load(std::memory_order_acquire)) {
            head_.store(head + 1, std::memory_order_release);
        }
    }

    /// Consumer thread. Lock-free. The oldest value, removed; nullopt when empty.
    std::optional<T> tryPop() {
        const T* value = front();
        if (value == nullptr) {
            return std::nullopt;
        }
        T copy = *value;
        pop();
        return copy;
    }

    size_t capacity() const { return mask_ + 1; }
    /// Any thread; a snapshot (exact on either end's own thread for its side).
    size_t size() const {
        const uint64_t head = head_.load(std::memory_order_acquire);
        const uint64_t tail = tail_.load(std::memory_order_acquire);
        return tail >= head ? static_cast<size_t>(tail - head) : 0;
    }
    /// Pushes refused because the queue was full. Any thread.
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    static size_t roundUp(size_t n) {
        size_t c = 2;
        while (c < n) {
            c <<= 1;
        }
        return c;
    }

    std::vector<T> slots_;
    const size_t mask_;
    // Counters since construction (never wrap in practice), each on its own
    // cache line so producer and consumer do not share one.
    alignas(64) std::atomic<uint64_t> head_{0}; // next slot to read; consumer writes
    alignas(64) std::atomic<uint64_t> tail_{0}; // next slot to write; producer writes
    alignas(64) std::atomic<uint64_t> dropped_{0};
};

} // namespace voice
