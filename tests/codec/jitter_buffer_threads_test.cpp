// SPDX-License-Identifier: MIT
// JitterBuffer across threads: a receiver pushing, a player pulling, a reader of statistics.
#include "codec/jitter_buffer.h"
#include "codec/pcm_decoder.h"
#include "codec/pcm_encoder.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

using namespace voice;
using namespace std::chrono_literals;

TEST(AJitterBufferAcrossThreads, PlaysEveryPacketTheReceiverThreadDelivers) {
    CodecConfig config;
    config.codec = CodecId::Pcm;
    config.frameDuration = 10ms;
    PcmEncoder encoder(config);
    PcmDecoder decoder(config);
    auto made = JitterBuffer::make(decoder);
    ASSERT_TRUE(made.ok());
    JitterBuffer& jb = **made;

    constexpr uint32_t kCount = 3000;
    constexpr int64_t kMs = 1'000'000;
    // Simulated clocks on both threads: packet i arrives at i*10 ms + 5 ms
    // and the player's k-th pull happens at k*10 ms + 7 ms. The player waits
    // for the receiver to have delivered everything due before each pull,
    // and the receiver never runs more than two frames ahead of the player's
    // clock (as real arrivals cannot), so the outcome is exact however the
    // threads are scheduled.
    std::atomic<bool> done{false};
    std::atomic<uint64_t> playerPull{0};
    std::thread receiver([&] {
        std::vector<int16_t> frame(480);
        std::vector<uint8_t> payload(kMaxPayloadBytes);
        for (uint32_t i = 0; i < kCount;) {
            if (i > playerPull.load() + 2) {
                std::this_thread::yield();
                continue;
            }
            std::fill(frame.begin(), frame.end(), static_cast<int16_t>(i & 0x3fff));
            auto n = encoder.encode(frame, payload);
            if (jb.push(i, i * 480, std::chrono::nanoseconds(i * 10 * kMs + 5 * kMs),
                        std::span(payload).first(*n))) {
                ++i;
            } else {
                std::this_thread::yield(); // queue full: the player is behind
            }
        }
    });
    std::thread statsReader([&] {
        uint64_t previous = 0;
        while (!done.load()) {
            const auto s = jb.stats();
            EXPECT_GE(s.packetsReceived, previous);
            previous = s.packetsReceived;
            std::this_thread::yield();
        }
    });

    std::vector<int16_t> out(480);
    uint64_t decoded = 0;
    bool contentOk = true;
    for (uint64_t k = 0; decoded < kCount && k < 10 * kCount; ++k) {
        const int64_t now = static_cast<int64_t>(k) * 10 * kMs + 7 * kMs;
        const uint64_t due = std::min<uint64_t>(kCount, k + 1);
        while (jb.stats().packetsReceived < due) {
            std::this_thread::yield();
        }
        const auto r = jb.pull(std::chrono::nanoseconds(now), out);
        playerPull.store(k + 1);
        if (r.frame == JitterBuffer::Frame::Decoded) {
            contentOk = contentOk && out[0] == static_cast<int16_t>(r.sequence & 0x3fff) &&
                        r.sequence == decoded;
            ++decoded;
        }
    }
    done.store(true);
    receiver.join();
    statsReader.join();
    EXPECT_TRUE(contentOk);
    const auto s = jb.stats();
    EXPECT_EQ(s.framesDecoded, kCount);
    EXPECT_EQ(s.packetsReceived, kCount);
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.framesConcealed, 0u);
}
