// SPDX-License-Identifier: MIT
// Tests of the WAV reader for ring_file: what it takes, what it refuses.
#include "audio/wav_file.h"

#include <cstring>
#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace voice;

namespace {

void put16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(v & 0xff);
    b.push_back(v >> 8);
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
    put16(b, v & 0xffff);
    put16(b, v >> 16);
}
void tag(std::vector<uint8_t>& b, const char* t) {
    for (int i = 0; i < 4; ++i) {
        b.push_back(static_cast<uint8_t>(t[i]));
    }
}

/// A WAV file: format, channels, rate, bits, then the samples; an optional
/// chunk before "fmt ".
std::vector<uint8_t> wav(const std::vector<int16_t>& samples, uint16_t channels = 1,
                         uint32_t rate = 48000, uint16_t format = 1, uint16_t bits = 16,
                         bool extraChunk = false) {
    std::vector<uint8_t> b;
    tag(b, "RIFF");
    put32(b, 0); // size: not checked
    tag(b, "WAVE");
    if (extraChunk) {
        tag(b, "LIST");
        put32(b, 3);
        tag(b, "abc"); // odd size 3, padded to 4
    }
    tag(b, "fmt ");
    put32(b, 16);
    put16(b, format);
    put16(b, channels);
    put32(b, rate);
    put32(b, rate * channels * 2);
    put16(b, static_cast<uint16_t>(channels * 2));
    put16(b, bits);
    tag(b, "data");
    put32(b, static_cast<uint32_t>(samples.size() * 2));
    for (int16_t s : samples) {
        put16(b, static_cast<uint16_t>(s));
    }
    return b;
}

} // namespace

TEST(AWavReader, ReadsMonoSixteenBitPcm) {
    auto r = parseWav(wav({1, -2, 32767, -32768}), 48000);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    EXPECT_EQ(*r, (std::vector<int16_t>{1, -2, 32767, -32768}));
}

TEST(AWavReader, AveragesStereoAndSkipsOtherChunks) {
    auto r = parseWav(wav({100, 300, -10, -30}, 2, 48000, 1, 16, true), 48000);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    EXPECT_EQ(*r, (std::vector<int16_t>{200, -20}));
}

TEST(AWavReader, RefusesWhatItCannotPlayWithAReason) {
    auto reason = [](const std::vector<uint8_t>& b) {
        auto r = parseWav(b, 48000);
        return r.ok() ? std::string("ok") : r.status().detail();
    };
    EXPECT_NE(reason(wav({1, 2}, 1, 44100)).find("44100 Hz"), std::string::npos);
    EXPECT_NE(reason(wav({1, 2}, 1, 48000, 3)).find("16-bit PCM"), std::string::npos);
    EXPECT_NE(reason(wav({1, 2}, 1, 48000, 1, 24)).find("16-bit PCM"), std::string::npos);
    EXPECT_NE(reason(wav({1, 2}, 6)).find("mono or stereo"), std::string::npos);
    EXPECT_NE(reason(wav({})).find("no samples"), std::string::npos);
    std::vector<uint8_t> riff;
    tag(riff, "RIFF");
    EXPECT_NE(reason(riff).find("not a WAV"), std::string::npos);
    std::vector<uint8_t> cut = wav({1, 2, 3, 4});
    cut.resize(cut.size() - 3);
    EXPECT_NE(reason(cut).find("truncated"), std::string::npos);
    std::vector<uint8_t> huge = wav({1, 2});
    std::memset(huge.data() + 40, 0xff, 4); // the data chunk claims 4 GiB
    EXPECT_NE(reason(huge).find("truncated"), std::string::npos);
}
