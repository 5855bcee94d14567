// SPDX-License-Identifier: MIT
// LatencyHistogram: bucketing and percentiles.
#include "pipeline/latency_histogram.h"

#include <algorithm>

namespace voice {

void LatencyHistogram::record(std::chrono::nanoseconds latency) {
    const int64_t ns = std::max<int64_t>(0, latency.count());
    const auto index = std::min<uint64_t>(static_cast<uint64_t>(ns / kBucket.count()), kBuckets);
    bump(buckets_[index]);
    bump(sumNs_, static_cast<uint64_t>(ns));
    if (ns > maxNs_.load(std::memory_order_relaxed)) {
        maxNs_.store(ns, std::memory_order_relaxed);
    }
    // Last, so a reader that sees the count has a chance of seeing the rest.
    count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

LatencySummary LatencyHistogram::summary() const {
    LatencySummary s;
    std::array<uint64_t, kBuckets + 1> counts;
    uint64_t total = 0;
    for (size_t i = 0; i <= kBuckets; ++i) {
        counts[i] = buckets_[i].load(std::memory_order_relaxed);
        total += counts[i];
    }
    if (total == 0) {
        return s;
    }
    s.count = total;
    s.overflow = counts[kBuckets];
    s.max = std::chrono::nanoseconds(maxNs_.load(std::memory_order_relaxed));
    s.mean = std::chrono::nanoseconds(sumNs_.load(std::memory_order_relaxed) / total);
    // Nearest-rank percentiles: the smallest bucket holding at least p % of samples.
    const auto percentile = [&](uint64_t pct) {
        const uint64_t rank = std::max<uint64_t>(1, (total * pct + 99) / 100);
        uint64_t seen = 0;
        for (size_t i = 0; i <= kBuckets; ++i) {
            seen += counts[i];
            if (seen >= rank) {
                return i == kBuckets ? s.max : kBucket * static_cast<int64_t>(i + 1);
            }
        }
        return s.max;
    };
    s.p50 = std::min(percentile(50), s.max);
    s.p99 = std::min(percentile(99), s.max);
    return s;
}

void LatencyHistogram::reset() {
    for (auto& b : buckets_) {
        b.store(0, std::memory_order_relaxed);
    }
    count_.store(0, std::memory_order_relaxed);
    sumNs_.store(0, std::memory_order_relaxed);
    maxNs_.store(0, std::memory_order_relaxed);
}

} // namespace voice
