// SPDX-License-Identifier: MIT
// FecController: FEC on at the first real loss, redundancy that follows it, off only after calm.
#include "codec/fec_controller.h"

#include <gtest/gtest.h>

using namespace voice;
using namespace std::chrono_literals;

namespace {
// One report every 500 ms, as the pipeline sends them.
std::chrono::nanoseconds at(int report) {
    return report * 500ms;
}
} // namespace

TEST(AFecController, StaysOffWhileLossIsBelowTheThreshold) {
    FecController c;
    for (int i = 0; i < 20; ++i) {
        const auto d = c.update(i % 2 ? 1.0 : 0.0, at(i));
        EXPECT_FALSE(d.fec) << i;
        EXPECT_EQ(d.expectedLossPercent, 0);
        EXPECT_FALSE(d.changed);
    }
}

TEST(AFecController, TurnsOnAtOnceAndPlansForMoreThanTheLossSeen) {
    FecController c;
    EXPECT_FALSE(c.update(0, at(0)).fec);
    auto d = c.update(2.0, at(1));
    EXPECT_TRUE(d.fec);
    EXPECT_TRUE(d.changed);
    EXPECT_EQ(d.expectedLossPercent, 3) << "2 % plus a quarter, rounded up";
    d = c.update(10.0, at(2));
    EXPECT_TRUE(d.changed);
    EXPECT_EQ(d.expectedLossPercent, 13) << "rises with the loss at once";
    d = c.update(80.0, at(3));
    EXPECT_EQ(d.expectedLossPercent, 50) << "bounded";
}

TEST(AFecController, LowersTheRedundancySlowlyAndTurnsOffOnlyAfterTenCalmSeconds) {
    FecController c;
    c.update(10.0, at(0));
    // Loss stops: the planned loss decays by 1 %-point a second...
    auto d = c.update(0, at(2));
    EXPECT_TRUE(d.fec);
    EXPECT_EQ(d.expectedLossPercent, 12); // (10 - 1) * 1.25 = 11.25
    // ...and a blip of loss below the "on" threshold does not restart the
    // calm period only if it is below "off" (0.5 %): 1 % does restart it.
    d = c.update(1.0, at(10));
    EXPECT_TRUE(d.fec);
    for (int i = 11; i < 30; ++i) {
        d = c.update(0, at(i));
        EXPECT_TRUE(d.fec) << "calm for only " << (i - 10) * 0.5 << " s";
    }
    d = c.update(0, at(31)); // 10.5 s after the last loss
    EXPECT_FALSE(d.fec);
    EXPECT_TRUE(d.changed);
    EXPECT_EQ(d.expectedLossPercent, 0);
}

TEST(AFecController, IgnoresNonsenseLoss) {
    FecController c;
    EXPECT_FALSE(c.update(-5.0, at(0)).fec);
    auto d = c.update(1e9, at(1));
    EXPECT_TRUE(d.fec);
    EXPECT_EQ(d.expectedLossPercent, 50);
    // Time going backwards neither crashes nor decays.
    d = c.update(0, at(0));
    EXPECT_EQ(d.expectedLossPercent, 50);
}
