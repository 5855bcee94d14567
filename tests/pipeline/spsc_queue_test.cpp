// SPDX-License-Identifier: MIT
// SpscQueue: order, capacity, drops, and one producer racing one consumer.
#include "core/spsc_queue.h"

#include <gtest/gtest.h>
#include <thread>

using namespace voice;

TEST(AnSpscQueue, RoundsItsCapacityUpToAPowerOfTwo) {
    EXPECT_EQ(SpscQueue<int>(5).capacity(), 8u);
    EXPECT_EQ(SpscQueue<int>(8).capacity(), 8u);
    EXPECT_EQ(SpscQueue<int>(0).capacity(), 2u);
}

TEST(AnSpscQueue, PopsValuesInTheOrderTheyWerePushed) {
    SpscQueue<int> q(4);
    EXPECT_FALSE(q.tryPop().has_value());
    EXPECT_TRUE(q.tryPush(1));
    EXPECT_TRUE(q.tryPush(2));
    EXPECT_EQ(q.size(), 2u);
    ASSERT_NE(q.front(), nullptr);
    EXPECT_EQ(*q.front(), 1);
    EXPECT_EQ(q.tryPop(), 1);
    EXPECT_EQ(q.tryPop(), 2);
    EXPECT_EQ(q.front(), nullptr);
    q.pop(); // harmless when empty
    EXPECT_EQ(q.size(), 0u);
}

TEST(AnSpscQueue, RefusesAndCountsPushesWhenFull) {
    SpscQueue<int> q(4);
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(q.tryPush(i));
    }
    EXPECT_FALSE(q.tryPush(99));
    EXPECT_EQ(q.dropped(), 1u);
    EXPECT_EQ(q.tryPop(), 0);
    EXPECT_TRUE(q.tryPush(4)); // room again after a pop, wrapping round
    for (int i = 1; i <= 4; ++i) {
        EXPECT_EQ(q.tryPop(), i);
    }
}

TEST(AnSpscQueue, DeliversEveryValueInOrderBetweenTwoThreads) {
    struct Pair {
        uint64_t a, b;
    };
    SpscQueue<Pair> q(16);
    constexpr uint64_t kCount = 200'000;
    std::thread producer([&] {
        for (uint64_t i = 0; i < kCount;) {
            if (q.tryPush({i, ~i})) {
                ++i;
            } else {
                std::this_thread::yield();
            }
        }
    });
    uint64_t expected = 0;
    while (expected < kCount) {
        if (auto v = q.tryPop()) {
            ASSERT_EQ(v->a, expected);
            ASSERT_EQ(v->b, ~expected);
            ++expected;
        } else {
            std::this_thread::yield();
        }
    }
    producer.join();
    EXPECT_EQ(q.size(), 0u);
}
