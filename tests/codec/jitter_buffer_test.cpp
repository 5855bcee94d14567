// SPDX-License-Identifier: MIT
// JitterBuffer under scripted arrival patterns, driven by a simulated clock.
//
// Each script lists when every packet reaches the receiver; the harness
// pushes the packets that have arrived before each pull and pulls exactly
// once per frame period. Nothing sleeps; the counts asserted are worked out
// from the script.
#include "codec/jitter_buffer.h"
#include "codec/opus_voice_decoder.h"
#include "codec/opus_voice_encoder.h"
#include "codec/pcm_decoder.h"
#include "codec/pcm_encoder.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <numbers>
#include <random>
#include <set>
#include <vector>

using namespace voice;
using namespace std::chrono_literals;
using Frame = JitterBuffer::Frame;

namespace {

constexpr int64_t kMs = 1'000'000;

struct Arrival {
    uint32_t sequence;
    int64_t at;         // ns on the receiver's clock
    uint32_t timestamp; // samples
};

struct Played {
    Frame frame;
    uint32_t sequence;
    int64_t at;
    int16_t firstSample;
    int64_t delay;
    int64_t target;
};

CodecConfig pcm10ms() {
    CodecConfig c;
    c.codec = CodecId::Pcm;
    c.frameDuration = 10ms;
    return c;
}

// A PCM frame whose samples all carry the sequence number, so every played
// frame can be checked against the packet it should come from.
int16_t marker(uint32_t sequence) {
    return static_cast<int16_t>(1 + (sequence & 0x3fff));
}

std::vector<uint8_t> pcmPayload(uint32_t sequence) {
    static PcmEncoder encoder(pcm10ms());
    std::vector<int16_t> frame(480, marker(sequence));
    std::vector<uint8_t> out(kMaxPayloadBytes);
    auto n = encoder.encode(frame, out);
    out.resize(*n);
    return out;
}

// Packets sent every `period` from `first`, arriving `transit` later.
std::vector<Arrival> steady(size_t count, uint32_t first = 1000, int64_t transit = 5 * kMs,
                            double period = 10.0 * kMs) {
    std::vector<Arrival> script;
    for (size_t i = 0; i < count; ++i) {
        script.push_back(
            {first + static_cast<uint32_t>(i),
             static_cast<int64_t>(std::llround(static_cast<double>(i) * period)) + transit,
             static_cast<uint32_t>((first + i) * 480)});
    }
    return script;
}

std::vector<Arrival> without(const std::vector<Arrival>& script, const std::set<size_t>& drop) {
    std::vector<Arrival> out;
    for (size_t i = 0; i < script.size(); ++i) {
        if (drop.count(i) == 0) {
            out.push_back(script[i]);
        }
    }
    return out;
}

// Indices 1..count-2 dropped with probability pct % (first and last kept).
std::set<size_t> randomLoss(size_t count, int pct, uint32_t seed) {
    std::mt19937 rng(seed); // mt19937's output is fixed by the standard
    std::set<size_t> drop;
    for (size_t i = 1; i + 1 < count; ++i) {
        if (static_cast<int>(rng() % 100) < pct) {
            drop.insert(i);
        }
    }
    return drop;
}

class Harness {
public:
    using PayloadFn = std::function<std::vector<uint8_t>(uint32_t)>;

    explicit Harness(Decoder& decoder, JitterBufferConfig config = {},
                     PayloadFn payload = pcmPayload)
        : payload_(std::move(payload)) {
        auto jb = JitterBuffer::make(decoder, config);
        EXPECT_TRUE(jb.ok()) << jb.status().toString();
        jb_ = std::move(*jb);
    }

    // Pulls every frame period (at phase + k * period) until `last` has been
    // played, pushing each packet before the first pull at or after its
    // arrival. Packets are pushed in arrival order (stable for ties).
    std::vector<Played> run(std::vector<Arrival> script, uint32_t last, int64_t phase = 7 * kMs,
                            size_t maxPulls = 20000) {
        std::stable_sort(script.begin(), script.end(),
                         [](const Arrival& a, const Arrival& b) { return a.at < b.at; });
        const int64_t period = jb_->frameDuration().count();
        std::vector<int16_t> out(jb_->frameSamples());
        std::vector<Played> played;
        size_t next = 0;
        for (size_t k = 0; k < maxPulls; ++k) {
            const int64_t now = phase + static_cast<int64_t>(k) * period;
            while (next < script.size() && script[next].at <= now) {
                const Arrival& a = script[next++];
                EXPECT_TRUE(jb_->push(a.sequence, a.timestamp, std::chrono::nanoseconds(a.at),
                                      payload_(a.sequence)));
            }
            const auto r = jb_->pull(std::chrono::nanoseconds(now), out);
            const auto s = jb_->stats();
            played.push_back(
                {r.frame, r.sequence, now, out[0], s.currentDelay.count(), s.targetDelay.count()});
            const bool passed = r.frame == Frame::Decoded || r.frame == Frame::FecRecovered ||
                                r.frame == Frame::Concealed;
            if (passed && r.sequence == last) {
                break;
            }
        }
        return played;
    }

    JitterBuffer& jb() { return *jb_; }

private:
    PayloadFn payload_;
    std::unique_ptr<JitterBuffer> jb_;
};

size_t countOf(const std::vector<Played>& played, Frame frame) {
    return static_cast<size_t>(std::count_if(played.begin(), played.end(),
                                             [&](const Played& p) { return p.frame == frame; }));
}

// Every decoded frame holds its own packet's samples, and decoded sequence
// numbers only ever go up.
void expectOrderedPlayout(const std::vector<Played>& played) {
    bool started = false;
    uint32_t previous = 0;
    for (const auto& p : played) {
        if (p.frame != Frame::Decoded) {
            continue;
        }
        ASSERT_EQ(p.firstSample, marker(p.sequence)) << "seq " << p.sequence;
        if (started) {
            ASSERT_GT(static_cast<int32_t>(p.sequence - previous), 0) << "seq " << p.sequence;
        }
        started = true;
        previous = p.sequence;
    }
}

// Every pull produced exactly one frame of one kind.
void expectFramesAddUp(const JitterBuffer& jb, const std::vector<Played>& played) {
    const auto s = jb.stats();
    EXPECT_EQ(s.framesDecoded, countOf(played, Frame::Decoded));
    EXPECT_EQ(s.framesFecRecovered, countOf(played, Frame::FecRecovered));
    EXPECT_EQ(s.framesInserted, countOf(played, Frame::Inserted));
    EXPECT_EQ(s.framesConcealed, countOf(played, Frame::Concealed) + s.framesInserted);
    EXPECT_EQ(s.framesSilent, countOf(played, Frame::Silence));
}

// Once playing, every frame's delay stays within the band the buffer aims
// for: at least the target (else it stretches), at most the target plus a
// frame and a half (else it shrinks), and the target under the maximum.
void expectDelayBounded(const std::vector<Played>& played, int64_t maxDelay, int64_t period) {
    for (const auto& p : played) {
        if (p.frame == Frame::Decoded) {
            ASSERT_GE(p.delay, p.target - period) << "at " << p.at / kMs << " ms";
            ASSERT_LE(p.delay, p.target + 2 * period) << "at " << p.at / kMs << " ms";
        }
        ASSERT_LE(p.target, maxDelay);
    }
}

struct ABufferFixture : ::testing::Test {
    PcmDecoder decoder{pcm10ms()};
};

} // namespace

using AJitterBuffer = ABufferFixture;

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
