// SPDX-License-Identifier: MIT
// LatencyHistogram percentiles and CaptureTimeTable lookups.
#include "pipeline/capture_time_table.h"
#include "pipeline/latency_histogram.h"

#include <gtest/gtest.h>
#include <thread>

using namespace std::chrono_literals;
using namespace voice;

TEST(ALatencyHistogram, IsEmptyBeforeAnythingIsRecorded) {
    LatencyHistogram h;
    const auto s = h.summary();
    EXPECT_EQ(s.count, 0u);
    EXPECT_EQ(s.p50, 0ns);
    EXPECT_EQ(s.max, 0ns);
}

TEST(ALatencyHistogram, GivesPercentilesWithinOneBucket) {
    LatencyHistogram h;
    // 1..100 ms, one sample each: p50 = 50 ms, p99 = 99 ms.
    for (int ms = 1; ms <= 100; ++ms) {
        h.record(std::chrono::milliseconds(ms));
    }
    const auto s = h.summary();
    EXPECT_EQ(s.count, 100u);
    EXPECT_GE(s.p50, 50ms);
    EXPECT_LE(s.p50, 50ms + LatencyHistogram::kBucket);
    EXPECT_GE(s.p99, 99ms);
    EXPECT_LE(s.p99, 99ms + LatencyHistogram::kBucket);
    EXPECT_EQ(s.max, 100ms);
    EXPECT_EQ(s.mean, std::chrono::microseconds(50500));
}

TEST(ALatencyHistogram, CountsOverflowAndClampsNegativeValues) {
    LatencyHistogram h;
    h.record(-5ms);
    h.record(3s);
    const auto s = h.summary();
    EXPECT_EQ(s.count, 2u);
    EXPECT_EQ(s.overflow, 1u);
    EXPECT_EQ(s.max, 3s);
    EXPECT_EQ(s.p99, 3s);
    EXPECT_LE(s.p50, LatencyHistogram::kBucket);
    h.reset();
    EXPECT_EQ(h.summary().count, 0u);
}

TEST(ALatencyHistogram, CanBeReadWhileOneThreadRecords) {
    LatencyHistogram h;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; i < 100'000; ++i) {
            h.record(std::chrono::microseconds(i % 20'000));
        }
        done = true;
    });
    uint64_t last = 0;
    while (!done) {
        const auto s = h.summary();
        EXPECT_GE(s.count, last);
        EXPECT_LE(s.p50, s.max + LatencyHistogram::kBucket);
        last = s.count;
    }
    writer.join();
    EXPECT_EQ(h.summary().count, 100'000u);
}

TEST(ACaptureTimeTable, FindsTheTimeStoredForASequenceNumber) {
    CaptureTimeTable t;
    const uint64_t now = 5'000'000'000; // past 2^32 us
    t.put(7, now - 1234);
    EXPECT_EQ(t.find(7, now), now - 1234);
    EXPECT_FALSE(t.find(8, now).has_value());
    // A later sequence number in the same slot replaces it.
    t.put(7 + CaptureTimeTable::kSlots, now - 10);
    EXPECT_FALSE(t.find(7, now).has_value());
    EXPECT_EQ(t.find(7 + CaptureTimeTable::kSlots, now), now - 10);
}

TEST(ACaptureTimeTable, RefusesTimesInTheFutureOrTooOld) {
    CaptureTimeTable t;
    const uint64_t now = 10'000'000;
    t.put(1, now + 500);
    EXPECT_FALSE(t.find(1, now).has_value());
    t.put(2, now - 9'000'000);
    EXPECT_EQ(t.find(2, now), now - 9'000'000);
    t.put(3, 0);
    EXPECT_FALSE(t.find(3, now + 61'000'000).has_value());
}
