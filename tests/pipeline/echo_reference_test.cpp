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
void pushBlock(EchoReference& ref, uint64_t k, int64_t offsetNs, bool timed = true) {
    std::vector<int16_t> b(kBlock);
    for (size_t i = 0; i < kBlock; ++i)
        b[i] = static_cast<int16_t>((k * kBlock + i) % 32768);
    ref.push(b, static_cast<int64_t>(k) * kBlockNs + offsetNs, timed);
}

int16_t firstSample(EchoReference& ref, int64_t captureNs, EchoReference::Fetch* how = nullptr) {
    std::vector<int16_t> b(kBlock);
    const auto r = ref.fetch(captureNs, b);
    if (how)
        *how = r;
    return b[0];
}

/// The first 200 ms played, on time: returns the next block's number.
uint64_t prefill(EchoReference& ref) {
    for (uint64_t k = 0; k < 20; ++k)
        pushBlock(ref, k, 0);
    return 20;
}

/// Calls from..to-1: the player pushes block `pushed` (then the next) at
/// offsetNs, the microphone's block of call i is captured at 60 + 10 i ms.
/// Returns the last reference block's first sample.
int16_t playAndCapture(EchoReference& ref, uint64_t& pushed, int from, int to, int64_t offsetNs,
                       bool timed = true) {
    int16_t last = 0;
    for (int i = from; i < to; ++i) {
        pushBlock(ref, pushed++, offsetNs, timed);
        last = firstSample(ref, (60 + 10 * i) * 1'000'000LL);
    }
    return last;
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
    uint64_t pushed = prefill(ref);
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
    uint64_t pushed = prefill(ref);
    (void)playAndCapture(ref, pushed, 0, 50, 0);
    // The device was reopened: from now on the same samples play 40 ms later.
    const int16_t last = playAndCapture(ref, pushed, 50, 250, 40'000'000);
    EXPECT_EQ(ref.realigns(), 1u);
    EXPECT_NEAR(ref.lastRealignUs(), -40'000, 500); // held back by the 40 ms
    // Captured at (60 + 2490) ms, minus the 10 ms lead: what plays at 2540 ms
    // now that blocks play 40 ms later is block 250.
    EXPECT_EQ(last, static_cast<int16_t>(250 * 480 % 32768));
}

TEST(AnEchoReference, TakesTheSoundServersFirstRealLatencyForSettlingNotAMove) {
    // A PulseAudio stream on a null sink that has just resumed: for a while
    // it plays what it gets at once (its delay below what was just written:
    // untimed marks, dated at the write), then it reports its real latency,
    // here 45 ms. The reference read on from the start is what the canceller
    // converged on; the new figures must not move it (no restart).
    EchoReference ref(kRate, kRate / 2);
    uint64_t pushed = 0;
    int16_t expect = 0;
    for (int i = 0; i < 300; ++i, ++pushed) {
        std::vector<int16_t> b(kBlock);
        for (size_t j = 0; j < kBlock; ++j)
            b[j] = static_cast<int16_t>((pushed * kBlock + j) % 32768);
        const bool settled = i >= 100;
        ref.push(b, static_cast<int64_t>(pushed) * kBlockNs + (settled ? 45'000'000 : 0), settled);
        const int16_t got = firstSample(ref, static_cast<int64_t>(pushed) * kBlockNs + kBlockNs);
        if (i == 0)
            expect = got;
        EXPECT_EQ(got, expect) << i; // read on without a skip or a hold
        expect = static_cast<int16_t>((expect + 480) % 32768);
    }
    EXPECT_EQ(ref.realigns(), 0u);
}

TEST(AnEchoReference, StillFollowsADelayChangeAfterTheFiguresSettled) {
    EchoReference ref(kRate, kRate / 2);
    uint64_t pushed = prefill(ref);
    // Untimed first, then timed figures 45 ms later, which settle.
    (void)playAndCapture(ref, pushed, 0, 50, 0, false);
    (void)playAndCapture(ref, pushed, 50, 200, 45'000'000);
    EXPECT_EQ(ref.realigns(), 0u);
    // The device is reopened: the same samples play 40 ms later still.
    (void)playAndCapture(ref, pushed, 200, 400, 85'000'000);
    EXPECT_EQ(ref.realigns(), 1u);
    EXPECT_NEAR(ref.lastRealignUs(), -40'000, 500);
}

TEST(AnEchoReference, GivesZerosBeforeAnythingWasPlayed) {
    EchoReference ref(kRate, kRate / 2);
    EchoReference::Fetch how{};
    std::vector<int16_t> b(kBlock, 7);
    how = ref.fetch(1'000'000'000, b);
    EXPECT_EQ(how, EchoReference::Fetch::Missing);
    EXPECT_EQ(b[0], 0);
}

TEST(AnEchoReference, TakesNoPauseOfThePlayerForAMoveWhileTheFiguresSettle) {
    // The CI's ASan pipewire_call_test: "echo canceller restarted: its
    // far-end reference moved by 21230.6 ms". A sound server's untimed
    // figures (its delay below what was written), then the player pushes
    // nothing for 6 s (a device that takes no audio, a player held up),
    // then it plays on. The figures ran on from the last mark; when they
    // settled (kSettleLimitNs), the pause so far (4 s) was taken for a move.
    EchoReference ref(kRate, kRate / 2);
    uint64_t pushed = 0;
    int64_t nowNs = 0;
    const auto tick = [&](bool play) {
        if (play) {
            const uint64_t k = pushed++;
            pushBlock(ref, k, nowNs - static_cast<int64_t>(k) * kBlockNs, false);
        }
        (void)firstSample(ref, nowNs + kBlockNs);
        nowNs += kBlockNs;
    };
    for (int i = 0; i < 100; ++i)
        tick(true);
    for (int i = 0; i < 600; ++i)
        tick(false);
    for (int i = 0; i < 300; ++i)
        tick(true);
    EXPECT_EQ(ref.realigns(), 0u);
    EXPECT_EQ(ref.lastRealignUs(), 0);
    // It reads on: the block pushed just now at the time the capture wants.
    std::vector<int16_t> b(kBlock);
    pushBlock(ref, pushed, nowNs - static_cast<int64_t>(pushed) * kBlockNs, false);
    EXPECT_EQ(ref.fetch(nowNs + kBlockNs, b), EchoReference::Fetch::Aligned);
    EXPECT_EQ(b[0], static_cast<int16_t>(pushed * kBlock % 32768));
}

TEST(AnEchoReference, TakesNoCaptureTimeOffBySecondsForAMove) {
    // A capture time 21 s early or late (a stale or uninitialized stamp):
    // nothing the device's buffer could do. Not a move, nor a 21 s hold.
    EchoReference ref(kRate, kRate / 2);
    uint64_t pushed = prefill(ref);
    (void)playAndCapture(ref, pushed, 0, 100, 0);
    ASSERT_EQ(ref.realigns(), 0u);
    for (const int64_t off : {21'230'000'000LL, -21'230'000'000LL}) {
        pushBlock(ref, pushed++, 0);
        std::vector<int16_t> b(kBlock);
        (void)ref.fetch((60 + 10 * 100) * 1'000'000LL + off, b);
        EXPECT_EQ(ref.realigns(), 0u) << off;
    }
    // and it reads on where it was, without a hold
    const int16_t last = playAndCapture(ref, pushed, 102, 200, 0);
    EXPECT_EQ(ref.realigns(), 0u);
    EXPECT_NE(last, 0);
}
