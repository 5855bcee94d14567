// SPDX-License-Identifier: MIT
// AudioRing throughput: frames per second through write+read on one thread,
// and across a producer and a consumer thread.
//
//   build/bench/audio_ring_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include "core/audio_ring.h"

#include <atomic>
#include <benchmark/benchmark.h>
#include <thread>
#include <vector>

using namespace voice;

namespace {

// One thread writes a block and reads it back: the cost of the two copies
// and the index handshake without any contention.
void BM_RingSingleThread(benchmark::State& state) {
    const auto frames = static_cast<size_t>(state.range(0));
    AudioRing ring(4096, 1, OverflowPolicy::Refuse, UnderflowPolicy::Refuse);
    std::vector<int16_t> in(frames, 7);
    std::vector<int16_t> out(frames);
    for (auto _ : state) {
        benchmark::DoNotOptimize(ring.write(in));
        benchmark::DoNotOptimize(ring.read(out));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(frames));
    state.SetLabel("frames/s = items_per_second");
}
BENCHMARK(BM_RingSingleThread)->Arg(1)->Arg(240)->Arg(960);

// A producer thread writes blocks while the timed thread reads them: the
// real-time hand-over between recorder and transmitter.
void BM_RingTwoThreads(benchmark::State& state) {
    const auto frames = static_cast<size_t>(state.range(0));
    AudioRing ring(4096, 1, OverflowPolicy::Refuse, UnderflowPolicy::Refuse);
    std::atomic<bool> stop{false};
    std::thread producer([&] {
        std::vector<int16_t> in(frames, 3);
        while (!stop.load(std::memory_order_relaxed)) {
            if (ring.write(in) == 0) {
                std::this_thread::yield();
            }
        }
    });
    std::vector<int16_t> out(frames);
    int64_t moved = 0;
    for (auto _ : state) {
        while (ring.read(out) == 0) {
        }
        moved += static_cast<int64_t>(frames);
        benchmark::ClobberMemory();
    }
    stop.store(true);
    producer.join();
    state.SetItemsProcessed(moved);
    state.SetLabel("frames/s = items_per_second");
}
BENCHMARK(BM_RingTwoThreads)->Arg(1)->Arg(240)->Arg(960)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
