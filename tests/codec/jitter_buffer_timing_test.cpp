// SPDX-License-Identifier: MIT
// JitterBuffer over time: bursts, network gaps, sender pauses, stalls of the
// player, clock drift, adaptive delay, long-running clocks, sequence wrap,
// refused and garbage packets. Same scripted harness as jitter_buffer_test.cpp.
#include "jitter_buffer_harness.h"

#include <gtest/gtest.h>

namespace voice::test {
namespace {

TEST_F(AJitterBuffer, ConcealsBurstsAndResynchronisesAfterOneLongerThanMaxDelay) {
    std::set<size_t> drop;
    for (auto [from, to] : {std::pair{50, 53}, {120, 128}, {300, 340}, {400, 401}}) {
        for (int i = from; i < to; ++i) {
            drop.insert(static_cast<size_t>(i));
        }
    }
    Harness h(decoder);
    const auto played = h.run(without(steady(600), drop), 1599);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLost, 52u);
    EXPECT_EQ(s.framesDecoded, 548u);
    EXPECT_EQ(s.resyncs, 1u); // only the 400 ms burst exceeds the 200 ms maximum
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.packetsDiscarded, 0u);
    EXPECT_EQ(s.targetDelay, 2ms);
    expectDelayBounded(played, 200 * kMs, 10 * kMs);
}

TEST_F(AJitterBuffer, ResumesAtTheNewStreamPositionAfterATwoSecondNetworkGap) {
    std::set<size_t> drop;
    for (size_t i = 300; i < 500; ++i) { // 2 s of packets never arrive
        drop.insert(i);
    }
    Harness h(decoder);
    const auto played = h.run(without(steady(800), drop), 1799);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLost, 200u);
    EXPECT_EQ(s.framesDecoded, 600u);
    EXPECT_EQ(s.resyncs, 1u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.currentDelay, 2ms);
    expectDelayBounded(played, 200 * kMs, 10 * kMs);
    // Playout restarts at the first packet after the gap (seq 1500) with the
    // start-up delay: arrival 5 ms + 5000 ms, first pull 2 ms later.
    const auto firstAfter = std::find_if(played.begin(), played.end(), [](const Played& p) {
        return p.frame == Frame::Decoded && p.sequence >= 1500;
    });
    ASSERT_NE(firstAfter, played.end());
    EXPECT_EQ(firstAfter->sequence, 1500u);
    EXPECT_EQ(firstAfter->at, 5007 * kMs);
}

TEST_F(AJitterBuffer, PicksUpWhereASenderPausedForTwoSecondsWithoutLosingFrames) {
    auto script = steady(600);
    for (size_t i = 300; i < 600; ++i) {
        script[i].at += 2000 * kMs;
        script[i].timestamp += 96000;
    }
    Harness h(decoder);
    const auto played = h.run(script, 1599);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.framesDecoded, 600u);
    EXPECT_EQ(s.resyncs, 1u);
    // The delay goes back to the start-up delay instead of growing by 2 s.
    EXPECT_EQ(s.currentDelay, 2ms);
    EXPECT_EQ(s.targetDelay, 2ms);
}

// The whole receiving process stopped for 10 s (kill -STOP, then -CONT): no
// pulls and no pushes meanwhile; then the receiver pushes the backlog its
// socket held (the first second of the stall) in one burst, stamped with the
// time it ran again, and fresh packets follow at their usual pace.
TEST_F(AJitterBuffer, DropsTheStaleBacklogAfterAStallInsteadOfDrainingIt) {
    Harness h(decoder);
    JitterBuffer& jb = h.jb();
    std::vector<int16_t> out(jb.frameSamples());
    constexpr int64_t kPeriod = 10 * kMs, kTransit = 5 * kMs, kPhase = 7 * kMs;
    constexpr int64_t kStop = 3000 * kMs, kCont = 13000 * kMs;
    const auto push = [&](uint32_t i, int64_t at) {
        return jb.push(1000 + i, (1000 + i) * 480, std::chrono::nanoseconds(at),
                       pcmPayload(1000 + i));
    };
    uint32_t sent = 0; // next packet index; packet i is sent at i * kPeriod
    int64_t now = kPhase;
    for (; now < kStop; now += kPeriod) {
        for (; int64_t(sent) * kPeriod + kTransit <= now; ++sent) {
            ASSERT_TRUE(push(sent, int64_t(sent) * kPeriod + kTransit));
        }
        jb.pull(std::chrono::nanoseconds(now), out);
    }
    const auto before = jb.stats();
    ASSERT_EQ(before.targetDelay, 2ms);
    // The socket kept the first 100 packets of the stall and dropped the
    // rest; the queue takes what it can of them.
    for (uint32_t i = 0; i < 100; ++i) {
        (void)push(sent + i, kCont);
    }
    // What the relay had queued for the control connection (the tunnel)
    // when the stall ended comes 600 ms late, behind that connection's
    // backlog: the last 100 ms of the stall and the first 200 ms after it;
    // later packets come over UDP in time.
    std::vector<std::pair<int64_t, uint32_t>> arrivals; // (arrival, index)
    for (auto i = uint32_t((kCont - 100 * kMs) / kPeriod); i < (kCont + 6000 * kMs) / kPeriod;
         ++i) {
        const int64_t sentAt = int64_t(i) * kPeriod;
        arrivals.emplace_back(sentAt < kCont + 200 * kMs ? kCont + 600 * kMs : sentAt + kTransit,
                              i);
    }
    std::stable_sort(arrivals.begin(), arrivals.end());
    size_t next = 0;
    int64_t settledAt = -1;
    for (now = kCont + kPhase; now < kCont + 5000 * kMs; now += kPeriod) {
        for (; next < arrivals.size() && arrivals[next].first <= now; ++next) {
            (void)push(arrivals[next].second, arrivals[next].first); // the queue may be full
        }
        const auto r = jb.pull(std::chrono::nanoseconds(now), out);
        const auto s = jb.stats();
        // The stale packets and our own catch-up do not count as jitter.
        ASSERT_LE(s.targetDelay, 20ms) << "at " << (now - kCont) / kMs << " ms after the stall";
        if (r.frame != Frame::Decoded) {
            continue;
        }
        const int64_t over = std::abs((s.currentDelay - s.targetDelay).count());
        if (settledAt < 0 && over <= 20 * kMs) {
            settledAt = now - kCont;
        }
        if (settledAt >= 0) { // and from then on it stays there
            ASSERT_LE(over, 20 * kMs) << "at " << (now - kCont) / kMs << " ms after the stall";
        }
    }
    ASSERT_GE(settledAt, 0) << "the delay never came back near the target";
    EXPECT_LE(settledAt, 2000 * kMs);
    const auto s = jb.stats();
    EXPECT_EQ(s.stalls, 1u);
    EXPECT_EQ(s.targetDelay, 2ms);
    EXPECT_LE(s.currentDelay, 12ms);
}

TEST_F(AJitterBuffer, LeavesAPlayerHiccupShorterThanTheMaximumDelayToTheShrink) {
    Harness h(decoder);
    JitterBuffer& jb = h.jb();
    std::vector<int16_t> out(jb.frameSamples());
    const auto script = steady(400);
    size_t next = 0;
    for (int64_t now = 7 * kMs; now < 4100 * kMs; now += 10 * kMs) {
        if (now > 2000 * kMs && now < 2150 * kMs) {
            continue; // the player was held up for 150 ms (max delay 200 ms)
        }
        for (; next < script.size() && script[next].at <= now; ++next) {
            ASSERT_TRUE(jb.push(script[next].sequence, script[next].timestamp,
                                std::chrono::nanoseconds(script[next].at),
                                pcmPayload(script[next].sequence)));
        }
        jb.pull(std::chrono::nanoseconds(now), out);
    }
    const auto s = jb.stats();
    EXPECT_EQ(s.stalls, 0u);
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.framesDecoded + s.packetsDiscarded, 400u);
    EXPECT_EQ(s.targetDelay, 2ms);
}

TEST_F(AJitterBuffer, FollowsASenderClockThatRunsFastByATenthOfAPercent) {
    // 60 s of audio arrives 60 ms early in total: about six frames to shed.
    Harness h(decoder);
    const auto played = h.run(steady(6000, 1000, 5 * kMs, 10.0 * kMs * 0.999), 6999);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.framesDecoded + s.packetsDiscarded, 6000u);
    EXPECT_GE(s.packetsDiscarded, 4u);
    EXPECT_LE(s.packetsDiscarded, 7u);
    EXPECT_EQ(s.framesInserted, 0u);
    expectDelayBounded(played, 200 * kMs, 10 * kMs);
    for (const auto& p : played) {
        ASSERT_LE(p.delay, 30 * kMs);
    }
}

TEST_F(AJitterBuffer, FollowsASenderClockThatRunsSlowByATenthOfAPercent) {
    // 60 s of audio arrives 60 ms late in total: about six frames to add.
    Harness h(decoder);
    const auto played = h.run(steady(6000, 1000, 5 * kMs, 10.0 * kMs * 1.001), 6999);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.framesDecoded, 6000u);
    EXPECT_EQ(s.packetsDiscarded, 0u);
    EXPECT_GE(s.framesInserted, 5u);
    EXPECT_LE(s.framesInserted, 12u);
    expectDelayBounded(played, 200 * kMs, 10 * kMs);
    for (const auto& p : played) {
        ASSERT_LE(p.delay, 30 * kMs);
    }
}

TEST_F(AJitterBuffer, AdaptsToRandomJitterWithinTheMaximumAndAccountsForEveryPacket) {
    std::mt19937 rng(42);
    auto script = steady(3000);
    for (size_t i = 0; i + 3 < script.size(); ++i) {                 // the last three arrive calmly
        script[i].at += static_cast<int64_t>(rng() % 30'000) * 1000; // 0..30 ms
    }
    Harness h(decoder);
    const auto played = h.run(script, 3999);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsReceived, 3000u);
    EXPECT_EQ(s.packetsDuplicate, 0u);
    // Every packet arrives eventually, so a frame is lost exactly when its
    // packet came late, and every packet is played, late or discarded.
    EXPECT_EQ(s.packetsLost, s.packetsLate);
    EXPECT_EQ(s.framesDecoded + s.packetsLate + s.packetsDiscarded, 3000u);
    // Late packets only while the target is still learning the jitter.
    EXPECT_LE(s.packetsLate, 10u);
    size_t lateAfterWarmUp = 0;
    for (const auto& p : played) {
        if (p.frame == Frame::Concealed && p.at > 1000 * kMs) {
            ++lateAfterWarmUp;
        }
    }
    EXPECT_EQ(lateAfterWarmUp, 0u);
    // Margin plus the second-highest of the recent 0..30 ms delays.
    EXPECT_GE(s.targetDelay, 28ms);
    EXPECT_LE(s.targetDelay, 45ms);
    EXPECT_GT(s.jitter, 5ms);
    expectDelayBounded(played, 200 * kMs, 10 * kMs);
}

TEST_F(AJitterBuffer, ConcealsALoneLatePacketWithoutRaisingTheTarget) {
    auto script = steady(800);
    script[200].at += 40 * kMs; // one packet held up alone (a stalled sender thread)
    Harness h(decoder);
    const auto played = h.run(script, 1799);
    for (const auto& p : played) {
        ASSERT_EQ(p.target, 2 * kMs) << "at " << p.at / kMs << " ms";
    }
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLate, 1u); // it came after its frame was concealed
    EXPECT_EQ(s.packetsLost, 1u);
    EXPECT_EQ(s.framesConcealed, 1u);
    EXPECT_EQ(s.framesInserted, 0u);
    EXPECT_EQ(s.framesDecoded, 799u);
}

TEST_F(AJitterBuffer, GrowsAtOnceOnJitterHoldsItAndShrinksSlowlyWhenCalm) {
    auto script = steady(1200);
    script[200].at += 40 * kMs; // 40 ms late, arriving at 2045 ms
    script[210].at += 40 * kMs; // and again at 2145 ms: this is jitter
    Harness h(decoder);
    const auto played = h.run(script, 2199);
    auto at = [&](int64_t ms) {
        return *std::find_if(played.begin(), played.end(),
                             [&](const Played& p) { return p.at >= ms * kMs; });
    };
    // Margin plus the 40 ms peak (no frame on top: the fastest transit
    // already holds the sender's frame of accumulation).
    EXPECT_EQ(at(2137).target, 2 * kMs); // the first one alone is not followed
    // The first pull after the second arrived: the second highest is the
    // first one, held (no decay within kPeakHold).
    EXPECT_EQ(at(2147).target, 42 * kMs);
    // Still held just before the hold (3 s from 2145 ms) runs out.
    EXPECT_EQ(at(5137).target, 42 * kMs);
    // Two seconds after it ran out the target has come down by 4 ms per second.
    EXPECT_GE(at(7147).target, 33 * kMs);
    EXPECT_LE(at(7147).target, 35 * kMs);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLate, 2u); // both came after their frames were concealed
    EXPECT_EQ(s.packetsLost, 2u);
    EXPECT_EQ(s.framesDecoded + s.packetsDiscarded, 1198u);
    EXPECT_EQ(s.framesInserted, 4u);   // 2 -> 42 ms in four 10 ms stretches
    EXPECT_GE(s.packetsDiscarded, 1u); // and sheds frames as the target falls
    expectDelayBounded(played, 200 * kMs, 10 * kMs);
}

TEST_F(AJitterBuffer, HoldsTheTargetThroughASawtoothOfTransit) {
    // Transit that ramps up by 5 ms over a second and drops back, as capture
    // handed over in blocks at a drifting phase makes it: the target stays
    // at the ramp's top, so no frame at a later top finds the buffer dry.
    auto script = steady(1000);
    for (size_t i = 0; i < script.size(); ++i) {
        script[i].at += static_cast<int64_t>(i % 100) * 50 * kMs / 1000;
    }
    Harness h(decoder);
    const auto played = h.run(script, 1999);
    // After the first ramp (the buffer stretches once while it learns it),
    // every frame plays from its own packet.
    for (const auto& p : played) {
        if (p.at >= 2000 * kMs && p.at < 10000 * kMs) {
            ASSERT_GE(p.target, 6 * kMs) << "at " << p.at / kMs << " ms";
            ASSERT_EQ(p.frame, Frame::Decoded) << "at " << p.at / kMs << " ms";
        }
    }
    const auto s = h.jb().stats();
    EXPECT_LE(s.framesConcealed, 1u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.packetsLost, 0u);
}

TEST_F(AJitterBuffer, WorksOnAMonotonicClockThatHasRunForDays) {
    // The player and receiver pass raw CLOCK_MONOTONIC times; after days of
    // uptime the peak decay must not overflow (UBSan checks this in CI).
    constexpr int64_t kTenDays = int64_t{10} * 24 * 3600 * 1000 * kMs;
    auto script = steady(300);
    for (auto& a : script) {
        a.at += kTenDays;
    }
    Harness h(decoder);
    const auto played = h.run(script, 1299, kTenDays + 7 * kMs);
    expectOrderedPlayout(played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.framesDecoded, 300u);
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.targetDelay, 2ms);
}

TEST_F(AJitterBuffer, HandlesThe32BitSequenceWrap) {
    const uint32_t first = 0xffffff00u;
    // Drop the packets numbered 0xffffffff and 0.
    const auto script = without(steady(600, first), {0xff, 0x100});
    Harness h(decoder);
    const auto played = h.run(script, first + 599);
    expectOrderedPlayout(played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLost, 2u);
    EXPECT_EQ(s.framesDecoded, 598u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.packetsOverflow, 0u);
}

TEST_F(AJitterBuffer, CountsALatePacketOnceAndItsCopyAsADuplicate) {
    auto script = steady(100);
    script[50].at += 100 * kMs; // far too late: its frame is concealed
    script.push_back({script[50].sequence, script[50].at + 1 * kMs, script[50].timestamp});
    Harness h(decoder);
    h.run(script, 1099);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLate, 1u);
    EXPECT_EQ(s.packetsDuplicate, 1u);
    EXPECT_EQ(s.packetsLost, 1u);
    EXPECT_EQ(s.framesDecoded, 99u);
}

TEST_F(AJitterBuffer, RefusesPacketsBeyondItsQueueOrWindow) {
    Harness h(decoder, {.margin = 2ms, .maxDelay = 200ms, .queueCapacity = 64});
    const auto payload = pcmPayload(1);
    size_t refused = 0;
    for (uint32_t i = 0; i < 70; ++i) {
        refused += h.jb().push(i, i * 480, std::chrono::nanoseconds(i * 10 * kMs), payload) ? 0 : 1;
    }
    EXPECT_EQ(refused, 6u);
    std::vector<int16_t> out(480);
    (void)h.jb().pull(std::chrono::nanoseconds(700 * kMs), out);
    EXPECT_TRUE(h.jb().push(100000, 0, std::chrono::nanoseconds(701 * kMs), payload));
    (void)h.jb().pull(std::chrono::nanoseconds(710 * kMs), out);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsReceived, 65u);
    EXPECT_EQ(s.packetsOverflow, 7u); // 6 on the queue, 1 far outside the window
}

TEST_F(AJitterBuffer, ConcealsAPayloadTheDecoderRejects) {
    Harness h(decoder, {}, [](uint32_t seq) {
        auto p = pcmPayload(seq);
        if (seq == 1010) {
            p.resize(7);
        }
        return p;
    });
    const auto played = h.run(steady(30), 1029);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.decodeErrors, 1u);
    EXPECT_EQ(s.framesConcealed, 1u);
    EXPECT_EQ(s.framesDecoded, 29u);
    EXPECT_EQ(s.packetsLost, 0u);
}

TEST(AJitterBufferUnderGarbage, NeitherCrashesNorGrowsOnRandomPackets) {
    // Authenticated packets should never look like this, but a buggy peer
    // must still only cost concealment: random sequence numbers, timestamps,
    // sizes and bytes, mixed with a valid stream, for both decoders.
    CodecConfig opusConfig;
    auto opus = OpusVoiceDecoder::make(opusConfig);
    ASSERT_TRUE(opus.ok());
    PcmDecoder pcm(pcm10ms());
    for (Decoder* decoder : {static_cast<Decoder*>(opus->get()), static_cast<Decoder*>(&pcm)}) {
        auto jb = JitterBuffer::make(*decoder);
        ASSERT_TRUE(jb.ok());
        std::mt19937 rng(7);
        std::vector<uint8_t> payload(kMaxPayloadBytes + 1);
        std::vector<int16_t> out(decoder->frameSamples());
        const int64_t period = (*jb)->frameDuration().count();
        uint64_t pulls = 0;
        for (int64_t k = 0; k < 20000; ++k) {
            const int64_t now = k * period;
            for (int j = 0; j < 3; ++j) {
                for (auto& b : payload) {
                    b = static_cast<uint8_t>(rng());
                }
                const size_t size = rng() % payload.size();
                const bool wild = rng() % 4 == 0;
                const auto seq = wild ? static_cast<uint32_t>(rng()) : static_cast<uint32_t>(k + j);
                (void)(*jb)->push(seq, static_cast<uint32_t>(rng()), std::chrono::nanoseconds(now),
                                  std::span(payload).first(size));
            }
            (void)(*jb)->pull(std::chrono::nanoseconds(now), out);
            ++pulls;
        }
        const auto s = (*jb)->stats();
        EXPECT_EQ(s.framesDecoded + s.framesFecRecovered + s.framesConcealed + s.framesSilent,
                  pulls);
        EXPECT_LE(s.targetDelay, 200ms);
        EXPECT_GT(s.packetsOverflow, 0u); // the oversized ones at least
    }
}

TEST(AJitterBufferConfig, RejectsAMaxDelayTheWindowCannotHold) {
    CodecConfig config;
    config.codec = CodecId::Pcm;
    config.frameDuration = 2500us;
    PcmDecoder decoder(config);
    EXPECT_TRUE(JitterBuffer::make(decoder, {.maxDelay = 150ms}).ok());
    auto tooLong = JitterBuffer::make(decoder, {.maxDelay = 200ms});
    EXPECT_EQ(tooLong.status().code(), Errc::InvalidArgument);
    auto tooShort = JitterBuffer::make(decoder, {.maxDelay = 3ms});
    EXPECT_EQ(tooShort.status().code(), Errc::InvalidArgument);
}

} // namespace
} // namespace voice::test
