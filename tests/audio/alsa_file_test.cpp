// SPDX-License-Identifier: MIT
// Capture and playback through real alsa-lib on `file` PCMs over the unpaced
// `null` PCM: the exact samples of an input file come out of read(), and the
// exact samples given to write() land in the output file.
#include "audio/alsa_pcm.h"
#include "audio/capture_device.h"
#include "audio/playback_device.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <string>
#include <vector>

using namespace voice;
namespace fs = std::filesystem;

namespace {

// Distinct, full-scale values so any shift, drop or duplication shows.
std::vector<int16_t> noise(size_t n, uint32_t seed) {
    std::vector<int16_t> v(n);
    for (auto& s : v) {
        seed = seed * 1664525u + 1013904223u;
        s = static_cast<int16_t>(seed >> 16);
    }
    return v;
}

void writeRaw(const fs::path& path, const std::vector<int16_t>& samples) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(samples.data()),
            static_cast<std::streamsize>(samples.size() * sizeof(int16_t)));
}

std::vector<int16_t> readRaw(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<int16_t> samples(bytes.size() / sizeof(int16_t));
    std::memcpy(samples.data(), bytes.data(), samples.size() * sizeof(int16_t));
    return samples;
}

class AlsaFileDevices : public ::testing::TestWithParam<uint32_t> {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/voice-alsa-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
        rate_ = GetParam();
        auto format = AudioFormat::make(rate_, 1);
        ASSERT_TRUE(format.ok());
        config_.format = *format;
        signal_ = noise(rate_ / 2 + 123, rate_); // half a second and a partial period
        writeRaw(dir_ / "in.raw", signal_);
        alsaConfig_ = "pcm.voice_in { type file slave.pcm \"null\" file \"/dev/null\" infile \"" +
                      (dir_ / "in.raw").string() +
                      "\" format \"raw\" }\n"
                      "pcm.voice_out { type file slave.pcm \"null\" file \"" +
                      (dir_ / "out.raw").string() + "\" format \"raw\" }\n";
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    uint32_t rate_ = 48000;
    PcmConfig config_;
    std::vector<int16_t> signal_;
    std::string alsaConfig_;
};

TEST_P(AlsaFileDevices, CaptureReadsExactlyTheInputFileSamples) {
    config_.device = "voice_in";
    CaptureDevice capture(config_, {}, std::make_unique<AlsaPcmOpener>(alsaConfig_));
    ASSERT_TRUE(capture.open().ok());
    EXPECT_EQ(capture.params().format.rate(), rate_);
    EXPECT_EQ(capture.params().periodFrames, config_.effectivePeriodFrames());
    EXPECT_EQ(capture.params().bufferFrames, 4 * config_.effectivePeriodFrames());

    const size_t period = capture.params().periodFrames;
    std::vector<int16_t> got;
    std::vector<int16_t> buf(period);
    while (got.size() < signal_.size()) {
        ASSERT_EQ(capture.read(buf), period) << "every frame comes from the device";
        got.insert(got.end(), buf.begin(), buf.end());
    }
    got.resize(signal_.size());
    EXPECT_EQ(got, signal_);
    EXPECT_EQ(capture.stats().xruns, 0u);
    EXPECT_EQ(capture.stats().losses, 0u);
    EXPECT_TRUE(capture.connected());
}

TEST_P(AlsaFileDevices, PlaybackWritesExactlyTheGivenSamplesToTheFile) {
    config_.device = "voice_out";
    {
        PlaybackDevice playback(config_, {}, std::make_unique<AlsaPcmOpener>(alsaConfig_));
        ASSERT_TRUE(playback.open().ok());
        EXPECT_EQ(playback.params().format.rate(), rate_);
        const size_t period = playback.params().periodFrames;
        for (size_t i = 0; i < signal_.size(); i += period) {
            const size_t n = std::min(period, signal_.size() - i);
            ASSERT_EQ(playback.write(std::span<const int16_t>(signal_.data() + i, n)), n);
        }
        EXPECT_EQ(playback.stats().losses, 0u);
        playback.close(); // flushes the file plugin
    }
    EXPECT_EQ(readRaw(dir_ / "out.raw"), signal_);
}

TEST_P(AlsaFileDevices, OpeningAMissingDeviceFailsWithAClearError) {
    config_.device = "voice_no_such_pcm";
    CaptureDevice capture(config_, {}, std::make_unique<AlsaPcmOpener>(alsaConfig_));
    Status s = capture.open();
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.detail().find("voice_no_such_pcm"), std::string::npos) << s.toString();
}

INSTANTIATE_TEST_SUITE_P(Rates, AlsaFileDevices, ::testing::Values(48000u, 44100u),
                         [](const auto& p) { return std::to_string(p.param); });

} // namespace
