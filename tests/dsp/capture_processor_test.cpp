// SPDX-License-Identifier: MIT
// Capture processing over a simulated echo path: each backend cancels the
// echo of a speech-like far end, and "off" leaves the microphone untouched.
#include "dsp/capture_processor.h"

#include <cmath>
#include <gtest/gtest.h>
#include <random>
#include <vector>

using namespace voice;

namespace {

constexpr uint32_t kRate = 48000;
constexpr size_t kBlock = kRate / 100;

/// Speech-like far end: noise bursts with a 4 Hz syllable envelope and pauses.
std::vector<int16_t> farEnd(size_t n) {
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0.f, 1.f);
    std::vector<int16_t> out(n);
    float lp = 0;
    for (size_t i = 0; i < n; ++i) {
        lp += 0.3f * (g(rng) - lp);
        const float t = float(i) / kRate;
        const float env = std::max(0.f, std::sin(2 * float(M_PI) * 4.f * t)) *
                          (std::fmod(t, 3.f) < 2.2f ? 1.f : 0.f);
        out[i] = int16_t(std::clamp(8000.f * env * lp, -32000.f, 32000.f));
    }
    return out;
}

/// The echo: 30 ms later at half amplitude plus a weaker reflection 12 ms after.
std::vector<int16_t> echoOf(const std::vector<int16_t>& far) {
    const size_t d1 = kRate * 30 / 1000, d2 = d1 + kRate * 12 / 1000;
    std::vector<int16_t> out(far.size(), 0);
    for (size_t i = 0; i < far.size(); ++i) {
        float v = 0;
        if (i >= d1)
            v += 0.5f * far[i - d1];
        if (i >= d2)
            v += 0.15f * far[i - d2];
        out[i] = int16_t(v);
    }
    return out;
}

double energy(const std::vector<int16_t>& s, size_t from, size_t to) {
    double e = 0;
    for (size_t i = from; i < to; ++i)
        e += double(s[i]) * s[i];
    return e;
}

struct Outcome {
    double erleDb;     // measured on the signals, 1..4 s
    double reportedDb; // the processor's own estimate at the end
};

Outcome run(DspLibrary lib, bool echoCancel) {
    CaptureProcessorConfig c;
    c.rate = kRate;
    c.echoCancel = echoCancel;
    c.noiseSuppression = false;
    c.autoGain = false;
    auto p = makeCaptureProcessor(c, lib);
    EXPECT_TRUE(p.ok()) << p.status().toString();
    const size_t n = 4 * kRate;
    const auto far = farEnd(n);
    auto mic = echoOf(far);
    const auto in = mic;
    for (size_t at = 0; at + kBlock <= n; at += kBlock)
        (*p)->process(std::span<int16_t>(mic.data() + at, kBlock),
                      std::span<const int16_t>(far.data() + at, kBlock));
    return {10 * std::log10(energy(in, kRate, n) / (energy(mic, kRate, n) + 1)), (*p)->erleDb()};
}

} // namespace

TEST(ACaptureProcessor, WebrtcCancelsAnEchoWithinASecond) {
    const Outcome o = run(DspLibrary::Webrtc, true);
    EXPECT_GE(o.erleDb, 20.0);
    EXPECT_GE(o.reportedDb, 10.0);
}

TEST(ACaptureProcessor, SpeexAttenuatesAnEcho) {
    const Outcome o = run(DspLibrary::Speex, true);
    EXPECT_GE(o.erleDb, 6.0);
    EXPECT_GE(o.reportedDb, 3.0);
}

TEST(ACaptureProcessor, LeavesTheEchoWhenCancellationIsOff) {
    for (DspLibrary lib : {DspLibrary::Webrtc, DspLibrary::Speex}) {
        const Outcome o = run(lib, false);
        EXPECT_LT(std::abs(o.erleDb), 1.0) << dspLibraryName(lib);
        EXPECT_EQ(o.reportedDb, 0.0);
    }
}

/// Auto gain alone (webrtc) over `mic`; returns output over input level in
/// dB over the last 3 s.
double gainDb(std::vector<int16_t> mic) {
    CaptureProcessorConfig c;
    c.rate = kRate;
    c.echoCancel = false;
    c.noiseSuppression = false;
    c.autoGain = true;
    auto p = makeCaptureProcessor(c, DspLibrary::Webrtc);
    EXPECT_TRUE(p.ok()) << p.status().toString();
    const auto in = mic;
    for (size_t at = 0; at + kBlock <= mic.size(); at += kBlock)
        (*p)->process(std::span<int16_t>(mic.data() + at, kBlock), {});
    const size_t from = mic.size() - 3 * kRate;
    return 10 * std::log10((energy(mic, from, mic.size()) + 1) / (energy(in, from, in.size()) + 1));
}

/// A quiet voiced talker: harmonics of 120 Hz, syllables at 4 Hz, pauses.
std::vector<int16_t> quietVoice(size_t n) {
    std::vector<int16_t> out(n);
    for (size_t i = 0; i < n; ++i) {
        const float t = float(i) / kRate;
        float v = 0;
        for (int h = 1; h <= 20; ++h)
            v += std::sin(2 * float(M_PI) * 120.f * float(h) * t) / float(h);
        const float env = std::max(0.f, std::sin(2 * float(M_PI) * 4.f * t)) *
                          (std::fmod(t, 2.f) < 1.5f ? 1.f : 0.f);
        out[i] = int16_t(300.f * env * v);
    }
    return out;
}

TEST(ACaptureProcessor, WebrtcGainRaisesAQuietTalker) {
    EXPECT_GE(gainDb(quietVoice(6 * kRate)), 3.0);
}

TEST(ACaptureProcessor, WebrtcGainLeavesSteadyNoiseAlone) {
    // A fan at about -40 dBFS: no voice, so no gain (the AGC's compression
    // would lift it, and with it what noise suppression leaves of a room).
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.f, 330.f);
    std::vector<int16_t> fan(6 * kRate);
    for (auto& s : fan)
        s = int16_t(g(rng));
    EXPECT_NEAR(gainDb(std::move(fan)), 0.0, 0.5);
}

/// Brown noise (a fan's rumble) at about -31 dBFS.
std::vector<int16_t> brownNoise(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.f, 1.f);
    std::vector<int16_t> out(n);
    float v = 0;
    for (auto& s : out) {
        v = 0.998f * v + g(rng);
        s = int16_t(std::clamp(v * 50.f, -32000.f, 32000.f));
    }
    return out;
}

TEST(ACaptureProcessor, WebrtcSuppressesAFanThatStartsAfterSpeech) {
    // The defaults (noise suppression and auto gain on) over 5 s of a talker,
    // then 12 s of a fan, measured over its last 3 s. The suppressor's noise
    // estimate takes seconds to rise to a new noise: 7..9 dB in the fan's
    // 4th to 8th second, 17..18 dB from the 10th, without auto gain.
    CaptureProcessorConfig c;
    c.rate = kRate;
    auto p = makeCaptureProcessor(c, DspLibrary::Webrtc);
    ASSERT_TRUE(p.ok()) << p.status().toString();
    auto mic = quietVoice(5 * kRate);
    const auto fan = brownNoise(12 * kRate, 2);
    mic.insert(mic.end(), fan.begin(), fan.end());
    const auto in = mic;
    const std::vector<int16_t> silentFarEnd(kBlock, 0);
    for (size_t at = 0; at + kBlock <= mic.size(); at += kBlock)
        (*p)->process(std::span<int16_t>(mic.data() + at, kBlock), silentFarEnd);
    const size_t from = mic.size() - 3 * kRate;
    const double reducedDb =
        10 * std::log10((energy(in, from, in.size()) + 1) / (energy(mic, from, mic.size()) + 1));
    EXPECT_GE(reducedDb, 10.0);
}

TEST(ACaptureProcessor, RefusesARateTheLibrariesCannotRun) {
    CaptureProcessorConfig c;
    c.rate = 44101;
    EXPECT_EQ(makeCaptureProcessor(c).status().code(), Errc::InvalidArgument);
    c.rate = 96000;
    EXPECT_EQ(makeCaptureProcessor(c).status().code(), Errc::InvalidArgument);
}
