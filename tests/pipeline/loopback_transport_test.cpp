// SPDX-License-Identifier: MIT
// LoopbackTransport: delivery, timeouts, shutdown, simulated loss, delay and jitter.
#include "pipeline/loopback_transport.h"

#include <atomic>
#include <cstring>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace voice;

namespace {

std::vector<uint8_t> packetFor(uint32_t n, size_t size = 64) {
    std::vector<uint8_t> p(size, static_cast<uint8_t>(n));
    std::memcpy(p.data(), &n, sizeof(n));
    return p;
}

uint32_t numberOf(const std::vector<uint8_t>& buffer) {
    uint32_t n = 0;
    std::memcpy(&n, buffer.data(), sizeof(n));
    return n;
}

LoopbackTransport::Pair makePair(const LinkImpairment& aToB = {}, const LinkImpairment& bToA = {}) {
    auto pair = LoopbackTransport::makePair(aToB, bToA);
    EXPECT_TRUE(pair.ok()) << pair.status().toString();
    return std::move(*pair);
}

} // namespace

TEST(ALoopbackTransport, DeliversPacketsInOrderBothWays) {
    auto [a, b] = makePair();
    std::vector<uint8_t> buf(LoopbackTransport::kMaxPacket);
    for (uint32_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(a->send(packetFor(i, 50 + i)));
    }
    ASSERT_TRUE(b->send(packetFor(77)));
    for (uint32_t i = 0; i < 10; ++i) {
        auto n = b->receive(buf, 1s);
        ASSERT_TRUE(n.ok());
        EXPECT_EQ(*n, 50 + i);
        EXPECT_EQ(numberOf(buf), i);
    }
    auto n = a->receive(buf, 1s);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(numberOf(buf), 77u);
    EXPECT_EQ(a->stats().packetsSent, 10u);
    EXPECT_EQ(b->stats().packetsReceived, 10u);
}

TEST(ALoopbackTransport, ReturnsZeroWhenNothingArrivesInTime) {
    auto [a, b] = makePair();
    std::vector<uint8_t> buf(LoopbackTransport::kMaxPacket);
    auto n = b->receive(buf, 10ms);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
}

TEST(ALoopbackTransport, ShutdownWakesAWaitingReceiverAndStopsSending) {
    auto [a, b] = makePair();
    std::atomic<bool> closed{false};
    std::thread receiver([&, &b = b] {
        std::vector<uint8_t> buf(LoopbackTransport::kMaxPacket);
        for (;;) {
            auto n = b->receive(buf, 60s);
            if (!n.ok()) {
                closed = n.status().code() == Errc::Closed;
                return;
            }
        }
    });
    b->shutdown();
    receiver.join(); // returns long before the 60 s timeout
    EXPECT_TRUE(closed);
    b->shutdown(); // idempotent
    EXPECT_FALSE(b->send(packetFor(1)));
    EXPECT_EQ(b->stats().packetsDropped, 1u);
}

TEST(ALoopbackTransport, DropsRatherThanWaitsWhenTheWayOutIsFull) {
    auto [a, b] = makePair();
    uint64_t refused = 0;
    for (uint32_t i = 0; i < 100'000 && refused == 0; ++i) {
        refused += a->send(packetFor(i, 1000)) ? 0 : 1;
    }
    EXPECT_GT(refused, 0u) << "a socket buffer is finite";
    EXPECT_EQ(a->stats().packetsDropped, refused);
}

TEST(ALoopbackTransport, RefusesPacketsLargerThanADatagram) {
    auto [a, b] = makePair();
    EXPECT_FALSE(a->send(packetFor(1, LoopbackTransport::kMaxPacket + 1)));
    EXPECT_FALSE(a->send({}));
    EXPECT_EQ(a->stats().packetsDropped, 2u);
}

TEST(ALoopbackTransport, RefusesImpossibleImpairments) {
    EXPECT_FALSE(LoopbackTransport::makePair({.lossRate = 1.5}).ok());
    EXPECT_FALSE(LoopbackTransport::makePair({}, {.lossRate = -0.1}).ok());
    EXPECT_FALSE(LoopbackTransport::makePair({.delay = -1ms}).ok());
}

TEST(ALoopbackTransport, LosesTheSeededFractionOfPacketsReproducibly) {
    const auto lostWithSeed = [](uint64_t seed) {
        auto [a, b] = makePair({.lossRate = 0.1, .seed = seed});
        std::vector<uint8_t> buf(LoopbackTransport::kMaxPacket);
        std::vector<uint32_t> arrived;
        for (uint32_t i = 0; i < 2000; ++i) {
            EXPECT_TRUE(a->send(packetFor(i)));
            auto n = b->receive(buf, 0ms);
            if (n.ok() && *n > 0) {
                arrived.push_back(numberOf(buf));
            }
        }
        EXPECT_EQ(a->stats().packetsLost + arrived.size(), 2000u);
        return arrived;
    };
    const auto first = lostWithSeed(42);
    EXPECT_GT(first.size(), 1700u);
    EXPECT_LT(first.size(), 1900u);
    EXPECT_EQ(lostWithSeed(42), first);
    EXPECT_NE(lostWithSeed(43), first);
}

TEST(ALoopbackTransport, DelaysAndReordersPacketsWithJitter) {
    auto [a, b] = makePair({.delay = 5ms, .jitter = 20ms, .seed = 7});
    std::vector<uint8_t> buf(LoopbackTransport::kMaxPacket);
    const auto sentAt = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < 50; ++i) {
        ASSERT_TRUE(a->send(packetFor(i)));
    }
    // Nothing can arrive before the fixed delay.
    auto early = b->receive(buf, 0ms);
    ASSERT_TRUE(early.ok());
    EXPECT_EQ(*early, 0u);
    std::vector<uint32_t> order;
    while (order.size() < 50) {
        auto n = b->receive(buf, 5s);
        ASSERT_TRUE(n.ok());
        ASSERT_GT(*n, 0u) << "every packet arrives eventually";
        order.push_back(numberOf(buf));
    }
    EXPECT_GE(std::chrono::steady_clock::now() - sentAt, 5ms);
    EXPECT_FALSE(std::is_sorted(order.begin(), order.end())) << "20 ms of jitter reorders";
    std::sort(order.begin(), order.end());
    for (uint32_t i = 0; i < 50; ++i) {
        EXPECT_EQ(order[i], i);
    }
}

TEST(ALoopbackTransport, LosesPacketsInBurstsOfTheMeanLengthAskedFor) {
    // Gilbert-Elliott with 10 % loss in bursts of 2 on average.
    auto [a, b] = makePair({.lossRate = 0.1, .burstLength = 2, .seed = 5});
    std::vector<uint8_t> buf(LoopbackTransport::kMaxPacket);
    std::vector<bool> lost;
    for (uint32_t i = 0; i < 20000; ++i) {
        const uint64_t before = a->stats().packetsLost;
        EXPECT_TRUE(a->send(packetFor(i)));
        lost.push_back(a->stats().packetsLost > before);
        while (true) {
            auto n = b->receive(buf, 0ms);
            if (!n.ok() || *n == 0) {
                break;
            }
        }
    }
    size_t losses = 0, bursts = 0;
    for (size_t i = 0; i < lost.size(); ++i) {
        losses += lost[i];
        bursts += lost[i] && (i == 0 || !lost[i - 1]);
    }
    const double rate = static_cast<double>(losses) / static_cast<double>(lost.size());
    const double meanBurst = static_cast<double>(losses) / static_cast<double>(bursts);
    EXPECT_NEAR(rate, 0.10, 0.015);
    EXPECT_NEAR(meanBurst, 2.0, 0.2);
    EXPECT_FALSE(LoopbackTransport::makePair({.lossRate = 0.1, .burstLength = 0.5}).ok());
    EXPECT_FALSE(LoopbackTransport::makePair({.lossRate = 0.7, .burstLength = 2}).ok())
        << "70 % in bursts of 2 would need good runs shorter than a packet";
}
