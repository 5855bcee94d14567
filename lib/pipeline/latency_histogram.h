// SPDX-License-Identifier: MIT
// LatencyHistogram: lock-free histogram of latencies, written by one real-time thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace voice {

/// Percentiles of what a LatencyHistogram recorded. Values are the upper
/// edge of their bucket (so at most one bucket width above the truth);
/// zero when nothing was recorded.
struct LatencySummary {
    uint64_t count = 0;
    uint64_t overflow = 0; ///< samples at or above LatencyHistogram::kRange
    std::chrono::nanoseconds p50{0};
    std::chrono::nanoseconds p99{0};
    std::chrono::nanoseconds max{0}; ///< exact, not bucketed
    std::chrono::nanoseconds mean{0};
};

/// Fixed buckets of kBucket up to kRange, plus one overflow bucket.
///
/// Threads: record() from ONE thread (the player), lock-free, no allocation;
/// summary() and reset() from any thread. A summary taken while record()
/// runs may miss the sample in flight (counters are read one by one); it
/// never sees torn values.
class LatencyHistogram {
public:
    static constexpr std::chrono::nanoseconds kBucket = std::chrono::microseconds(250);
    static constexpr std::chrono::nanoseconds kRange = std::chrono::seconds(1);
    static constexpr size_t kBuckets = static_cast<size_t>(kRange / kBucket);

    LatencyHistogram() = default;
    LatencyHistogram(const LatencyHistogram&) = delete;
    LatencyHistogram& operator=(const LatencyHistogram&) = delete;

    /// The recording thread only. Negative latencies count as zero.
    void record(std::chrono::nanoseconds latency);

    /// Any thread.
    LatencySummary summary() const;

    /// Any thread, but only while no record() runs (between calls or runs).
    void reset();

private:
    // Only the recording thread writes, so load+store is enough and cheaper
    // than a locked read-modify-write.
    static void bump(std::atomic<uint64_t>& a, uint64_t n = 1) {
        a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    std::array<std::atomic<uint64_t>, kBuckets + 1> buckets_{}; // last one: overflow
    std::atomic<uint64_t> count_{0};
    std::atomic<uint64_t> sumNs_{0};
    std::atomic<int64_t> maxNs_{0};
};

} // namespace voice
