// SPDX-License-Identifier: MIT
// MediaHeader: big-endian layout, round trip and refusal of malformed headers.
#include "wire/media_header.h"

#include <array>
#include <gtest/gtest.h>

using namespace voice;

namespace {
MediaHeader sample() {
    MediaHeader h;
    h.kind = MediaKind::Audio;
    h.direction = MediaDirection::CalleeToCaller;
    h.fec = true;
    h.codec = 1;
    h.sessionId = 0x0102030405060708ULL;
    h.sequence = 0x1112131415161718ULL;
    h.timestampUs = 0x2122232425262728ULL;
    return h;
}
} // namespace

TEST(AMediaHeader, EncodesBigEndianFieldsAtTheirOffsets) {
    std::array<uint8_t, MediaHeader::kSize> bytes{};
    sample().encode(bytes);
    const std::array<uint8_t, MediaHeader::kSize> expected{
        1,    1,    3,    1,    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x11, 0x12,
        0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
    EXPECT_EQ(bytes, expected);
}

TEST(AMediaHeader, RoundTrips) {
    std::array<uint8_t, MediaHeader::kSize + 10> packet{};
    sample().encode(std::span<uint8_t, MediaHeader::kSize>(packet.data(), MediaHeader::kSize));
    auto decoded = MediaHeader::decode(packet);
    ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
    EXPECT_EQ(*decoded, sample());
}

TEST(AMediaHeader, RefusesMalformedHeaders) {
    std::array<uint8_t, MediaHeader::kSize> bytes{};
    sample().encode(bytes);
    EXPECT_FALSE(MediaHeader::decode(std::span(bytes).first(MediaHeader::kSize - 1)).ok());

    auto badVersion = bytes;
    badVersion[0] = 2;
    EXPECT_EQ(MediaHeader::decode(badVersion).status().code(), Errc::Protocol);

    auto badKind = bytes;
    badKind[1] = 9;
    EXPECT_FALSE(MediaHeader::decode(badKind).ok());

    auto reservedFlag = bytes;
    reservedFlag[2] |= 0x80;
    EXPECT_FALSE(MediaHeader::decode(reservedFlag).ok());
}
