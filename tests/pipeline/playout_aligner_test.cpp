// SPDX-License-Identifier: MIT
// PlayoutAligner: how much it removes, what it keeps, and that the splice is smooth.
#include "pipeline/playout_aligner.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <gtest/gtest.h>
#include <numbers>
#include <vector>

using namespace voice;

namespace {

std::vector<int16_t> tone(size_t n, double hz, size_t offset = 0) {
    std::vector<int16_t> v(n);
    for (size_t i = 0; i < n; ++i) {
        v[i] = static_cast<int16_t>(std::lround(
            10000 * std::sin(2 * std::numbers::pi * hz * static_cast<double>(i + offset) / 48000)));
    }
    return v;
}

int maxStep(const std::vector<int16_t>& v, size_t n) {
    int step = 0;
    for (size_t i = 1; i < n; ++i) {
        step = std::max(step, std::abs(v[i] - v[i - 1]));
    }
    return step;
}

} // namespace

TEST(APlayoutAligner, RemovesAtMostAQuarterFrameOrTwoAndAHalfMilliseconds) {
    EXPECT_EQ(PlayoutAligner(960, 48000).maxDrop(), 120u); // 20 ms: 2.5 ms
    EXPECT_EQ(PlayoutAligner(480, 48000).maxDrop(), 120u); // 10 ms: a quarter
    EXPECT_EQ(PlayoutAligner(240, 48000).maxDrop(), 60u);  // 5 ms: a quarter
}

TEST(APlayoutAligner, ShortensByBetweenHalfAndAllOfTheRequestAndKeepsBothEnds) {
    const PlayoutAligner aligner(960, 48000);
    const auto in = tone(960, 440);
    std::vector<int16_t> out(960);
    for (size_t drop : {1u, 10u, 60u, 120u, 500u}) {
        const size_t n = aligner.shorten(in, drop, out);
        const size_t wanted = std::min<size_t>(drop, 120);
        EXPECT_LE(960 - n, wanted) << drop;
        EXPECT_GE(960 - n, std::max<size_t>(1, wanted / 2)) << drop;
        EXPECT_EQ(out[0], in[0]) << "the first sample (whose latency is measured) stays first";
        EXPECT_TRUE(std::equal(in.end() - 100, in.end(), out.begin() + static_cast<long>(n) - 100))
            << "the end stays, so the next frame continues from it";
    }
}

TEST(APlayoutAligner, SplicesATonePitchSynchronouslyWithoutAClick) {
    // 400 Hz: a period of 120 samples. Removing about 100 samples should
    // remove one whole period and leave the waveform as smooth as before.
    const PlayoutAligner aligner(960, 48000);
    const auto in = tone(960, 400);
    std::vector<int16_t> out(960);
    const size_t n = aligner.shorten(in, 120, out);
    EXPECT_EQ(960 - n, 120u);
    EXPECT_LE(maxStep(out, n), maxStep(in, in.size()) + 2);
    // The result is the tone itself, a period shorter.
    for (size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(out[i], in[i], 2) << i;
    }
}

TEST(APlayoutAligner, LeavesAFrameTooShortToSpliceAlone) {
    const PlayoutAligner aligner(960, 48000);
    const auto in = tone(100, 440);
    std::vector<int16_t> out(100);
    EXPECT_EQ(aligner.shorten(in, 50, out), 100u);
    EXPECT_EQ(out, in);
    std::vector<int16_t> whole(960);
    EXPECT_EQ(aligner.shorten(tone(960, 440), 0, whole), 960u);
}
