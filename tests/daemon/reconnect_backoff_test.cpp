// SPDX-License-Identifier: MIT
// Tests of ReconnectBackoff: registration follows a relay's return within seconds, however long
// it was away.
#include "reconnect_backoff.h"

#include <gtest/gtest.h>
#include <set>

using namespace voice;
using namespace std::chrono_literals;

namespace {

/// When the first attempt at or after `back` happens, for attempts
/// scheduled from t = 0 by successive next() delays (each attempt fails
/// at once while the relay is away).
std::chrono::milliseconds firstAttemptAfter(ReconnectBackoff& b, std::chrono::milliseconds back) {
    std::chrono::milliseconds t{0};
    while (t < back) {
        t += b.next();
    }
    return t;
}

} // namespace

TEST(AReconnectBackoff, StartsFastAndDoubles) {
    ReconnectBackoff b(1);
    const auto first = b.next();
    EXPECT_GE(first, 250ms);
    EXPECT_LE(first, 500ms);
    EXPECT_EQ(b.ceiling(), 1000ms);
    (void)b.next();
    EXPECT_EQ(b.ceiling(), 2000ms);
}

TEST(AReconnectBackoff, IsCappedAtThreeSecondsHoweverLongTheOutage) {
    ReconnectBackoff b(2);
    for (int i = 0; i < 10000; ++i) { // hours of outage
        const auto d = b.next();
        ASSERT_LE(d, 3000ms) << i;
        ASSERT_GE(d, 250ms) << i;
    }
}

TEST(AReconnectBackoff, RegistersWithinFiveSecondsOfTheRelaysReturnAfterAnyOutage) {
    // The old back-off (0.5 s doubling to 30 s) waited 27 s after a 34 s outage.
    for (auto outage : {5s, 34s, 60s, 600s, 3600s}) {
        for (uint64_t seed = 1; seed <= 50; ++seed) {
            ReconnectBackoff b(seed);
            const auto back = std::chrono::duration_cast<std::chrono::milliseconds>(outage);
            const auto wait = firstAttemptAfter(b, back) - back;
            ASSERT_LE(wait, 3000ms) << outage.count() << " s outage, seed " << seed;
        }
    }
}

TEST(AReconnectBackoff, JittersSoClientsDoNotReconnectInLockstep) {
    std::set<int64_t> delays;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        ReconnectBackoff b(seed);
        for (int i = 0; i < 5; ++i) {
            (void)b.next();
        }
        const auto d = b.next();
        EXPECT_GE(d, 1500ms);
        delays.insert(d.count());
    }
    EXPECT_GT(delays.size(), 10u);
}

TEST(AReconnectBackoff, StartsOverAfterARegistration) {
    ReconnectBackoff b(3);
    for (int i = 0; i < 8; ++i) {
        (void)b.next();
    }
    b.reset();
    EXPECT_LE(b.next(), 500ms);
}
