// SPDX-License-Identifier: MIT
// What the AudioPipeline's files share: the recorder -> transmitter mark,
// the loops' timing constants and small helpers of its threads. Internal to
// lib/pipeline (audio_pipeline.cpp: set-up, start, stop, stats;
// audio_pipeline_send.cpp: recorder and transmitter;
// audio_pipeline_receive.cpp: receiver and player).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <pthread.h>

namespace voice {

/// Recorder -> transmitter: the ring position just after a captured period
/// and the time (us) that position was captured.
struct CaptureMark {
    uint64_t endPos = 0;
    uint64_t timeUs = 0;
};

namespace audio_pipeline_detail {

using namespace std::chrono_literals;

/// How long the non-real-time threads wait before looking at running_ again
/// (stop() wakes them at once; this only bounds a missed wake-up).
constexpr auto kPollInterval = 50ms;
/// Marks queued between recorder and transmitter: periods in flight.
constexpr size_t kMarkSlots = 256;
/// Playout alignment: shorten the stream when frames wait more than
/// kAlignAbove beyond the jitter buffer's target, down to kAlignTo. The gap
/// between them is the hysteresis that keeps a steady stream untouched.
constexpr std::chrono::nanoseconds kAlignAbove = 1ms;
constexpr std::chrono::nanoseconds kAlignTo = 250us;
/// Trims follow the smallest slack of the last few frames, so one frame that
/// looks early (a clock that wobbles, a sound server that moves audio in
/// bursts) never shortens the stream: only a surplus every frame shows. At
/// most one trim per window (2.5 ms per 8 frames at most).
constexpr size_t kAlignWindow = 8;
/// The silence before the first frame is cut to no less than this, so the
/// device never gets a stream of tiny writes.
constexpr std::chrono::nanoseconds kMinSilenceWrite = 1ms;

inline int64_t monotonicNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

/// Names the calling thread for top, perf and gdb (at most 15 characters).
inline void nameThread(const char* name) {
    pthread_setname_np(pthread_self(), name);
}

inline int64_t threadCpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline void bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

} // namespace audio_pipeline_detail
} // namespace voice
