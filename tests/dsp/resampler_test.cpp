// SPDX-License-Identifier: MIT
// Resampler: speexdsp between 44.1 and 48 kHz keeps a tone's frequency, makes
// the right number of samples in blocks of any size, and reports its delay.
#include "dsp/resampler.h"

#include <cmath>
#include <gtest/gtest.h>
#include <numbers>
#include <vector>

using namespace voice;

namespace {

// Frequency of a clean tone from its zero crossings.
double crossingsHz(const std::vector<int16_t>& s, uint32_t rate) {
    size_t crossings = 0;
    for (size_t i = 1; i < s.size(); ++i)
        crossings += (s[i - 1] < 0) != (s[i] < 0);
    return double(crossings) / 2.0 * rate / double(s.size());
}

std::vector<int16_t> resampleAll(uint32_t in, uint32_t out, size_t block, double hz,
                                 double seconds) {
    auto r = Resampler::make(in, out, block);
    EXPECT_TRUE(r.ok());
    std::vector<int16_t> input(size_t(in * seconds));
    for (size_t i = 0; i < input.size(); ++i)
        input[i] = int16_t(16000 * std::sin(2 * std::numbers::pi * hz * double(i) / in));
    std::vector<int16_t> output, piece((*r)->maxOut());
    for (size_t at = 0; at < input.size(); at += block) {
        const size_t n = std::min(block, input.size() - at);
        const size_t made = (*r)->process(std::span(input).subspan(at, n), piece);
        EXPECT_LE(made, (*r)->maxOut());
        output.insert(output.end(), piece.begin(), piece.begin() + long(made));
    }
    return output;
}

} // namespace

TEST(AResampler, Takes441kHzTo48kHzKeepingTheToneAndTheLength) {
    const auto out = resampleAll(44100, 48000, 882, 440.0, 2.0);
    EXPECT_NEAR(double(out.size()), 96000.0, 96.0); // within the filter's delay
    EXPECT_NEAR(crossingsHz({out.begin() + 4800, out.end()}, 48000), 440.0, 2.0);
}

TEST(AResampler, Takes48kHzTo441kHzInOddBlocks) {
    const auto out = resampleAll(48000, 44100, 333, 1000.0, 2.0);
    EXPECT_NEAR(double(out.size()), 88200.0, 96.0);
    EXPECT_NEAR(crossingsHz({out.begin() + 4410, out.end()}, 44100), 1000.0, 3.0);
}

TEST(AResampler, ReportsAFilterDelayBelowTwoMilliseconds) {
    auto r = Resampler::make(44100, 48000, 441);
    ASSERT_TRUE(r.ok());
    EXPECT_GT((*r)->delayNs(), 0);
    EXPECT_LT((*r)->delayNs(), 2'000'000);
}

TEST(AResampler, RefusesRatesOutOfRange) {
    EXPECT_FALSE(Resampler::make(0, 48000, 480).ok());
    EXPECT_FALSE(Resampler::make(48000, 1000000, 480).ok());
    EXPECT_FALSE(Resampler::make(48000, 44100, 0).ok());
}
