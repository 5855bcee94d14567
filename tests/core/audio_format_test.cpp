// SPDX-License-Identifier: MIT
// AudioFormat arithmetic at 44.1 kHz and 48 kHz.
#include "core/audio_format.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace voice;

TEST(AnAudioFormat, DefaultsTo48kMono) {
    AudioFormat f;
    EXPECT_EQ(f.rate(), 48000u);
    EXPECT_EQ(f.channels(), 1u);
    EXPECT_EQ(f.bytesPerFrame(), 2u);
}

TEST(AnAudioFormat, RefusesUnsupportedRatesAndChannels) {
    EXPECT_FALSE(AudioFormat::make(8000, 1).ok());
    EXPECT_FALSE(AudioFormat::make(96000, 1).ok());
    EXPECT_FALSE(AudioFormat::make(48000, 0).ok());
    EXPECT_FALSE(AudioFormat::make(48000, 3).ok());
    EXPECT_EQ(AudioFormat::make(44100, 5).status().code(), Errc::InvalidArgument);
    EXPECT_TRUE(AudioFormat::make(44100, 2).ok());
}

TEST(AnAudioFormat, ConvertsFramesAndBytes) {
    auto stereo = AudioFormat::make(44100, 2);
    ASSERT_TRUE(stereo.ok());
    EXPECT_EQ(stereo->bytesPerFrame(), 4u);
    EXPECT_EQ(stereo->framesToBytes(441), 1764u);
    EXPECT_EQ(stereo->bytesToFrames(1764), 441u);
    EXPECT_EQ(stereo->bytesToFrames(1767), 441u);
    EXPECT_TRUE(stereo->isWholeFrames(1764));
    EXPECT_FALSE(stereo->isWholeFrames(1766));
    EXPECT_EQ(stereo->samplesForFrames(10), 20u);
}

TEST(AnAudioFormat, ConvertsFramesAndDurationsAt48k) {
    AudioFormat f;
    EXPECT_EQ(f.durationToFrames(20ms), 960u);
    EXPECT_EQ(f.durationToFrames(5ms), 240u);
    EXPECT_EQ(f.framesToDuration(960), 20ms);
    EXPECT_EQ(f.framesToDuration(48000 * 3600ULL), 3600s);
    EXPECT_TRUE(f.isWholeFrameDuration(5ms));
}

TEST(AnAudioFormat, ConvertsFramesAndDurationsAt44k1) {
    auto f = AudioFormat::make(44100, 1);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->durationToFrames(10ms), 441u);
    EXPECT_EQ(f->framesToDuration(441), 10ms);
    // 5 ms is 220.5 frames: rounded down, and flagged as not whole.
    EXPECT_EQ(f->durationToFrames(5ms), 220u);
    EXPECT_FALSE(f->isWholeFrameDuration(5ms));
    EXPECT_TRUE(f->isWholeFrameDuration(10ms));
    // One frame is 22675.73 ns, rounded down.
    EXPECT_EQ(f->framesToDuration(1), 22675ns);
    // A day of frames does not drift.
    EXPECT_EQ(f->framesToDuration(44100ULL * 86400), 86400s);
    EXPECT_EQ(f->durationToFrames(86400s), 44100ULL * 86400);
}

TEST(AnAudioFormat, TreatsNegativeDurationsAsEmpty) {
    AudioFormat f;
    EXPECT_EQ(f.durationToFrames(-5ms), 0u);
    EXPECT_FALSE(f.isWholeFrameDuration(-5ms));
}
