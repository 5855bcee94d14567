// SPDX-License-Identifier: MIT
// JitterBuffer under scripted arrival patterns, driven by a simulated clock.
//
// Each script lists when every packet reaches the receiver; the harness
// pushes the packets that have arrived before each pull and pulls exactly
// once per frame period. Nothing sleeps; the counts asserted are worked out
// from the script.
#include "jitter_buffer_harness.h"

#include <gtest/gtest.h>

namespace voice::test {
namespace {

TEST_F(AJitterBuffer, PlaysAnInOrderStreamTwoMillisecondsAfterItArrives) {
    Harness h(decoder);
    const auto played = h.run(steady(500), 1499);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsReceived, 500u);
    EXPECT_EQ(s.framesDecoded, 500u);
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.packetsDuplicate, 0u);
    EXPECT_EQ(s.framesConcealed, 0u);
    EXPECT_EQ(s.packetsDiscarded, 0u);
    // First packet arrives at 5 ms; the pull at 7 ms is the first with the
    // 2 ms margin of delay, so it plays at once. (The target used to add a
    // frame, counting the sender's capture accumulation twice: 12 ms and one
    // silent frame.)
    EXPECT_EQ(s.framesSilent, 0u);
    EXPECT_EQ(s.targetDelay, 2ms);
    EXPECT_EQ(s.currentDelay, 2ms);
    EXPECT_EQ(s.jitter, 0ns);
}

TEST_F(AJitterBuffer, ReportsHowFarEachPullIsFromItsTargetSoThePlayerCanAlign) {
    // Packets every 10 ms from t = 5 ms; target = 2 ms margin. A player that
    // pulls at 1 ms learns the first frame is due 6 ms later; once it pulls
    // exactly then, the frame plays with no slack, and a pull 3 ms later than
    // that reports 3 ms of slack.
    auto jb = JitterBuffer::make(decoder);
    ASSERT_TRUE(jb.ok());
    std::vector<int16_t> out((*jb)->frameSamples());
    auto first = (*jb)->pull(1ms, out);
    EXPECT_EQ(first.frame, Frame::Silence);
    EXPECT_FALSE(first.slackKnown) << "nothing has arrived: nothing to align to";
    ASSERT_TRUE((*jb)->push(1000, 1000 * 480, 5ms, pcmPayload(1000)));
    auto waiting = (*jb)->pull(1ms, out);
    EXPECT_EQ(waiting.frame, Frame::Silence);
    ASSERT_TRUE(waiting.slackKnown);
    EXPECT_EQ(waiting.slackNs, -6 * kMs);
    auto played = (*jb)->pull(7ms, out);
    EXPECT_EQ(played.frame, Frame::Decoded);
    ASSERT_TRUE(played.slackKnown);
    EXPECT_EQ(played.slackNs, 0);
    ASSERT_TRUE((*jb)->push(1001, 1001 * 480, 15ms, pcmPayload(1001)));
    auto late = (*jb)->pull(20ms, out);
    EXPECT_EQ(late.frame, Frame::Decoded);
    EXPECT_EQ(late.slackNs, 3 * kMs);
    EXPECT_EQ((*jb)->stats().currentDelay - (*jb)->stats().targetDelay, 3ms);
}

TEST_F(AJitterBuffer, PutsSwappedPairsBackInOrderWithoutLoss) {
    // Every even packet is held back a frame and 1 ms, so it arrives just
    // after its odd successor.
    auto script = steady(400);
    for (size_t i = 0; i < script.size(); i += 2) {
        script[i].at += 11 * kMs;
    }
    Harness h(decoder);
    const auto played = h.run(script, 1399);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsReceived, 400u);
    EXPECT_EQ(s.framesDecoded, 400u);
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.framesConcealed, 0u);
    EXPECT_EQ(s.packetsDiscarded, 0u);
    // The target covers the 11 ms extra transit (less the slow decay) and
    // the margin; no frame on top any more.
    EXPECT_GE(s.targetDelay, 12ms);
    EXPECT_LE(s.targetDelay, 13ms);
    EXPECT_GT(s.jitter, 5ms);
    expectDelayBounded(played, 200 * kMs, 10 * kMs);
}

TEST_F(AJitterBuffer, CountsDuplicatesWhetherBufferedOrAlreadyPlayed) {
    auto script = steady(300);
    size_t expected = 0;
    for (size_t i = 0; i < 300; ++i) {
        if (i % 7 == 0) { // a copy 2 ms later, still in the buffer
            script.push_back({script[i].sequence, script[i].at + 2 * kMs, script[i].timestamp});
            ++expected;
        }
        if (i % 11 == 0 && i < 250) { // a copy 300 ms later, long played
            script.push_back({script[i].sequence, script[i].at + 300 * kMs, script[i].timestamp});
            ++expected;
        }
    }
    Harness h(decoder);
    const auto played = h.run(script, 1299);
    expectOrderedPlayout(played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsReceived, 300 + expected);
    EXPECT_EQ(s.packetsDuplicate, expected);
    EXPECT_EQ(s.framesDecoded, 300u);
    EXPECT_EQ(s.packetsLost, 0u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.targetDelay, 2ms); // duplicates are not evidence of jitter
}

class AJitterBufferUnderRandomLoss : public ::testing::TestWithParam<int> {};

TEST_P(AJitterBufferUnderRandomLoss, ConcealsExactlyTheLostFrames) {
    const int pct = GetParam();
    PcmDecoder decoder(pcm10ms());
    const auto drop = randomLoss(1000, pct, static_cast<uint32_t>(pct));
    Harness h(decoder);
    const auto played = h.run(without(steady(1000), drop), 1999);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_GT(drop.size(), 0u);
    EXPECT_EQ(s.packetsReceived, 1000 - drop.size());
    EXPECT_EQ(s.framesDecoded, 1000 - drop.size());
    EXPECT_EQ(s.packetsLost, drop.size());
    EXPECT_EQ(s.framesConcealed, drop.size());
    EXPECT_EQ(s.framesFecRecovered, 0u); // PCM has no FEC
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.framesInserted, 0u);
    EXPECT_EQ(s.targetDelay, 2ms); // loss is not jitter
    // The concealed frames are exactly the dropped sequence numbers.
    std::set<uint32_t> concealed;
    for (const auto& p : played) {
        if (p.frame == Frame::Concealed) {
            concealed.insert(p.sequence);
        }
    }
    std::set<uint32_t> dropped;
    for (size_t i : drop) {
        dropped.insert(static_cast<uint32_t>(1000 + i));
    }
    EXPECT_EQ(concealed, dropped);
}

TEST_F(AJitterBuffer, ConcealsALostFrameOnTimeWhenALaterOneIsAlreadyThere) {
    // Every 20th packet is 10 ms late, which keeps the target at about
    // 11 ms (margin + the decaying second-highest delay) and the player,
    // pulling 11 ms after the fastest arrivals, just below it. A lost frame
    // there is concealed on time: its successor has arrived, so waiting for
    // it (a stretch) would only add a frame of delay to all that follow.
    auto script = steady(400);
    for (size_t i = 10; i < script.size(); i += 20) {
        script[i].at += 10 * kMs;
    }
    const std::set<size_t> drop = {31, 131, 231};
    Harness h(decoder);
    const auto played = h.run(without(script, drop), 1399, 6 * kMs);
    expectOrderedPlayout(played);
    expectFramesAddUp(h.jb(), played);
    for (const auto& p : played) {
        if (p.frame == Frame::Concealed) {
            EXPECT_LT(p.delay, p.target) << "seq " << p.sequence << ": not below the target";
        }
    }
    const auto s = h.jb().stats();
    EXPECT_EQ(s.framesInserted, 0u);
    EXPECT_EQ(s.packetsDiscarded, 0u);
    EXPECT_EQ(s.framesConcealed, 3u);
    EXPECT_EQ(s.packetsLost, 3u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.framesDecoded, 397u);
}

TEST_F(AJitterBuffer, CountsAPacketThatCameTooLateApartFromOneThatNeverCame) {
    // Packet 60 is held up 80 ms alone: its frame is concealed, then it
    // arrives. Packet 120 never arrives. Both frames were played without
    // their packet (packetsLost 2); only 120 is lost as RTP counts loss.
    auto script = steady(200);
    script[60].at += 80 * kMs;
    Harness h(decoder);
    const auto played = h.run(without(script, {120}), 1199);
    expectOrderedPlayout(played);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.packetsLost, 2u);
    EXPECT_EQ(s.packetsLate, 1u);
    EXPECT_EQ(s.packetsLateMissed, 1u);
    EXPECT_EQ(s.packetsNeverArrived(), 1u);
    EXPECT_EQ(s.packetsDuplicate, 0u);
}

TEST_P(AJitterBufferUnderRandomLoss, RecoversSingleLossesFromOpusFec) {
    const int pct = GetParam();
    CodecConfig config;
    config.fec = true;
    config.expectedLossPercent = pct;
    // At 5 % expected loss libopus adds FEC only when the bitrate affords it
    // (about 25 kbit/s at wideband); give it 32 kbit/s.
    config.bitrate = 32000;
    auto encoder = OpusVoiceEncoder::make(config);
    auto decoder = OpusVoiceDecoder::make(config);
    ASSERT_TRUE(encoder.ok() && decoder.ok());
    constexpr size_t kCount = 500;
    std::vector<std::vector<uint8_t>> packets;
    std::vector<int16_t> frame(960);
    std::vector<uint8_t> buffer(kMaxPayloadBytes);
    for (size_t i = 0; i < kCount; ++i) {
        for (size_t j = 0; j < frame.size(); ++j) {
            const double t = static_cast<double>(i * 960 + j) / 48000;
            frame[j] = static_cast<int16_t>(
                8000 * std::sin(2 * std::numbers::pi * (300 + 200 * std::sin(t)) * t));
        }
        auto n = (*encoder)->encode(frame, buffer);
        ASSERT_TRUE(n.ok());
        packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(*n));
    }
    const uint32_t first = 5000;
    const auto drop = randomLoss(kCount, pct, static_cast<uint32_t>(100 + pct));
    // The buffer keeps the extra frame FEC needs only once a packet has
    // carried FEC: the first one stretches the delay by a frame as it is
    // played. From then on a lost frame is rebuilt by FEC exactly when the
    // next packet arrived and carries LBRR data; every other lost frame is
    // concealed.
    size_t firstLbrr = 0;
    while (drop.count(firstLbrr) != 0 || !OpusVoiceDecoder::packetHasLbrr(packets[firstLbrr])) {
        ++firstLbrr;
    }
    size_t expectFec = 0;
    for (size_t i : drop) {
        if (i > firstLbrr && drop.count(i + 1) == 0 &&
            OpusVoiceDecoder::packetHasLbrr(packets[i + 1])) {
            ++expectFec;
        }
    }
    Harness h(**decoder, {}, [&](uint32_t seq) { return packets[seq - first]; });
    const auto played =
        h.run(without(steady(kCount, first, 5 * kMs, 20.0 * kMs), drop), first + kCount - 1);
    expectFramesAddUp(h.jb(), played);
    const auto s = h.jb().stats();
    EXPECT_GT(expectFec, 0u);
    EXPECT_EQ(s.packetsLost, drop.size());
    EXPECT_EQ(s.framesFecRecovered, expectFec);
    EXPECT_EQ(s.framesInserted, 1u); // the stretch when FEC showed up
    EXPECT_EQ(s.framesConcealed, drop.size() - expectFec + s.framesInserted);
    EXPECT_EQ(s.framesDecoded, kCount - drop.size());
    EXPECT_EQ(s.decodeErrors, 0u);
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.targetDelay, 22ms); // margin + the frame FEC needs
}

INSTANTIATE_TEST_SUITE_P(Percent, AJitterBufferUnderRandomLoss, ::testing::Values(5, 10, 20));

TEST(AJitterBufferWithOpus, GivesBackTheFecFrameOnceTheSenderStopsSendingFec) {
    CodecConfig config;
    config.fec = true;
    config.expectedLossPercent = 10;
    config.bitrate = 32000;
    auto encoder = OpusVoiceEncoder::make(config);
    auto decoder = OpusVoiceDecoder::make(config);
    ASSERT_TRUE(encoder.ok() && decoder.ok());
    // 100 frames with FEC, then 500 without (the sender's controller calmed down).
    constexpr size_t kCount = 600;
    std::vector<std::vector<uint8_t>> packets;
    std::vector<int16_t> frame(960);
    std::vector<uint8_t> buffer(kMaxPayloadBytes);
    for (size_t i = 0; i < kCount; ++i) {
        if (i == 100) {
            (*encoder)->setFec(false, 0);
        }
        for (size_t j = 0; j < frame.size(); ++j) {
            const double t = static_cast<double>(i * 960 + j) / 48000;
            frame[j] = static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * 300 * t));
        }
        auto n = (*encoder)->encode(frame, buffer);
        ASSERT_TRUE(n.ok());
        packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(*n));
    }
    const uint32_t first = 7000;
    Harness h(**decoder, {}, [&](uint32_t seq) { return packets[seq - first]; });
    const auto played = h.run(steady(kCount, first, 5 * kMs, 20.0 * kMs), first + kCount - 1);
    const auto targetAt = [&](uint32_t seq) {
        for (const auto& p : played) {
            if (p.frame == Frame::Decoded && p.sequence == seq) {
                return p.target;
            }
        }
        return int64_t{-1};
    };
    EXPECT_EQ(targetAt(first + 90), 22 * kMs) << "margin + the frame FEC needs";
    EXPECT_EQ(targetAt(first + kCount - 1), 2 * kMs) << "FEC gone for 250 frames: frame given back";
    EXPECT_EQ(h.jb().stats().framesDecoded, kCount);
}

// Concealment that carries a pause on (below -50 dBFS) is counted apart:
// it is what a lost frame between words sounds like, nothing.
TEST(AJitterBufferConcealing, CountsTheFramesThatCameOutQuiet) {
    PcmDecoder decoder(pcm10ms());
    const auto level = [](uint32_t sequence) {
        return sequence < 1100 ? int16_t{20} : int16_t{8000};
    };
    Harness h(decoder, {}, [&](uint32_t sequence) {
        static PcmEncoder encoder(pcm10ms());
        std::vector<int16_t> frame(480, level(sequence));
        std::vector<uint8_t> out(kMaxPayloadBytes);
        out.resize(*encoder.encode(frame, out));
        return out;
    });
    const std::set<size_t> drop = {20, 40, 60, 150, 170}; // three in the pause, two in speech
    const auto played = h.run(without(steady(200), drop), 1199);
    const auto s = h.jb().stats();
    EXPECT_EQ(s.framesConcealed, 5u);
    EXPECT_EQ(s.framesConcealedQuiet, 3u);
}

} // namespace
} // namespace voice::test
