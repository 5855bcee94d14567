// SPDX-License-Identifier: MIT
// Tests of SendPacer: voiced's own frames never exceed the relay's message limit (100/s, burst
// 200).
#include "net/clock.h"
#include "net/rate_limiter.h"
#include "send_pacer.h"

#include <gtest/gtest.h>

using namespace voice;
using namespace std::chrono_literals;

namespace {

std::vector<uint8_t> frame(uint8_t n) {
    return {n};
}

class ASendPacer : public ::testing::Test {
protected:
    ManualClock clock;
    SendPacer pacer{clock};
    /// The relay's own bucket, fed what the pacer lets out (relay_server.cpp).
    TokenBucket relay{clock, 100, 200};
    int relayRefused = 0;

    /// Everything the pacer lets out now, as the relay would count it.
    int flush() {
        int sent = 0;
        while (pacer.takeDue()) {
            ++sent;
            relayRefused += relay.tryTake() ? 0 : 1;
        }
        return sent;
    }
    void offerControl(uint8_t n) {
        if (pacer.offer(frame(n)) == SendPacer::Verdict::SendNow) {
            relayRefused += relay.tryTake() ? 0 : 1;
        }
    }
};

} // namespace

TEST_F(ASendPacer, SendsABurstAtOnceThenQueuesInOrder) {
    for (int i = 0; i < 160; ++i) {
        EXPECT_EQ(pacer.offer(frame(1)), SendPacer::Verdict::SendNow) << i;
    }
    EXPECT_EQ(pacer.offer(frame(2)), SendPacer::Verdict::Queued);
    EXPECT_EQ(pacer.offer(frame(3)), SendPacer::Verdict::Queued);
    EXPECT_FALSE(pacer.takeDue());
    ASSERT_TRUE(pacer.nextDue());
    EXPECT_LE(*pacer.nextDue(), 13ms); // one token at 80/s
    clock.advance(13ms);
    auto first = pacer.takeDue();
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, frame(2));
    clock.advance(13ms);
    EXPECT_EQ(*pacer.takeDue(), frame(3));
    EXPECT_FALSE(pacer.nextDue());
}

TEST_F(ASendPacer, NeverLetsTheRelaysLimitTripWhateverTheOfferedLoad) {
    // A script hammering Call/Hangup: 1000 frames offered per second for 10 s,
    // with keepalives and tunnelled media mixed in; time moves in 1 ms steps.
    int sentMedia = 0;
    for (int ms = 0; ms < 10000; ++ms) {
        offerControl(1);
        if (ms % 20 == 0 && pacer.offerMedia()) {
            ++sentMedia;
            relayRefused += relay.tryTake() ? 0 : 1;
        }
        flush();
        clock.advance(1ms);
    }
    EXPECT_EQ(relayRefused, 0);
    EXPECT_LE(pacer.queued(), SendPacer::kMaxQueued);
    // Once control frames wait, media is dropped rather than delaying them.
    EXPECT_LT(sentMedia, 10);
}

TEST_F(ASendPacer, DropsControlFramesOnlyWhenItsBoundedQueueIsFull) {
    for (int i = 0; i < 160; ++i) {
        (void)pacer.offer(frame(0));
    }
    for (size_t i = 0; i < SendPacer::kMaxQueued; ++i) {
        EXPECT_EQ(pacer.offer(frame(1)), SendPacer::Verdict::Queued);
    }
    EXPECT_EQ(pacer.offer(frame(2)), SendPacer::Verdict::Dropped);
    pacer.clearQueue();
    EXPECT_EQ(pacer.queued(), 0u);
}

TEST_F(ASendPacer, LeavesTheLastTokensToControlFrames) {
    int media = 0;
    while (pacer.offerMedia()) {
        ++media;
    }
    EXPECT_EQ(media, int(SendPacer::kBurst - SendPacer::kControlReserve));
    for (int i = 0; i < int(SendPacer::kControlReserve); ++i) {
        EXPECT_EQ(pacer.offer(frame(1)), SendPacer::Verdict::SendNow) << i;
    }
}

TEST_F(ASendPacer, HasHeadroomForACallOnlyWithTokensToSpareAndNothingWaiting) {
    EXPECT_TRUE(pacer.hasHeadroom(4));
    while (pacer.hasHeadroom(4)) {
        ASSERT_EQ(pacer.offer(frame(1)), SendPacer::Verdict::SendNow);
    }
    // Still able to send the frames of calls already under way.
    EXPECT_EQ(pacer.offer(frame(1)), SendPacer::Verdict::SendNow);
    clock.advance(1s);
    EXPECT_TRUE(pacer.hasHeadroom(4));
}

TEST_F(ASendPacer, SustainsEightyFramesASecond) {
    for (int i = 0; i < 160; ++i) {
        (void)pacer.offer(frame(0));
    }
    int sent = 0;
    for (int ms = 0; ms < 10000; ++ms) {
        while (pacer.queued() < 4) {
            (void)pacer.offer(frame(1));
        }
        sent += flush();
        clock.advance(1ms);
    }
    EXPECT_NEAR(sent, 800, 2);
    EXPECT_EQ(relayRefused, 0);
}
