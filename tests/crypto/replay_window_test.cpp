// SPDX-License-Identifier: MIT
// ReplayWindow: sliding bitmap edges.
#include "crypto/replay_window.h"

#include <gtest/gtest.h>

using namespace voice;

TEST(AReplayWindow, AcceptsEachSequenceNumberOnce) {
    ReplayWindow w;
    EXPECT_TRUE(w.check(0));
    w.accept(0);
    EXPECT_FALSE(w.check(0));
    EXPECT_TRUE(w.check(5));
    w.accept(5);
    EXPECT_TRUE(w.check(3));
    w.accept(3);
    EXPECT_FALSE(w.check(3));
    EXPECT_FALSE(w.check(5));
}

TEST(AReplayWindow, KeepsExactlyItsSizeOfHistory) {
    ReplayWindow w;
    w.accept(5000);
    EXPECT_TRUE(w.check(5000 - ReplayWindow::kSize + 1));
    EXPECT_FALSE(w.check(5000 - ReplayWindow::kSize));
    for (uint64_t s = 5000 - ReplayWindow::kSize + 1; s < 5000; ++s) {
        ASSERT_TRUE(w.check(s)) << s;
        w.accept(s);
    }
    for (uint64_t s = 5000 - ReplayWindow::kSize + 1; s <= 5000; ++s) {
        ASSERT_FALSE(w.check(s)) << s;
    }
}

TEST(AReplayWindow, ForgetsOldBitsWhenItSlides) {
    ReplayWindow w;
    for (uint64_t s = 0; s < 3000; s += 3) {
        ASSERT_TRUE(w.check(s));
        w.accept(s);
        // Numbers skipped just behind stay acceptable.
        if (s >= 2) {
            ASSERT_TRUE(w.check(s - 1)) << s;
        }
    }
    w.accept(1'000'000); // a big jump clears everything
    EXPECT_TRUE(w.check(1'000'000 - 3));
    EXPECT_FALSE(w.check(1'000'000));
    EXPECT_FALSE(w.check(2997));
}
