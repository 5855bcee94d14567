// SPDX-License-Identifier: MIT
// Codec tests: config checks, PCM bit-exact round trip, Opus quality, PLC and FEC.
#include "codec/codec_factory.h"
#include "codec/opus_voice_decoder.h"
#include "codec/opus_voice_encoder.h"
#include "codec/pcm_decoder.h"
#include "codec/pcm_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <gtest/gtest.h>
#include <numbers>
#include <vector>

using namespace voice;
using namespace std::chrono_literals;

namespace {

CodecConfig opusConfig(std::chrono::microseconds frame = 20ms, bool fec = false) {
    CodecConfig c;
    c.codec = CodecId::Opus;
    c.frameDuration = frame;
    c.fec = fec;
    c.expectedLossPercent = fec ? 20 : 0;
    return c;
}

CodecConfig pcmConfig(uint32_t rate = 48000, std::chrono::microseconds frame = 10ms) {
    CodecConfig c;
    c.codec = CodecId::Pcm;
    c.sampleRate = rate;
    c.frameDuration = frame;
    return c;
}

// A voice-like test signal: a rising chirp (200 Hz -> 2 kHz over a second)
// with a second harmonic and a syllable-rate amplitude envelope.
std::vector<int16_t> chirp(size_t samples, double rate = 48000) {
    std::vector<int16_t> out(samples);
    const double f0 = 200, f1 = 2000, seconds = static_cast<double>(samples) / rate;
    for (size_t i = 0; i < samples; ++i) {
        const double t = static_cast<double>(i) / rate;
        const double phase = 2 * std::numbers::pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds));
        const double envelope = 0.6 + 0.4 * std::sin(2 * std::numbers::pi * 4 * t);
        out[i] =
            static_cast<int16_t>(9000 * envelope * (std::sin(phase) + 0.3 * std::sin(2 * phase)));
    }
    return out;
}

std::vector<int16_t> tone(size_t samples, double hz, double rate = 48000) {
    std::vector<int16_t> out(samples);
    for (size_t i = 0; i < samples; ++i) {
        out[i] = static_cast<int16_t>(
            10000 * std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / rate));
    }
    return out;
}

// Normalised cross-correlation of `decoded` delayed by `lag` against `input`,
// over [from, to) of the input.
double ncc(const std::vector<int16_t>& input, const std::vector<int16_t>& decoded, size_t lag,
           size_t from, size_t to) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = from; i < to && i + lag < decoded.size(); ++i) {
        const double x = input[i], y = decoded[i + lag];
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    return (xx == 0 || yy == 0) ? 0 : xy / std::sqrt(xx * yy);
}

// Best correlation over lags 0..maxLag (the codec delay is a few ms).
std::pair<double, size_t> bestNcc(const std::vector<int16_t>& input,
                                  const std::vector<int16_t>& decoded, size_t maxLag) {
    double best = -1;
    size_t bestLag = 0;
    const size_t from = 4800, to = input.size() - maxLag; // skip the first 100 ms
    for (size_t lag = 0; lag <= maxLag; ++lag) {
        const double c = ncc(input, decoded, lag, from, to);
        if (c > best) {
            best = c;
            bestLag = lag;
        }
    }
    return {best, bestLag};
}

std::vector<std::vector<uint8_t>> encodeAll(Encoder& encoder, const std::vector<int16_t>& pcm) {
    std::vector<std::vector<uint8_t>> packets;
    const size_t n = encoder.frameSamples();
    std::vector<uint8_t> buffer(kMaxPayloadBytes);
    for (size_t at = 0; at + n <= pcm.size(); at += n) {
        auto size = encoder.encode(std::span(pcm).subspan(at, n), buffer);
        EXPECT_TRUE(size.ok()) << size.status().toString();
        if (!size.ok()) {
            break;
        }
        packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(*size));
    }
    return packets;
}

double squaredError(std::span<const int16_t> a, std::span<const int16_t> b) {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        sum += d * d;
    }
    return sum;
}

} // namespace

TEST(ACodecConfig, AcceptsTheDefaults) {
    EXPECT_TRUE(CodecConfig{}.validate().ok());
    EXPECT_EQ(CodecConfig{}.codec, CodecId::Opus);
    EXPECT_EQ(CodecConfig{}.frameSamples(), 960u);
}

TEST(ACodecConfig, RejectsOpusAt44100Hz) {
    CodecConfig c = opusConfig();
    c.sampleRate = 44100;
    EXPECT_EQ(c.validate().code(), Errc::Unsupported);
    EXPECT_NE(c.validate().detail().find("48000"), std::string::npos);
}

TEST(ACodecConfig, RejectsOpusFramesOtherThan10Or20Ms) {
    EXPECT_EQ(opusConfig(5ms).validate().code(), Errc::InvalidArgument);
    EXPECT_EQ(opusConfig(40ms).validate().code(), Errc::InvalidArgument);
    EXPECT_TRUE(opusConfig(10ms).validate().ok());
}

TEST(ACodecConfig, RejectsOpusBitrateComplexityAndLossOutOfRange) {
    CodecConfig c = opusConfig();
    c.bitrate = 5000;
    EXPECT_EQ(c.validate().code(), Errc::InvalidArgument);
    c = opusConfig();
    c.bitrate = 200000;
    EXPECT_EQ(c.validate().code(), Errc::InvalidArgument);
    c = opusConfig();
    c.complexity = 11;
    EXPECT_EQ(c.validate().code(), Errc::InvalidArgument);
    c = opusConfig();
    c.expectedLossPercent = 101;
    EXPECT_EQ(c.validate().code(), Errc::InvalidArgument);
}

TEST(ACodecConfig, RejectsPcmFramesLongerThan10MsOrNotWholeSamples) {
    EXPECT_EQ(pcmConfig(48000, 20ms).validate().code(), Errc::InvalidArgument);
    EXPECT_EQ(pcmConfig(44100, 5ms).validate().code(), Errc::InvalidArgument); // 220.5 samples
    EXPECT_EQ(pcmConfig(32000, 10ms).validate().code(), Errc::Unsupported);
    EXPECT_TRUE(pcmConfig(44100, 10ms).validate().ok());
    EXPECT_TRUE(pcmConfig(48000, 2500us).validate().ok());
}

TEST(ACodecConfig, ParsesNamesAndWireIds) {
    EXPECT_EQ(*parseCodecId("opus"), CodecId::Opus);
    EXPECT_EQ(*parseCodecId("pcm"), CodecId::Pcm);
    EXPECT_EQ(parseCodecId("mp3").status().code(), Errc::InvalidArgument);
    EXPECT_EQ(*codecIdFromWire(0), CodecId::Pcm);
    EXPECT_EQ(*codecIdFromWire(1), CodecId::Opus);
    EXPECT_FALSE(codecIdFromWire(7).ok());
    EXPECT_EQ(codecName(CodecId::Opus), "opus");
}

TEST(ACodecFactory, BuildsTheNamedCodecOrExplainsWhyNot) {
    auto enc = makeEncoder(pcmConfig(44100));
    ASSERT_TRUE(enc.ok());
    EXPECT_EQ((*enc)->codec(), CodecId::Pcm);
    EXPECT_EQ((*enc)->frameSamples(), 441u);
    auto dec = makeDecoder(opusConfig(10ms));
    ASSERT_TRUE(dec.ok());
    EXPECT_EQ((*dec)->codec(), CodecId::Opus);
    EXPECT_EQ((*dec)->frameSamples(), 480u);
    EXPECT_FALSE(makeEncoder(opusConfig(30ms)).ok());
    EXPECT_FALSE(makeDecoder(pcmConfig(48000, 20ms)).ok());
}

TEST(APcmCodec, PutsSamplesOnTheWireBigEndian) {
    PcmEncoder encoder(pcmConfig(48000, 2500us));
    std::vector<int16_t> pcm(120, 0);
    pcm[0] = 0x1234;
    pcm[1] = -2; // 0xfffe
    std::vector<uint8_t> out(kMaxPayloadBytes);
    auto n = encoder.encode(pcm, out);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 240u);
    EXPECT_EQ(out[0], 0x12);
    EXPECT_EQ(out[1], 0x34);
    EXPECT_EQ(out[2], 0xff);
    EXPECT_EQ(out[3], 0xfe);
}

TEST(APcmCodec, RoundTripsBitExactAtBothDeviceRates) {
    for (uint32_t rate : {48000u, 44100u}) {
        auto config = pcmConfig(rate, 10ms);
        PcmEncoder encoder(config);
        PcmDecoder decoder(config);
        std::vector<int16_t> signal = chirp(rate, rate);
        signal[5] = INT16_MIN;
        signal[6] = INT16_MAX;
        const auto packets = encodeAll(encoder, signal);
        ASSERT_EQ(packets.size(), 100u);
        EXPECT_EQ(packets[0].size(), 2 * config.frameSamples());
        EXPECT_LE(packets[0].size(), 960u);
        std::vector<int16_t> out(config.frameSamples());
        for (size_t i = 0; i < packets.size(); ++i) {
            ASSERT_TRUE(decoder.decode(packets[i], out));
            ASSERT_TRUE(std::equal(out.begin(), out.end(),
                                   signal.begin() + static_cast<ptrdiff_t>(i * out.size())))
                << "frame " << i << " at " << rate;
        }
    }
}

TEST(APcmCodec, RejectsWrongSizesWithoutTouchingMemory) {
    auto config = pcmConfig();
    PcmEncoder encoder(config);
    PcmDecoder decoder(config);
    std::vector<int16_t> shortFrame(100);
    std::vector<uint8_t> out(kMaxPayloadBytes);
    EXPECT_EQ(encoder.encode(shortFrame, out).status().code(), Errc::InvalidArgument);
    std::vector<int16_t> frame(480);
    std::vector<uint8_t> small(10);
    EXPECT_FALSE(encoder.encode(frame, small).ok());
    std::vector<uint8_t> badPayload(959);
    EXPECT_FALSE(decoder.decode(badPayload, frame));
    EXPECT_FALSE(decoder.hasFec(out));
    EXPECT_FALSE(decoder.decodeFec(out, frame));
}

TEST(APcmCodec, ConcealsWithARepeatThatFadesToSilence) {
    auto config = pcmConfig(48000, 10ms);
    PcmEncoder encoder(config);
    PcmDecoder decoder(config);
    std::vector<int16_t> frame(480, 12000);
    std::vector<uint8_t> payload(kMaxPayloadBytes);
    auto n = encoder.encode(frame, payload);
    ASSERT_TRUE(n.ok());
    std::vector<int16_t> out(480);
    ASSERT_TRUE(decoder.decode(std::span(payload).first(*n), out));

    // 60 ms fade = 6 frames of 10 ms: strictly falling, then silence.
    int16_t previous = 12000;
    for (int i = 0; i < 6; ++i) {
        // The first concealed sample repeats at full gain.
        decoder.conceal(out);
        EXPECT_LE(out.front(), previous);
        EXPECT_LT(out.back(), out.front());
        previous = out.back();
    }
    EXPECT_EQ(out.back(), 12000 * 1 / 2880); // one sample before the end of the fade
    decoder.conceal(out);
    EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](int16_t s) { return s == 0; }));

    // A good frame ends the fade.
    ASSERT_TRUE(decoder.decode(std::span(payload).first(*n), out));
    decoder.conceal(out);
    EXPECT_EQ(out[0], 12000);
}

TEST(AnOpusCodec, ReproducesAChirpAndATone) {
    for (auto frame : {20ms, 10ms}) {
        auto config = opusConfig(std::chrono::duration_cast<std::chrono::microseconds>(frame));
        auto encoder = OpusVoiceEncoder::make(config);
        auto decoder = OpusVoiceDecoder::make(config);
        ASSERT_TRUE(encoder.ok() && decoder.ok());
        for (bool isChirp : {true, false}) {
            const auto signal = isChirp ? chirp(48000) : tone(48000, 440);
            (*decoder)->reset();
            const auto packets = encodeAll(**encoder, signal);
            std::vector<int16_t> decoded;
            std::vector<int16_t> out(config.frameSamples());
            for (const auto& p : packets) {
                EXPECT_LE(p.size(), kMaxPayloadBytes);
                ASSERT_TRUE((*decoder)->decode(p, out));
                decoded.insert(decoded.end(), out.begin(), out.end());
            }
            auto [correlation, lag] = bestNcc(signal, decoded, 960);
            EXPECT_GE(correlation, 0.9) << "lag " << lag << " frame " << frame.count();
            if (isChirp) { // a tone correlates at every period; a chirp only at the delay
                EXPECT_LT(lag, 480u) << "the codec delay is a few ms";
            }
        }
    }
}

TEST(AnOpusCodec, PutsFecIntoPacketsOnlyWhenAskedAtRunTime) {
    auto encoder = OpusVoiceEncoder::make(opusConfig());
    ASSERT_TRUE(encoder.ok());
    const auto signal = chirp(48000);
    auto packets =
        encodeAll(**encoder, std::vector<int16_t>(signal.begin(), signal.begin() + 24000));
    EXPECT_FALSE((*encoder)->fecApplied());
    EXPECT_EQ(std::count_if(packets.begin(), packets.end(),
                            [](auto& p) { return OpusVoiceDecoder::packetHasLbrr(p); }),
              0);

    (*encoder)->setFec(true, 15); // the peer reports loss
    packets = encodeAll(**encoder, std::vector<int16_t>(signal.begin() + 24000, signal.end()));
    EXPECT_TRUE((*encoder)->fecApplied());
    EXPECT_EQ((*encoder)->lossPercentApplied(), 15);
    // The first packet after switching has no previous frame to protect.
    const auto withFec = std::count_if(packets.begin() + 1, packets.end(),
                                       [](auto& p) { return OpusVoiceDecoder::packetHasLbrr(p); });
    EXPECT_EQ(withFec, static_cast<ptrdiff_t>(packets.size() - 1));
}

TEST(AnOpusCodec, RecoversALostFrameFromFecBetterThanPlc) {
    auto config = opusConfig(20ms, true);
    auto encoder = OpusVoiceEncoder::make(config);
    ASSERT_TRUE(encoder.ok());
    const auto signal = chirp(96000);
    const auto packets = encodeAll(**encoder, signal);
    const size_t n = config.frameSamples();

    // Decode everything (reference), then the same stream with single
    // frames lost, once rebuilt by FEC and once by PLC; compare the lost
    // frames with the reference.
    auto decodeWithLoss = [&](bool useFec, const std::vector<size_t>& lost) {
        auto decoder = OpusVoiceDecoder::make(config);
        EXPECT_TRUE(decoder.ok());
        std::vector<int16_t> all;
        std::vector<int16_t> out(n);
        for (size_t i = 0; i < packets.size(); ++i) {
            if (std::find(lost.begin(), lost.end(), i) != lost.end()) {
                if (useFec) {
                    EXPECT_TRUE((*decoder)->hasFec(packets[i + 1]));
                    EXPECT_TRUE((*decoder)->decodeFec(packets[i + 1], out));
                } else {
                    (*decoder)->conceal(out);
                }
            } else {
                EXPECT_TRUE((*decoder)->decode(packets[i], out));
            }
            all.insert(all.end(), out.begin(), out.end());
        }
        return all;
    };
    const std::vector<size_t> lost = {10, 23, 37, 51, 64, 78, 90};
    const auto reference = decodeWithLoss(false, {});
    const auto fec = decodeWithLoss(true, lost);
    const auto plc = decodeWithLoss(false, lost);
    double fecError = 0, plcError = 0;
    for (size_t frame : lost) {
        const auto at = std::span(reference).subspan(frame * n, n);
        fecError += squaredError(std::span(fec).subspan(frame * n, n), at);
        plcError += squaredError(std::span(plc).subspan(frame * n, n), at);
    }
    EXPECT_LT(fecError, 0.5 * plcError) << "fec " << fecError << " plc " << plcError;
}

TEST(AnOpusCodec, ConcealsAndRejectsGarbageWithoutCrashing) {
    auto config = opusConfig();
    auto decoder = OpusVoiceDecoder::make(config);
    ASSERT_TRUE(decoder.ok());
    std::vector<int16_t> out(960);
    (*decoder)->conceal(out); // PLC before any packet is fine
    std::vector<uint8_t> empty;
    EXPECT_FALSE((*decoder)->decode(empty, out));
    // A TOC byte announcing a 60 ms packet does not fit a 20 ms frame.
    std::vector<uint8_t> long60 = {0x18 | 0x03, 0x03, 0, 0, 0};
    EXPECT_FALSE((*decoder)->decode(long60, out));
    std::vector<uint8_t> junk(2000, 0xff);
    EXPECT_FALSE((*decoder)->decode(junk, out));
    EXPECT_FALSE((*decoder)->hasFec(junk));
    EXPECT_FALSE((*decoder)->decodeFec(empty, out));
}
