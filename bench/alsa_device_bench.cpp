// SPDX-License-Identifier: MIT
// Cost of one period through CaptureDevice::read / PlaybackDevice::write over
// alsa-lib's unpaced `null` PCM, next to the bare snd_pcm_readi/writei loop:
// the overhead the device layer (recovery checks, delay query) adds per period.
//
//   build/bench/alsa_device_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include "audio/capture_device.h"
#include "audio/playback_device.h"

#include <alsa/asoundlib.h>
#include <benchmark/benchmark.h>
#include <vector>

using namespace voice;

namespace {

PcmConfig nullConfig(size_t period) {
    PcmConfig c;
    c.device = "null";
    c.periodFrames = static_cast<uint32_t>(period);
    return c;
}

void BM_CaptureDeviceRead(benchmark::State& state) {
    const auto period = static_cast<size_t>(state.range(0));
    CaptureDevice dev(nullConfig(period));
    if (!dev.open().ok()) {
        state.SkipWithError("cannot open the null PCM");
        return;
    }
    std::vector<int16_t> buf(period);
    for (auto _ : state) {
        benchmark::DoNotOptimize(dev.read(buf));
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(period));
    state.counters["xruns"] = static_cast<double>(dev.xruns());
}
BENCHMARK(BM_CaptureDeviceRead)->Arg(240)->Arg(960);

void BM_PlaybackDeviceWrite(benchmark::State& state) {
    const auto period = static_cast<size_t>(state.range(0));
    PlaybackDevice dev(nullConfig(period));
    if (!dev.open().ok()) {
        state.SkipWithError("cannot open the null PCM");
        return;
    }
    std::vector<int16_t> buf(period, 100);
    for (auto _ : state) {
        benchmark::DoNotOptimize(dev.write(buf));
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(period));
}
BENCHMARK(BM_PlaybackDeviceWrite)->Arg(240)->Arg(960);

// The baseline: the bare alsa-lib calls on the same PCM, blocking mode.
void BM_BareSndPcmReadi(benchmark::State& state) {
    const auto period = static_cast<snd_pcm_uframes_t>(state.range(0));
    snd_pcm_t* pcm = nullptr;
    if (snd_pcm_open(&pcm, "null", SND_PCM_STREAM_CAPTURE, 0) < 0 ||
        snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 1, 48000, 0,
                           20000) < 0) {
        state.SkipWithError("cannot open the null PCM");
        return;
    }
    std::vector<int16_t> buf(period);
    for (auto _ : state) {
        benchmark::DoNotOptimize(snd_pcm_readi(pcm, buf.data(), period));
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(period));
    snd_pcm_close(pcm);
}
BENCHMARK(BM_BareSndPcmReadi)->Arg(240)->Arg(960);

} // namespace

BENCHMARK_MAIN();
