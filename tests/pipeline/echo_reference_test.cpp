// SPDX-License-Identifier: MIT
// EchoReference: the far-end block handed to the canceller is the one that
// was played when the microphone block was captured.
#include "pipeline/echo_reference.h"

#include <gtest/gtest.h>
#include <vector>

using namespace voice;

namespace {

constexpr uint32_t kRate = 48000;
constexpr size_t kBlock = 480; // 10 ms
constexpr int64_t kBlockNs = 10'000'000;

/// Player side: block k holds the sample numbers k*480.. (mod 32768) and
/// plays at k * 10 ms + offsetNs.
void pushBlock(EchoReference& ref, uint64_t k, int64_t offsetNs) {
    std::vector<int16_t> b(kBlock);
    for (size_t i = 0; i < kBlock; ++i)
        b[i] = static_cast<int16_t>((k * kBlock + i) % 32768);
    ref.push(b, static_cast<int64_t>(k) * kBlockNs + offsetNs);
}

int16_t firstSample(EchoReference& ref, int64_t captureNs, EchoReference::Fetch* how = nullptr) {
    std::vector<int16_t> b(kBlock);
    const auto r = ref.fetch(captureNs, b);
    if (how)
        *how = r;
    return b[0];
}

} // namespace

TEST(AnEchoReference, GivesTheBlockPlayedWhenTheMicrophoneBlockWasCaptured) {
    EchoReference ref(kRate, kRate / 2);
    for (uint64_t k = 0; k < 10; ++k)
        pushBlock(ref, k, 0);
    // Captured at 60 ms: the reference starts kLeadNs (10 ms) earlier, at block 5.
    EchoReference::Fetch how{};
    EXPECT_EQ(firstSample(ref, 60'000'000, &how), 5 * 480);
    EXPECT_EQ(how, EchoReference::Fetch::Realigned); // the first fetch aligns
    EXPECT_EQ(firstSample(ref, 70'000'000, &how), 6 * 480);
    EXPECT_EQ(how, EchoReference::Fetch::Aligned);
    EXPECT_EQ(ref.realigns(), 0u);
}

TEST(AnEchoReference, ReadsOnThroughTimingJitterWithoutSkipping) {
    EchoReference ref(kRate, kRate / 2);
    uint64_t pushed = 0;
    for (; pushed < 20; ++pushed)
        pushBlock(ref, pushed, 0);
    int16_t expect = 5 * 480;
    for (int i = 0; i < 200; ++i) {
        pushBlock(ref, pushed++, 0);
        // Capture times wobble by +-6 ms (a sound server's period-sized steps).
        const int64_t wobble = i == 0 ? 0 : (i % 2 ? 6'000'000 : -6'000'000);
        EXPECT_EQ(firstSample(ref, (60 + 10 * i) * 1'000'000LL + wobble), expect) << i;
        expect = static_cast<int16_t>((expect + 480) % 32768);
    }
    EXPECT_EQ(ref.realigns(), 0u);
}

TEST(AnEchoReference, FollowsALastingDelayChangeOnce) {
    EchoReference ref(kRate, kRate / 2);
    uint64_t pushed = 0;
    for (; pushed < 20; ++pushed)
        pushBlock(ref, pushed, 0);
    for (int i = 0; i < 50; ++i) {
        pushBlock(ref, pushed++, 0);
        (void)firstSample(ref, (60 + 10 * i) * 1'000'000LL);
    }
    // The device was reopened: from now on the same samples play 40 ms later.
    int16_t last = 0;
    for (int i = 50; i < 250; ++i) {
        pushBlock(ref, pushed++, 40'000'000);
        last = firstSample(ref, (60 + 10 * i) * 1'000'000LL);
    }
    EXPECT_EQ(ref.realigns(), 1u);
    EXPECT_NEAR(ref.lastRealignUs(), -40'000, 500); // held back by the 40 ms
    // Captured at (60 + 2490) ms, minus the 10 ms lead: what plays at 2540 ms
    // now that blocks play 40 ms later is block 250.
    EXPECT_EQ(last, static_cast<int16_t>(250 * 480 % 32768));
}

TEST(AnEchoReference, GivesZerosBeforeAnythingWasPlayed) {
    EchoReference ref(kRate, kRate / 2);
    EchoReference::Fetch how{};
    std::vector<int16_t> b(kBlock, 7);
    how = ref.fetch(1'000'000'000, b);
    EXPECT_EQ(how, EchoReference::Fetch::Missing);
    EXPECT_EQ(b[0], 0);
}
