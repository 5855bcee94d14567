// SPDX-License-Identifier: MIT
// AudioRing: policies, wrap-around, counters and waiting, one thread at a time.
#include "core/audio_ring.h"

#include <gtest/gtest.h>
#include <numeric>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace voice;

namespace {
std::vector<int16_t> ramp(size_t samples, int16_t start = 1) {
    std::vector<int16_t> v(samples);
    std::iota(v.begin(), v.end(), start);
    return v;
}
} // namespace

TEST(AnAudioRing, StartsEmpty) {
    AudioRing ring(16, 2);
    EXPECT_EQ(ring.availableToRead(), 0u);
    EXPECT_EQ(ring.availableToWrite(), 16u);
    EXPECT_EQ(ring.capacityFrames(), 16u);
    EXPECT_EQ(ring.channels(), 2u);
}

TEST(AnAudioRing, ReturnsFramesInOrderAcrossTheWrap) {
    AudioRing ring(5, 2, OverflowPolicy::Refuse, UnderflowPolicy::Refuse);
    std::vector<int16_t> out(6);
    int16_t next = 1;
    for (int round = 0; round < 10; ++round) {
        auto in = ramp(6, next); // 3 frames
        ASSERT_EQ(ring.write(in), 3u);
        ASSERT_EQ(ring.read(out), 3u);
        EXPECT_EQ(out, in);
        next = static_cast<int16_t>(next + 6);
    }
    EXPECT_EQ(ring.stats().framesWritten, 30u);
    EXPECT_EQ(ring.stats().framesRead, 30u);
}

TEST(AnAudioRing, IgnoresAPartialTrailingFrame) {
    AudioRing ring(4, 2);
    auto in = ramp(5);
    EXPECT_EQ(ring.write(in), 2u);
    EXPECT_EQ(ring.availableToRead(), 2u);
}

TEST(AnAudioRing, DropsAndCountsIncomingFramesWhenFull) {
    AudioRing ring(4, 1, OverflowPolicy::DropIncoming, UnderflowPolicy::Refuse);
    EXPECT_EQ(ring.write(ramp(3)), 3u);
    EXPECT_EQ(ring.write(ramp(3, 10)), 1u); // only one frame of room
    auto s = ring.stats();
    EXPECT_EQ(s.overflowFrames, 2u);
    EXPECT_EQ(s.overflowEvents, 1u);
    std::vector<int16_t> out(4);
    ASSERT_EQ(ring.read(out), 4u);
    EXPECT_EQ(out, (std::vector<int16_t>{1, 2, 3, 10}));
}

TEST(AnAudioRing, RefusesAWriteThatDoesNotFitWhole) {
    AudioRing ring(4, 1, OverflowPolicy::Refuse, UnderflowPolicy::Refuse);
    EXPECT_EQ(ring.write(ramp(3)), 3u);
    EXPECT_EQ(ring.write(ramp(2)), 0u);
    auto s = ring.stats();
    EXPECT_EQ(s.overflowFrames, 0u) << "Refuse loses nothing: the caller keeps its frames";
    EXPECT_EQ(s.overflowEvents, 1u);
    EXPECT_EQ(ring.availableToRead(), 3u);
}

TEST(AnAudioRing, FillsAndCountsSilenceOnUnderflow) {
    AudioRing ring(8, 1, OverflowPolicy::DropIncoming, UnderflowPolicy::FillSilence);
    ASSERT_EQ(ring.write(ramp(2, 5)), 2u);
    std::vector<int16_t> out(5, -1);
    EXPECT_EQ(ring.read(out), 5u);
    EXPECT_EQ(out, (std::vector<int16_t>{5, 6, 0, 0, 0}));
    auto s = ring.stats();
    EXPECT_EQ(s.framesRead, 2u);
    EXPECT_EQ(s.underflowFrames, 3u);
    EXPECT_EQ(s.underflowEvents, 1u);
}

TEST(AnAudioRing, RefusesAReadThatCannotBeSatisfied) {
    AudioRing ring(8, 1, OverflowPolicy::DropIncoming, UnderflowPolicy::Refuse);
    ASSERT_EQ(ring.write(ramp(2)), 2u);
    std::vector<int16_t> out(3, -1);
    EXPECT_EQ(ring.read(out), 0u);
    EXPECT_EQ(out, (std::vector<int16_t>{-1, -1, -1})) << "a refused read leaves the buffer alone";
    EXPECT_EQ(ring.availableToRead(), 2u);
    EXPECT_EQ(ring.stats().underflowEvents, 1u);
    EXPECT_EQ(ring.stats().underflowFrames, 0u);
}

TEST(AnAudioRing, TimesOutWhenNothingArrives) {
    AudioRing ring(8, 1);
    EXPECT_EQ(ring.waitForFrames(1, 5ms), WaitResult::TimedOut);
}

TEST(AnAudioRing, ReturnsAtOnceWhenEnoughIsQueued) {
    AudioRing ring(8, 1);
    ASSERT_EQ(ring.write(ramp(4)), 4u);
    EXPECT_EQ(ring.waitForFrames(4, 0ms), WaitResult::Ready);
}

TEST(AnAudioRing, WakesAWaiterWhenAWholeFrameBlockArrives) {
    AudioRing ring(64, 1);
    std::thread producer([&ring] {
        for (int i = 0; i < 4; ++i) {
            std::this_thread::sleep_for(2ms);
            ring.write(ramp(4));
        }
    });
    // A generous timeout: the point is that it returns Ready, not how fast.
    EXPECT_EQ(ring.waitForFrames(16, 10s), WaitResult::Ready);
    EXPECT_EQ(ring.availableToRead(), 16u);
    producer.join();
}

TEST(AnAudioRing, WakesAWaiterForShutdown) {
    AudioRing ring(8, 1);
    std::thread stopper([&ring] {
        std::this_thread::sleep_for(5ms);
        ring.shutdown();
    });
    EXPECT_EQ(ring.waitForFrames(1, 10s), WaitResult::Shutdown);
    stopper.join();
    EXPECT_TRUE(ring.isShutdown());
    EXPECT_EQ(ring.waitForFrames(1, 10s), WaitResult::Shutdown);
}
