// SPDX-License-Identifier: MIT
// EventLoop: fd readiness, timer order and cancellation, posts from other threads, signals.
#include "net/event_loop.h"

#include <csignal>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace voice;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<EventLoop> makeLoop() {
    auto loop = EventLoop::create();
    EXPECT_TRUE(loop.ok()) << loop.status().toString();
    return std::move(loop).value();
}

// Runs the loop until pred() holds or a generous deadline passes.
bool runUntil(EventLoop& loop, const std::function<bool()>& pred,
              std::chrono::seconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        EXPECT_TRUE(loop.runOnce(50ms).ok());
    }
    return true;
}

struct SocketPair {
    UniqueFd a, b;
    SocketPair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

} // namespace

TEST(AnEventLoop, ReportsAReadableFd) {
    auto loop = makeLoop();
    SocketPair p;
    int calls = 0;
    uint32_t seen = 0;
    ASSERT_TRUE(loop->addFd(p.a.get(), EventLoop::kReadable,
                            [&](uint32_t ev) {
                                ++calls;
                                seen = ev;
                                char buf[16];
                                ASSERT_EQ(::read(p.a.get(), buf, sizeof(buf)), 1);
                            })
                    .ok());
    ASSERT_TRUE(loop->runOnce(0ms).ok());
    EXPECT_EQ(calls, 0);
    ASSERT_EQ(::write(p.b.get(), "x", 1), 1);
    ASSERT_TRUE(runUntil(*loop, [&] { return calls == 1; }));
    EXPECT_TRUE(seen & EventLoop::kReadable);
}

TEST(AnEventLoop, ReportsWritabilityOnlyWhenAskedFor) {
    auto loop = makeLoop();
    SocketPair p;
    int writable = 0;
    ASSERT_TRUE(loop->addFd(p.a.get(), EventLoop::kReadable,
                            [&](uint32_t ev) {
                                if (ev & EventLoop::kWritable) {
                                    ++writable;
                                }
                            })
                    .ok());
    ASSERT_TRUE(loop->runOnce(0ms).ok());
    EXPECT_EQ(writable, 0);
    ASSERT_TRUE(loop->modifyFd(p.a.get(), EventLoop::kReadable | EventLoop::kWritable).ok());
    ASSERT_TRUE(runUntil(*loop, [&] { return writable > 0; }));
}

TEST(AnEventLoop, RefusesToWatchAnFdTwice) {
    auto loop = makeLoop();
    SocketPair p;
    ASSERT_TRUE(loop->addFd(p.a.get(), EventLoop::kReadable, [](uint32_t) {}).ok());
    EXPECT_EQ(loop->addFd(p.a.get(), EventLoop::kReadable, [](uint32_t) {}).code(),
              Errc::InvalidArgument);
    EXPECT_EQ(loop->modifyFd(p.b.get(), EventLoop::kReadable).code(), Errc::NotFound);
}

TEST(AnEventLoop, ReportsHangupWhenThePeerCloses) {
    auto loop = makeLoop();
    SocketPair p;
    bool hangup = false;
    ASSERT_TRUE(loop->addFd(p.a.get(), EventLoop::kReadable,
                            [&](uint32_t ev) {
                                if (ev & EventLoop::kHangup) {
                                    hangup = true;
                                    loop->removeFd(p.a.get());
                                }
                            })
                    .ok());
    p.b.reset();
    ASSERT_TRUE(runUntil(*loop, [&] { return hangup; }));
    EXPECT_FALSE(loop->isWatched(p.a.get()));
}

TEST(AnEventLoop, SkipsAWatchRemovedByAnEarlierCallbackInTheSameRound) {
    auto loop = makeLoop();
    SocketPair p1, p2;
    int calls1 = 0, calls2 = 0;
    // Whichever fires first removes the other; the other must not be called.
    ASSERT_TRUE(loop->addFd(p1.a.get(), EventLoop::kReadable,
                            [&](uint32_t) {
                                ++calls1;
                                loop->removeFd(p2.a.get());
                                loop->removeFd(p1.a.get());
                            })
                    .ok());
    ASSERT_TRUE(loop->addFd(p2.a.get(), EventLoop::kReadable,
                            [&](uint32_t) {
                                ++calls2;
                                loop->removeFd(p1.a.get());
                                loop->removeFd(p2.a.get());
                            })
                    .ok());
    ASSERT_EQ(::write(p1.b.get(), "x", 1), 1);
    ASSERT_EQ(::write(p2.b.get(), "x", 1), 1);
    ASSERT_TRUE(runUntil(*loop, [&] { return calls1 + calls2 > 0; }));
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(loop->runOnce(10ms).ok());
    }
    EXPECT_EQ(calls1 + calls2, 1);
}

TEST(AnEventLoop, LetsACallbackRemoveItselfAndAddANewWatch) {
    auto loop = makeLoop();
    SocketPair p1, p2;
    int second = 0;
    bool first = false;
    ASSERT_TRUE(loop->addFd(p1.a.get(), EventLoop::kReadable,
                            [&](uint32_t) {
                                first = true;
                                loop->removeFd(p1.a.get());
                                ASSERT_TRUE(loop->addFd(p2.a.get(), EventLoop::kReadable,
                                                        [&](uint32_t) {
                                                            ++second;
                                                            loop->removeFd(p2.a.get());
                                                        })
                                                .ok());
                            })
                    .ok());
    ASSERT_EQ(::write(p1.b.get(), "x", 1), 1);
    ASSERT_EQ(::write(p2.b.get(), "x", 1), 1);
    ASSERT_TRUE(runUntil(*loop, [&] { return first && second == 1; }));
}

TEST(AnEventLoop, FiresTimersInDeadlineOrder) {
    auto loop = makeLoop();
    std::vector<int> order;
    loop->addTimer(30ms, [&] { order.push_back(3); });
    loop->addTimer(10ms, [&] { order.push_back(1); });
    loop->addTimer(20ms, [&] { order.push_back(2); });
    // Equal deadlines keep insertion order.
    loop->addTimer(0ms, [&] { order.push_back(10); });
    loop->addTimer(0ms, [&] { order.push_back(11); });
    ASSERT_TRUE(runUntil(*loop, [&] { return order.size() == 5; }));
    EXPECT_EQ(order, (std::vector<int>{10, 11, 1, 2, 3}));
    EXPECT_EQ(loop->timerCount(), 0u);
}

TEST(AnEventLoop, DoesNotFireACancelledTimer) {
    auto loop = makeLoop();
    bool cancelledFired = false, laterFired = false;
    const auto id = loop->addTimer(5ms, [&] { cancelledFired = true; });
    loop->addTimer(30ms, [&] { laterFired = true; });
    EXPECT_TRUE(loop->cancelTimer(id));
    EXPECT_FALSE(loop->cancelTimer(id));
    ASSERT_TRUE(runUntil(*loop, [&] { return laterFired; }));
    EXPECT_FALSE(cancelledFired);
}

TEST(AnEventLoop, RepeatsATimerUntilItCancelsItself) {
    auto loop = makeLoop();
    int ticks = 0;
    EventLoop::TimerId id = 0;
    id = loop->addRepeatingTimer(2ms, [&] {
        if (++ticks == 5) {
            EXPECT_TRUE(loop->cancelTimer(id));
        }
    });
    ASSERT_TRUE(runUntil(*loop, [&] { return ticks >= 5; }));
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(loop->runOnce(5ms).ok());
    }
    EXPECT_EQ(ticks, 5);
    EXPECT_EQ(loop->timerCount(), 0u);
}

TEST(AnEventLoop, StaysBoundedWhenManyTimersAreCancelled) {
    auto loop = makeLoop();
    for (int i = 0; i < 10000; ++i) {
        EXPECT_TRUE(loop->cancelTimer(loop->addTimer(1h, [] {})));
    }
    EXPECT_EQ(loop->timerCount(), 0u);
    bool fired = false;
    loop->addTimer(1ms, [&] { fired = true; });
    ASSERT_TRUE(runUntil(*loop, [&] { return fired; }));
}

TEST(AnEventLoop, RunsFunctionsPostedFromAnotherThreadInOrder) {
    auto loop = makeLoop();
    std::vector<int> seen;
    std::thread poster([&] {
        for (int i = 0; i < 1000; ++i) {
            loop->post([&seen, i] { seen.push_back(i); });
        }
        loop->post([&] { loop->stop(); });
    });
    ASSERT_TRUE(loop->run().ok());
    poster.join();
    ASSERT_EQ(seen.size(), 1000u);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(seen[static_cast<size_t>(i)], i);
    }
}

TEST(AnEventLoop, StopsWhenStoppedFromAnotherThread) {
    auto loop = makeLoop();
    std::atomic<bool> running{false};
    loop->post([&] { running = true; });
    std::thread stopper([&] {
        while (!running.load()) {
            std::this_thread::yield();
        }
        loop->stop();
    });
    ASSERT_TRUE(loop->run().ok());
    stopper.join();
    EXPECT_TRUE(running.load());
}

TEST(AnEventLoop, DeliversSignalsThroughTheLoop) {
    auto loop = makeLoop();
    std::vector<int> got;
    ASSERT_TRUE(loop->watchSignals({SIGHUP, SIGTERM}, [&](int sig) { got.push_back(sig); }).ok());
    // Blocked now, so raise() queues it for the signalfd instead of killing us.
    ASSERT_EQ(::raise(SIGHUP), 0);
    ASSERT_TRUE(runUntil(*loop, [&] { return got.size() == 1; }));
    ASSERT_EQ(::raise(SIGTERM), 0);
    ASSERT_TRUE(runUntil(*loop, [&] { return got.size() == 2; }));
    EXPECT_EQ(got, (std::vector<int>{SIGHUP, SIGTERM}));
}

TEST(AnEventLoop, DoesNotLoseAStopRequestedBeforeRun) {
    auto loop = makeLoop();
    std::thread stopper([&] { loop->stop(); });
    stopper.join();
    EXPECT_TRUE(loop->run().ok()); // returns instead of blocking forever
    // The request was consumed: the next run() runs until a new stop().
    bool ran = false;
    loop->addTimer(1ms, [&] {
        ran = true;
        loop->stop();
    });
    EXPECT_TRUE(loop->run().ok());
    EXPECT_TRUE(ran);
}
