// SPDX-License-Identifier: MIT
// Tests of ToneGenerator: each tone's cadence, frequency and level.
#include "audio/tone_generator.h"

#include <cmath>
#include <gtest/gtest.h>
#include <vector>

using namespace voice;

namespace {

constexpr uint32_t kRate = 48000;

/// Renders seconds of kind in 10 ms pieces, as the tone player does.
std::vector<int16_t> render(ToneKind kind, double seconds, uint32_t channels = 1) {
    ToneGenerator g(kind, kRate, channels);
    std::vector<int16_t> out(static_cast<size_t>(seconds * kRate) * channels);
    const size_t piece = 480 * channels;
    for (size_t i = 0; i < out.size(); i += piece) {
        g.fill(std::span<int16_t>(out.data() + i, std::min(piece, out.size() - i)));
    }
    return out;
}

/// Milliseconds of each on (non-silent) and off stretch, 1 ms resolution.
std::vector<int> stretches(const std::vector<int16_t>& s) {
    std::vector<int> out;
    bool on = true;
    int run = 0;
    for (size_t ms = 0; ms * 48 < s.size(); ++ms) {
        bool loud = false;
        for (size_t i = ms * 48; i < (ms + 1) * 48 && i < s.size(); ++i) {
            loud = loud || std::abs(s[i]) > 100;
        }
        if (loud != on) {
            out.push_back(run);
            on = loud;
            run = 0;
        }
        ++run;
    }
    out.push_back(run);
    return out;
}

double amplitudeAt(const std::vector<int16_t>& s, size_t from, size_t n, double hz) {
    double re = 0, im = 0;
    for (size_t i = 0; i < n; ++i) {
        const double a = 2 * M_PI * hz * double(i) / kRate;
        re += s[from + i] * std::cos(a);
        im += s[from + i] * std::sin(a);
    }
    return 2 * std::sqrt(re * re + im * im) / double(n);
}

} // namespace

TEST(AToneGenerator, RingsInBurstsOfOneAndAHalfSecondsWithASecondBetween) {
    auto s = stretches(render(ToneKind::Ring, 5.2));
    ASSERT_GE(s.size(), 4u);
    EXPECT_NEAR(s[0], 1500, 2);
    EXPECT_NEAR(s[1], 1000, 2);
    EXPECT_NEAR(s[2], 1500, 2);
    EXPECT_NEAR(s[3], 1000, 2);
}

TEST(AToneGenerator, GivesRingbackOneSecondInFiveAndBusyHalfASecondInOne) {
    auto rb = stretches(render(ToneKind::Ringback, 6));
    ASSERT_GE(rb.size(), 3u);
    EXPECT_NEAR(rb[0], 1000, 2);
    EXPECT_NEAR(rb[1], 4000, 2);
    auto busy = stretches(render(ToneKind::Busy, 2.2));
    ASSERT_GE(busy.size(), 4u);
    EXPECT_NEAR(busy[0], 500, 2);
    EXPECT_NEAR(busy[1], 500, 2);
    EXPECT_NEAR(busy[2], 500, 2);
}

TEST(AToneGenerator, PlaysItsFrequenciesAtAModestLevelAndStaysInTune) {
    auto ring = render(ToneKind::Ring, 1.4);
    // Late in the first burst, after ~60000 phasor steps: still the same tone.
    EXPECT_NEAR(amplitudeAt(ring, 60000, 4800, 1000), 4096, 300);
    EXPECT_NEAR(amplitudeAt(ring, 60000, 4800, 1250), 4096, 300);
    EXPECT_LT(amplitudeAt(ring, 60000, 4800, 425), 100);
    auto rb = render(ToneKind::Ringback, 0.9);
    EXPECT_NEAR(amplitudeAt(rb, 36000, 4800, 425), 8192, 400);
    int peak = 0;
    for (int16_t v : ring) {
        peak = std::max(peak, std::abs(int(v)));
    }
    EXPECT_LE(peak, 8200);
}

TEST(AToneGenerator, WritesTheSameSignalOnBothChannels) {
    auto s = render(ToneKind::Busy, 0.1, 2);
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
        ASSERT_EQ(s[i], s[i + 1]) << "frame " << i / 2;
    }
}
