// SPDX-License-Identifier: MIT
// Rate limits with a manual clock: token bucket refill, per-source connection counts and buckets.
#include "net/rate_limiter.h"

#include <gtest/gtest.h>

using namespace voice;
using namespace std::chrono_literals;

namespace {
SocketAddress addr(const char* text) {
    return *SocketAddress::parse(text);
}
} // namespace

TEST(ATokenBucket, AllowsABurstThenRefillsAtItsRate) {
    ManualClock clock;
    TokenBucket bucket(clock, 10.0, 5.0); // 10/s, burst 5
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(bucket.tryTake()) << i;
    }
    EXPECT_FALSE(bucket.tryTake());
    clock.advance(50ms); // half a token
    EXPECT_FALSE(bucket.tryTake());
    clock.advance(50ms); // one token
    EXPECT_TRUE(bucket.tryTake());
    EXPECT_FALSE(bucket.tryTake());
    clock.advance(10s); // refills only up to the burst
    EXPECT_NEAR(bucket.available(), 5.0, 1e-9);
    EXPECT_TRUE(bucket.full());
}

TEST(ATokenBucket, TakesNothingWhenARequestIsTooLarge) {
    ManualClock clock;
    TokenBucket bucket(clock, 1.0, 3.0);
    EXPECT_FALSE(bucket.tryTake(4.0));
    EXPECT_NEAR(bucket.available(), 3.0, 1e-9);
    EXPECT_TRUE(bucket.tryTake(3.0));
    EXPECT_NEAR(bucket.available(), 0.0, 1e-9);
}

TEST(ASourceKey, IgnoresPortsUnmapsIPv4AndGroupsIPv6By64) {
    EXPECT_EQ(sourceKey(addr("192.0.2.1:1")), sourceKey(addr("192.0.2.1:2")));
    EXPECT_EQ(sourceKey(addr("[::ffff:192.0.2.1]:1")), "192.0.2.1");
    EXPECT_EQ(sourceKey(addr("[2001:db8:1:2:3:4:5:6]:1")), sourceKey(addr("[2001:db8:1:2::9]:7")));
    EXPECT_NE(sourceKey(addr("[2001:db8:1:2::1]:1")), sourceKey(addr("[2001:db8:1:3::1]:1")));
}

TEST(AConnectionLimiter, CapsConnectionsPerSource) {
    ConnectionLimiter limiter(2, 100);
    EXPECT_TRUE(limiter.tryAcquire(addr("192.0.2.1:1000")).ok());
    EXPECT_TRUE(limiter.tryAcquire(addr("192.0.2.1:1001")).ok());
    Status refused = limiter.tryAcquire(addr("192.0.2.1:1002"));
    EXPECT_EQ(refused.code(), Errc::Busy);
    EXPECT_NE(refused.detail().find("192.0.2.1"), std::string::npos);
    EXPECT_TRUE(limiter.tryAcquire(addr("192.0.2.2:1000")).ok());
    limiter.release(addr("192.0.2.1:1000"));
    EXPECT_EQ(limiter.count(addr("192.0.2.1:5")), 1u);
    EXPECT_TRUE(limiter.tryAcquire(addr("192.0.2.1:1003")).ok());
}

TEST(AConnectionLimiter, KeepsItsTableBoundedAndForgetsIdleSources) {
    ConnectionLimiter limiter(10, 3);
    EXPECT_TRUE(limiter.tryAcquire(addr("192.0.2.1:1")).ok());
    EXPECT_TRUE(limiter.tryAcquire(addr("192.0.2.2:1")).ok());
    EXPECT_TRUE(limiter.tryAcquire(addr("192.0.2.3:1")).ok());
    EXPECT_EQ(limiter.tryAcquire(addr("192.0.2.4:1")).code(), Errc::Busy);
    EXPECT_EQ(limiter.sources(), 3u);
    limiter.release(addr("192.0.2.2:1"));
    EXPECT_EQ(limiter.sources(), 2u);
    EXPECT_TRUE(limiter.tryAcquire(addr("192.0.2.4:1")).ok());
    limiter.release(addr("192.0.2.99:1")); // unknown: harmless
    EXPECT_EQ(limiter.sources(), 3u);
}

TEST(PendingConnections, CountsEachSourceInArrivalOrderAndForgetsEmptySources) {
    PendingConnections pending(2);
    pending.add(addr("192.0.2.1:1000"), 1);
    EXPECT_FALSE(pending.full(addr("192.0.2.1:7")));
    pending.add(addr("192.0.2.1:1001"), 2);
    EXPECT_TRUE(pending.full(addr("192.0.2.1:7")));
    EXPECT_FALSE(pending.full(addr("192.0.2.2:7")));
    EXPECT_EQ(pending.of(addr("192.0.2.1:9")), (std::vector<uint64_t>{1, 2}));
    // The caller makes room (an authenticated or evicted connection leaves).
    pending.remove(addr("192.0.2.1:1000"), 1);
    EXPECT_FALSE(pending.full(addr("192.0.2.1:7")));
    pending.add(addr("192.0.2.1:1002"), 3);
    EXPECT_EQ(pending.of(addr("192.0.2.1:9")), (std::vector<uint64_t>{2, 3}));
    pending.remove(addr("192.0.2.1:1"), 99); // unknown: harmless
    pending.remove(addr("192.0.2.1:1"), 2);
    pending.remove(addr("192.0.2.1:1"), 3);
    EXPECT_EQ(pending.sources(), 0u);
    EXPECT_TRUE(pending.of(addr("192.0.2.1:1")).empty());
}

TEST(ASourceRateLimiter, LimitsEachSourceSeparately) {
    ManualClock clock;
    SourceRateLimiter limiter(clock, 1.0, 2.0, 100);
    EXPECT_TRUE(limiter.tryTake(addr("192.0.2.1:1")));
    EXPECT_TRUE(limiter.tryTake(addr("192.0.2.1:2")));
    EXPECT_FALSE(limiter.tryTake(addr("192.0.2.1:3")));
    EXPECT_TRUE(limiter.tryTake(addr("192.0.2.2:1")));
    clock.advance(1s);
    EXPECT_TRUE(limiter.tryTake(addr("192.0.2.1:4")));
    EXPECT_FALSE(limiter.tryTake(addr("192.0.2.1:4")));
}

TEST(ASourceRateLimiter, StaysBoundedUnderManySources) {
    ManualClock clock;
    SourceRateLimiter limiter(clock, 1.0, 1.0, 50);
    for (int i = 0; i < 5000; ++i) {
        const std::string a = "10." + std::to_string(i / 65536 % 256) + "." +
                              std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ":1";
        EXPECT_TRUE(limiter.tryTake(addr(a.c_str())));
        ASSERT_LE(limiter.sources(), 50u);
    }
    // A source that keeps being used stays limited while others churn.
    ManualClock clock2;
    SourceRateLimiter small(clock2, 1.0, 1.0, 4);
    EXPECT_TRUE(small.tryTake(addr("192.0.2.1:1")));
    for (int i = 0; i < 10; ++i) {
        EXPECT_FALSE(small.tryTake(addr("192.0.2.1:1")));
        EXPECT_TRUE(small.tryTake(addr(("10.0.0." + std::to_string(i) + ":1").c_str())));
    }
}
