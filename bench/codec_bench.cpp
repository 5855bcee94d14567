// SPDX-License-Identifier: MIT
// Per-stream codec CPU: encode + decode of one 20 ms frame, as a share of one core.
//
//   build/bench/codec_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
//
// core_% = thread CPU time per frame / frame duration * 100: the share of one
// core a single call direction (one encoder and one decoder) keeps busy.
#include "codec/jitter_buffer.h"
#include "codec/opus_voice_decoder.h"
#include "codec/opus_voice_encoder.h"
#include "codec/pcm_decoder.h"
#include "codec/pcm_encoder.h"

#include <benchmark/benchmark.h>
#include <cmath>
#include <ctime>
#include <numbers>
#include <vector>

using namespace voice;
using namespace std::chrono_literals;

namespace {

int64_t threadCpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// 10 s of a voice-like signal: a gliding fundamental with harmonics and a
// syllable-rate envelope, plus a little noise, so the encoder does real work.
std::vector<int16_t> voiceLike(size_t samples) {
    std::vector<int16_t> out(samples);
    uint32_t noise = 12345;
    double phase = 0;
    for (size_t i = 0; i < samples; ++i) {
        const double t = static_cast<double>(i) / 48000;
        phase +=
            2 * std::numbers::pi * (140 + 60 * std::sin(2 * std::numbers::pi * 0.7 * t)) / 48000;
        const double envelope = std::max(0.0, std::sin(2 * std::numbers::pi * 3 * t));
        noise = noise * 1664525 + 1013904223;
        const double n = (static_cast<double>(noise >> 16) / 65536.0 - 0.5) * 600;
        double v = 0;
        for (int h = 1; h <= 8; ++h) {
            v += std::sin(h * phase) / h;
        }
        out[i] = static_cast<int16_t>(6000 * envelope * v + n);
    }
    return out;
}

void reportCoreShare(benchmark::State& state, int64_t cpuNs, int64_t frameNs) {
    const double perFrame = static_cast<double>(cpuNs) / static_cast<double>(state.iterations());
    state.counters["core_%"] = perFrame / static_cast<double>(frameNs) * 100.0;
    state.counters["cpu_us/frame"] = perFrame / 1000.0;
}

// args: complexity, frame ms, fec (0/1)
void BM_OpusEncodeDecode(benchmark::State& state) {
    CodecConfig config;
    config.complexity = static_cast<int>(state.range(0));
    config.frameDuration = std::chrono::milliseconds(state.range(1));
    config.fec = state.range(2) != 0;
    config.expectedLossPercent = config.fec ? 10 : 0;
    auto encoder = OpusVoiceEncoder::make(config);
    auto decoder = OpusVoiceDecoder::make(config);
    if (!encoder.ok() || !decoder.ok()) {
        state.SkipWithError("cannot create opus");
        return;
    }
    const size_t n = config.frameSamples();
    const auto signal = voiceLike(48000 * 10);
    std::vector<uint8_t> payload(kMaxPayloadBytes);
    std::vector<int16_t> out(n);
    size_t at = 0;
    size_t bytes = 0;
    const int64_t start = threadCpuNs();
    for (auto _ : state) {
        auto size = (*encoder)->encode(std::span(signal).subspan(at, n), payload);
        bytes += *size;
        benchmark::DoNotOptimize((*decoder)->decode(std::span(payload).first(*size), out));
        at = at + 2 * n <= signal.size() ? at + n : 0;
    }
    reportCoreShare(state, threadCpuNs() - start, static_cast<int64_t>(n) * 1'000'000'000 / 48000);
    state.counters["bytes/frame"] =
        static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_OpusEncodeDecode)
    ->ArgNames({"complexity", "frame_ms", "fec"})
    ->Args({5, 20, 1})
    ->Args({10, 20, 1})
    ->Args({5, 20, 0})
    ->Args({5, 10, 1});

void BM_PcmEncodeDecode(benchmark::State& state) {
    CodecConfig config;
    config.codec = CodecId::Pcm;
    config.frameDuration = 10ms;
    PcmEncoder encoder(config);
    PcmDecoder decoder(config);
    const auto signal = voiceLike(480 * 100);
    std::vector<uint8_t> payload(kMaxPayloadBytes);
    std::vector<int16_t> out(480);
    size_t at = 0;
    const int64_t start = threadCpuNs();
    for (auto _ : state) {
        auto size = encoder.encode(std::span(signal).subspan(at, 480), payload);
        benchmark::DoNotOptimize(decoder.decode(std::span(payload).first(*size), out));
        at = at + 960 <= signal.size() ? at + 480 : 0;
    }
    reportCoreShare(state, threadCpuNs() - start, 10'000'000);
}
BENCHMARK(BM_PcmEncodeDecode);

// The receive side as the pipeline runs it: push one Opus packet into the
// jitter buffer and pull (decode) one frame, with FEC and 5 % loss.
void BM_JitterBufferOpusPushPull(benchmark::State& state) {
    CodecConfig config;
    config.fec = true;
    config.expectedLossPercent = 5;
    auto encoder = OpusVoiceEncoder::make(config);
    auto decoder = OpusVoiceDecoder::make(config);
    auto jb = JitterBuffer::make(**decoder);
    if (!encoder.ok() || !decoder.ok() || !jb.ok()) {
        state.SkipWithError("setup failed");
        return;
    }
    const auto signal = voiceLike(48000 * 2);
    std::vector<std::vector<uint8_t>> packets;
    std::vector<uint8_t> payload(kMaxPayloadBytes);
    for (size_t at = 0; at + 960 <= signal.size(); at += 960) {
        auto size = (*encoder)->encode(std::span(signal).subspan(at, 960), payload);
        packets.emplace_back(payload.begin(), payload.begin() + static_cast<ptrdiff_t>(*size));
    }
    std::vector<int16_t> out(960);
    uint32_t seq = 0;
    const int64_t start = threadCpuNs();
    for (auto _ : state) {
        const int64_t sent = int64_t{seq} * 20'000'000;
        if (seq % 20 != 7) { // 5 % loss
            (*jb)->push(seq, seq * 960, std::chrono::nanoseconds(sent + 5'000'000),
                        packets[seq % packets.size()]);
        }
        benchmark::DoNotOptimize((*jb)->pull(std::chrono::nanoseconds(sent + 27'000'000), out));
        ++seq;
    }
    reportCoreShare(state, threadCpuNs() - start, 20'000'000);
}
BENCHMARK(BM_JitterBufferOpusPushPull);

} // namespace

BENCHMARK_MAIN();
