// SPDX-License-Identifier: MIT
// Real-time scheduling: the priority clamp, and asking for SCHED_FIFO either
// works or leaves the thread as it was with a Permission status.
#include "audio/realtime.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <thread>

using namespace voice;

TEST(ARealtimePriority, IsClampedToTheSchedulerMaximum) {
    EXPECT_EQ(clampRealtimePriority(500, -1, 99), 99);
    EXPECT_EQ(clampRealtimePriority(20, -1, 99), 20);
    EXPECT_EQ(clampRealtimePriority(0, -1, 99), 1);
}

TEST(ARealtimePriority, IsClampedToRlimitRtprio) {
    EXPECT_EQ(clampRealtimePriority(20, 10, 99), 10);
    EXPECT_EQ(clampRealtimePriority(5, 10, 99), 5);
    EXPECT_EQ(clampRealtimePriority(20, 0, 99), 0) << "a zero limit allows none";
}

TEST(MakeThreadRealtime, EitherSetsFifoWithResetOnForkOrLeavesTheThreadAlone) {
    // In a thread of its own, so the test runner keeps its policy.
    std::thread t([] {
        const int before = sched_getscheduler(0);
        auto r = makeThreadRealtime(500);
        const int policy = sched_getscheduler(0);
        if (r.ok()) {
            EXPECT_EQ(policy, SCHED_FIFO | SCHED_RESET_ON_FORK);
            sched_param p{};
            ASSERT_EQ(sched_getparam(0, &p), 0);
            EXPECT_EQ(p.sched_priority, *r);
            EXPECT_LE(*r, sched_get_priority_max(SCHED_FIFO));
        } else {
            EXPECT_EQ(r.status().code(), Errc::Permission) << r.status().toString();
            EXPECT_EQ(policy, before);
        }
    });
    t.join();
}

TEST(LeaveRealtime, PutsTheThreadBackToNormalScheduling) {
    std::thread t([] {
        (void)makeThreadRealtime(10); // refused without privileges: then already normal
        leaveRealtime();
        EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
        sched_param p{};
        ASSERT_EQ(sched_getparam(0, &p), 0);
        EXPECT_EQ(p.sched_priority, 0);
    });
    t.join();
}
