// SPDX-License-Identifier: MIT
// How the relay's media threads are sized to the load: MediaThreadSizer and setMediaSpread (one
// thread or all, on real SO_REUSEPORT sockets); their short scheduler slice.
#include "net/socket.h"
#include "relay/media_slice.h"
#include "relay/reuseport_steering.h"

#include <cstring>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace voice {
namespace {

TEST(AMediaThreadSizer, StartsWithOneThreadAndSpreadsOnlyUnderHeavyLoad) {
    MediaThreadSizer s({.spreadAbove = 1000, .gatherBelow = 400});
    EXPECT_EQ(s.spread(), MediaSpread::First);
    EXPECT_EQ(s.update(900), MediaSpread::First);
    EXPECT_EQ(s.update(1100), MediaSpread::All);
    EXPECT_EQ(s.update(500), MediaSpread::All); // hysteresis: no flapping around one threshold
    EXPECT_EQ(s.update(300), MediaSpread::First);
}

TEST(AMediaThread, AsksForTheShortestSliceAndKeepsItsNiceValue) {
    std::thread([] {
        const int wanted = ::nice(1); // lowering one's own priority needs no privilege
        ASSERT_TRUE(requestShortSlice(kMediaSlice).ok());
        // sched_attr up to sched_period (48 bytes): runtime at 24, nice at 16.
        uint64_t attr[6] = {};
        ASSERT_EQ(::syscall(SYS_sched_getattr, 0, attr, sizeof attr, 0), 0);
        int32_t nice = 0;
        std::memcpy(&nice, reinterpret_cast<const char*>(attr) + 16, sizeof nice);
        EXPECT_EQ(nice, wanted);
        // Kernels before 6.12 report no slice for SCHED_OTHER: nothing to check there.
        if (attr[3] != 0) {
            EXPECT_EQ(attr[3], uint64_t(100000));
        }
    }).join();
}

/// Two sockets in one SO_REUSEPORT group, like the relay's media threads.
struct Group {
    UniqueFd a, b;
    SocketAddress address;
    Group() {
        open(a, SocketAddress::loopbackV4(0));
        address = *localAddress(a.get());
        open(b, address);
    }
    // reset() in place, not a moved-in temporary: GCC 12's ASan build took
    // the temporary's descriptor for uninitialized (-Wmaybe-uninitialized).
    static void open(UniqueFd& fd, const SocketAddress& at) {
        fd.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        EXPECT_EQ(::bind(fd.get(), at.data(), at.length()), 0);
    }
    /// Sends one datagram from each of `sources` fresh sockets; returns how many
    /// arrived at a and at b.
    std::pair<int, int> spray(int sources) {
        for (int i = 0; i < sources; ++i) {
            auto s = udpBind(SocketAddress::loopbackV4(0));
            uint8_t byte = 1;
            (void)::sendto(s->get(), &byte, 1, 0, address.data(), address.length());
        }
        std::pair<int, int> got{0, 0};
        uint8_t buf[16];
        while (::recv(a.get(), buf, sizeof buf, 0) > 0) {
            ++got.first;
        }
        while (::recv(b.get(), buf, sizeof buf, 0) > 0) {
            ++got.second;
        }
        return got;
    }
};

TEST(AMediaSpread, SendsEveryFlowToTheFirstSocketThenSpreadsThemAgain) {
    Group g;
    auto spread = g.spray(64);
    EXPECT_EQ(spread.first + spread.second, 64);
    EXPECT_GT(spread.second, 0) << "the kernel's hash spreads 64 flows over both sockets";

    ASSERT_TRUE(setMediaSpread(g.b.get(), MediaSpread::First).ok()); // any socket of the group
    auto first = g.spray(64);
    EXPECT_EQ(first.first, 64);
    EXPECT_EQ(first.second, 0);

    ASSERT_TRUE(setMediaSpread(g.a.get(), MediaSpread::All).ok());
    auto again = g.spray(64);
    EXPECT_EQ(again.first + again.second, 64);
    EXPECT_GT(again.second, 0);
    EXPECT_TRUE(setMediaSpread(g.a.get(), MediaSpread::All).ok()) << "already spread is fine";
}

} // namespace
} // namespace voice
