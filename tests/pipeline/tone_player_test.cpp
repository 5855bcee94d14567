// SPDX-License-Identifier: MIT
// TonePlayer on real alsa-lib's `null` PCM, which takes audio as fast as it
// is written: the tone keeps to the clock (at most a buffer ahead), so its
// real-time thread never spins. Before, two ringing daemons on a two-core
// machine wrote unpaced at SCHED_FIFO and stalled every normal thread.
#include "pipeline/tone_player.h"

#include <chrono>
#include <gtest/gtest.h>
#include <thread>

using namespace voice;
using namespace std::chrono_literals;

namespace {

PcmConfig unpacedDevice() {
    PcmConfig pcm;
    pcm.device = "null";
    return pcm;
}

} // namespace

TEST(ATonePlayer, KeepsToTheClockOnADeviceThatNeverBlocks) {
    const auto start = std::chrono::steady_clock::now();
    auto player = TonePlayer::start(unpacedDevice(), ToneKind::Ring, 0ms);
    std::this_thread::sleep_for(1s);
    const uint64_t written = player->framesWritten();
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    player->stop();
    const uint32_t rate = PcmConfig{}.format.rate();
    // One buffer (4 periods) ahead of the clock, and the period in flight.
    const double bound = elapsed * rate + 5.0 * rate * TonePlayer::kPeriodMs / 1000;
    EXPECT_GT(written, 0u) << "the tone did not play";
    EXPECT_LE(static_cast<double>(written), bound)
        << "wrote " << written << " frames in " << elapsed << " s";
}

TEST(ATonePlayer, PlaysAToneOfGivenLengthInRealTime) {
    const auto start = std::chrono::steady_clock::now();
    auto player = TonePlayer::start(unpacedDevice(), ToneKind::Busy, 500ms);
    while (!player->finished() && std::chrono::steady_clock::now() - start < 10s) {
        std::this_thread::sleep_for(5ms);
    }
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(player->finished());
    const uint32_t rate = PcmConfig{}.format.rate();
    EXPECT_GE(player->framesWritten(), uint64_t{rate} / 2);
    // The last buffer is written ahead of the clock: the tone's 500 ms less
    // its 40 ms buffer is the least it can take (a loaded machine only adds).
    EXPECT_GE(took, 500ms - 4 * std::chrono::milliseconds(TonePlayer::kPeriodMs));
}
