// SPDX-License-Identifier: MIT
// The scripted-arrival harness of the JitterBuffer tests: a simulated clock,
// arrival scripts (steady, with loss, with jitter), a Harness that pushes what
// has arrived before each pull and pulls once per frame period, and the
// checks every script shares (ordered playout, frames that add up, bounded
// delay). Nothing sleeps.
#pragma once

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

namespace voice::test {

using namespace voice;
using namespace std::chrono_literals;
using Frame = JitterBuffer::Frame;

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

inline CodecConfig pcm10ms() {
    CodecConfig c;
    c.codec = CodecId::Pcm;
    c.frameDuration = 10ms;
    return c;
}

// A PCM frame whose samples all carry the sequence number, so every played
// frame can be checked against the packet it should come from.
inline int16_t marker(uint32_t sequence) {
    return static_cast<int16_t>(1 + (sequence & 0x3fff));
}

inline std::vector<uint8_t> pcmPayload(uint32_t sequence) {
    static PcmEncoder encoder(pcm10ms());
    std::vector<int16_t> frame(480, marker(sequence));
    std::vector<uint8_t> out(kMaxPayloadBytes);
    auto n = encoder.encode(frame, out);
    out.resize(*n);
    return out;
}

// Packets sent every `period` from `first`, arriving `transit` later.
inline std::vector<Arrival> steady(size_t count, uint32_t first = 1000, int64_t transit = 5 * kMs,
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

inline std::vector<Arrival> without(const std::vector<Arrival>& script,
                                    const std::set<size_t>& drop) {
    std::vector<Arrival> out;
    for (size_t i = 0; i < script.size(); ++i) {
        if (drop.count(i) == 0) {
            out.push_back(script[i]);
        }
    }
    return out;
}

// Indices 1..count-2 dropped with probability pct % (first and last kept).
inline std::set<size_t> randomLoss(size_t count, int pct, uint32_t seed) {
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

inline size_t countOf(const std::vector<Played>& played, Frame frame) {
    return static_cast<size_t>(std::count_if(played.begin(), played.end(),
                                             [&](const Played& p) { return p.frame == frame; }));
}

// Every decoded frame holds its own packet's samples, and decoded sequence
// numbers only ever go up.
inline void expectOrderedPlayout(const std::vector<Played>& played) {
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
inline void expectFramesAddUp(const JitterBuffer& jb, const std::vector<Played>& played) {
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
inline void expectDelayBounded(const std::vector<Played>& played, int64_t maxDelay,
                               int64_t period) {
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

using AJitterBuffer = ABufferFixture;

} // namespace voice::test
