// SPDX-License-Identifier: MIT
// PacketQueue: FIFO order, bounds, and a producer/consumer pair across threads.
#include "codec/packet_queue.h"

#include <gtest/gtest.h>
#include <thread>
#include <vector>

using namespace voice;

TEST(APacketQueue, DeliversPacketsInOrderWithTheirFields) {
    PacketQueue queue(4);
    const std::vector<uint8_t> a = {1, 2, 3};
    const std::vector<uint8_t> b(kMaxPayloadBytes, 9);
    ASSERT_TRUE(queue.push(7, 700, 123, a));
    ASSERT_TRUE(queue.push(8, 800, 456, b));
    EXPECT_EQ(queue.size(), 2u);
    const QueuedPacket* p = queue.front();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->sequence, 7u);
    EXPECT_EQ(p->timestamp, 700u);
    EXPECT_EQ(p->arrivalNs, 123);
    EXPECT_EQ(std::vector<uint8_t>(p->bytes().begin(), p->bytes().end()), a);
    queue.pop();
    p = queue.front();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->size, kMaxPayloadBytes);
    queue.pop();
    EXPECT_EQ(queue.front(), nullptr);
}

TEST(APacketQueue, RefusesPacketsWhenFullOrTooBig) {
    PacketQueue queue(3); // rounded up to 4
    EXPECT_EQ(queue.capacity(), 4u);
    const std::vector<uint8_t> payload(10);
    for (uint32_t i = 0; i < 4; ++i) {
        EXPECT_TRUE(queue.push(i, 0, 0, payload));
    }
    EXPECT_FALSE(queue.push(4, 0, 0, payload));
    queue.pop();
    EXPECT_TRUE(queue.push(4, 0, 0, payload));
    const std::vector<uint8_t> tooBig(kMaxPayloadBytes + 1);
    queue.pop();
    EXPECT_FALSE(queue.push(5, 0, 0, tooBig));
}

TEST(APacketQueue, HandsPacketsFromOneThreadToAnotherIntact) {
    PacketQueue queue(16);
    constexpr uint32_t kCount = 100000;
    std::thread producer([&] {
        std::vector<uint8_t> payload(64);
        for (uint32_t i = 0; i < kCount;) {
            for (auto& b : payload) {
                b = static_cast<uint8_t>(i);
            }
            payload.resize(1 + i % 64);
            if (queue.push(i, i * 2, static_cast<int64_t>(i), payload)) {
                ++i;
            } else {
                std::this_thread::yield();
            }
            payload.resize(64);
        }
    });
    uint32_t expected = 0;
    bool intact = true;
    while (expected < kCount) {
        const QueuedPacket* p = queue.front();
        if (p == nullptr) {
            std::this_thread::yield();
            continue;
        }
        intact = intact && p->sequence == expected && p->timestamp == expected * 2 &&
                 p->size == 1 + expected % 64 && p->payload[0] == static_cast<uint8_t>(expected) &&
                 p->payload[p->size - 1] == static_cast<uint8_t>(expected);
        queue.pop();
        ++expected;
    }
    producer.join();
    EXPECT_TRUE(intact);
    EXPECT_EQ(queue.front(), nullptr);
}
