// SPDX-License-Identifier: MIT
// makeThreadRealtime through a real rtkit-daemon (tests/tools/with-rtkit.sh:
// a private system bus, polkitd, no CAP_SYS_NICE, RLIMIT_RTPRIO 0), as on a
// desktop: SCHED_FIFO is refused, RTKit grants SCHED_RR.
#include "audio/realtime.h"

#include <cstdlib>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <thread>

using namespace voice;

TEST(MakeThreadRealtime, FallsBackToRtkitWhenSchedFifoIsRefused) {
    ASSERT_NE(std::getenv("DBUS_SYSTEM_BUS_ADDRESS"), nullptr) << "run under with-rtkit.sh";
    sched_param direct{};
    direct.sched_priority = 5;
    ASSERT_NE(sched_setscheduler(0, SCHED_FIFO, &direct), 0) << "CAP_SYS_NICE not dropped";
    std::thread t([] {
        auto got = makeThreadRealtime(10);
        ASSERT_TRUE(got.ok()) << got.status().toString();
        EXPECT_EQ(*got, 10);
        EXPECT_TRUE(threadRealtimeViaRtkit());
        EXPECT_EQ(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK, SCHED_RR);
        sched_param p{};
        ASSERT_EQ(sched_getparam(0, &p), 0);
        EXPECT_EQ(p.sched_priority, 10);
    });
    t.join();
    // RTKit requires RLIMIT_RTTIME, at most its RTTimeUSecMax (200 ms).
    rlimit limit{};
    ASSERT_EQ(getrlimit(RLIMIT_RTTIME, &limit), 0);
    EXPECT_LE(limit.rlim_max, 200000u);
    EXPECT_FALSE(threadRealtimeViaRtkit()) << "only the thread that asked";
}

TEST(MakeThreadRealtime, ClampsToRtkitsMaximum) {
    std::thread t([] {
        auto got = makeThreadRealtimeWithRtkit(99);
        ASSERT_TRUE(got.ok()) << got.status().toString();
        EXPECT_EQ(*got, 20); // rtkit-daemon's --max-realtime-priority default
    });
    t.join();
}

TEST(MakeThreadRealtime, GivesUpCleanlyWithoutASystemBus) {
    setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
    std::thread t([] {
        auto got = makeThreadRealtime(10);
        EXPECT_FALSE(got.ok());
        EXPECT_EQ(got.status().code(), Errc::Permission);
        EXPECT_FALSE(threadRealtimeViaRtkit());
        EXPECT_EQ(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK, SCHED_OTHER);
    });
    t.join();
}
