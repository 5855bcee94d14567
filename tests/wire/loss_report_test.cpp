// SPDX-License-Identifier: MIT
// LossReport: layout, round trip, refusal of malformed reports, and the Feedback media kind.
#include "wire/loss_report.h"
#include "wire/media_header.h"

#include <array>
#include <gtest/gtest.h>

using namespace voice;

TEST(ALossReport, EncodesBigEndianFieldsAtTheirOffsets) {
    LossReport r;
    r.lossFraction = 26; // about 10 %
    r.intervalMs = 500;
    r.jitterUs = 0x00020304;
    r.highestSequence = 0x00000000a1b2c3d4ULL;
    std::array<uint8_t, LossReport::kSize> bytes{};
    r.encode(bytes);
    const std::array<uint8_t, LossReport::kSize> expected{
        26, 0, 0x01, 0xf4, 0x00, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0xa1, 0xb2, 0xc3, 0xd4};
    EXPECT_EQ(bytes, expected);
    auto back = LossReport::decode(bytes);
    ASSERT_TRUE(back.ok()) << back.status().toString();
    EXPECT_EQ(*back, r);
    EXPECT_NEAR(back->lossPercent(), 10.16, 0.01);
}

TEST(ALossReport, ComputesTheFractionLostLikeRfc3550) {
    EXPECT_EQ(LossReport::fractionOf(0, 0), 0);
    EXPECT_EQ(LossReport::fractionOf(0, 25), 0);
    EXPECT_EQ(LossReport::fractionOf(1, 4), 64);
    EXPECT_EQ(LossReport::fractionOf(25, 25), 255) << "clamped to what fits";
    EXPECT_EQ(LossReport::fractionOf(30, 25), 255) << "never more than all";
}

TEST(ALossReport, RefusesShortInputReservedBitsAndFieldsOutOfRange) {
    LossReport r;
    std::array<uint8_t, LossReport::kSize> good{};
    r.encode(good);
    ASSERT_TRUE(LossReport::decode(good).ok());
    EXPECT_FALSE(LossReport::decode(std::span(good).first(15)).ok());
    auto bad = good;
    bad[1] = 1;
    EXPECT_FALSE(LossReport::decode(bad).ok()) << "reserved byte";
    bad = good;
    bad[2] = bad[3] = 0;
    EXPECT_FALSE(LossReport::decode(bad).ok()) << "zero interval";
    bad = good;
    bad[2] = 0xff;
    EXPECT_FALSE(LossReport::decode(bad).ok()) << "interval over a minute";
    bad = good;
    bad[4] = 0xff;
    EXPECT_FALSE(LossReport::decode(bad).ok()) << "jitter over 10 s";
    bad = good;
    bad[11] = 1;
    EXPECT_FALSE(LossReport::decode(bad).ok()) << "sequence past 2^32";
}

TEST(AMediaHeaderOfKindFeedback, RoundTrips) {
    MediaHeader h;
    h.kind = MediaKind::Feedback;
    std::array<uint8_t, MediaHeader::kSize> bytes{};
    h.encode(bytes);
    EXPECT_EQ(bytes[1], 3);
    auto back = MediaHeader::decode(bytes);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->kind, MediaKind::Feedback);
    EXPECT_TRUE(carriesAudio(MediaKind::Feedback));
    EXPECT_TRUE(carriesAudio(MediaKind::Audio));
    EXPECT_FALSE(carriesAudio(MediaKind::Probe));
    bytes[1] = 4;
    EXPECT_FALSE(MediaHeader::decode(bytes).ok());
}
