// SPDX-License-Identifier: MIT
// Helpers for the pipeline tests: keys, ciphers, test signals and waiting for conditions.
#pragma once

#include "crypto/media_cipher.h"
#include "pipeline/audio_pipeline.h"

#include <chrono>
#include <cmath>
#include <dirent.h>
#include <functional>
#include <gtest/gtest.h>
#include <numbers>
#include <thread>
#include <vector>

namespace voice::testing {

/// Keys for one direction, distinct per direction and fixed (tests only).
inline DirectionKeys keysFor(MediaDirection direction) {
    const auto tag =
        static_cast<uint8_t>(direction == MediaDirection::CallerToCallee ? 0x11 : 0x22);
    std::vector<uint8_t> key(DirectionKeys::kKeySize, tag),
        aux(DirectionKeys::kAuxSize, tag ^ 0xff);
    return {SecureBytes(std::span<const uint8_t>(key)), SecureBytes(std::span<const uint8_t>(aux))};
}

inline std::unique_ptr<MediaSealer> sealerFor(MediaDirection direction,
                                              CipherSuite suite = kDefaultCipherSuite) {
    auto s = makeMediaSealer(suite, direction, keysFor(direction));
    EXPECT_TRUE(s.ok()) << s.status().toString();
    return s.ok() ? std::move(*s) : nullptr;
}

inline std::unique_ptr<MediaOpener> openerFor(MediaDirection direction,
                                              CipherSuite suite = kDefaultCipherSuite) {
    auto o = makeMediaOpener(suite, direction, keysFor(direction));
    EXPECT_TRUE(o.ok()) << o.status().toString();
    return o.ok() ? std::move(*o) : nullptr;
}

inline MediaDirection other(MediaDirection d) {
    return d == MediaDirection::CallerToCallee ? MediaDirection::CalleeToCaller
                                               : MediaDirection::CallerToCallee;
}

/// A linear chirp from f0 to f1 over `seconds`, repeated `repeats` times:
/// its autocorrelation has one sharp peak per repeat, so alignment of output
/// to input is unambiguous (a pure tone's is not).
inline std::vector<int16_t> chirp(uint32_t rate, double seconds, int amplitude = 12000,
                                  double f0 = 200, double f1 = 4000) {
    const size_t n = static_cast<size_t>(rate * seconds);
    std::vector<int16_t> v(n);
    for (size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / rate;
        const double phase = 2 * std::numbers::pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds));
        v[i] = static_cast<int16_t>(std::lround(amplitude * std::sin(phase)));
    }
    return v;
}

/// Polls `condition` every 10 ms until it holds or `limit` passes.
inline bool waitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

/// Threads of this process in /proc/self/task now.
inline size_t tasksNow() {
    size_t n = 0;
    if (DIR* d = opendir("/proc/self/task")) {
        while (dirent* e = readdir(d)) {
            n += e->d_name[0] != '.';
        }
        closedir(d);
    }
    return n;
}

/// Threads of this process, once the count holds still. Runtimes start helper
/// threads lazily (ThreadSanitizer's on the first thread created), so it first
/// creates and joins one thread. A joined thread can still be listed in
/// /proc/self/task for a moment (join returns when the kernel clears its tid,
/// before the task is gone), so the count is read until three reads 5 ms
/// apart agree, for at most a second.
inline size_t threadCount() {
    static const bool warmedUp = [] {
        std::thread([] {}).join();
        return true;
    }();
    (void)warmedUp;
    size_t n = tasksNow();
    int same = 0;
    for (int i = 0; i < 200 && same < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        const size_t again = tasksNow();
        same = again == n ? same + 1 : 0;
        n = again;
    }
    return n;
}

} // namespace voice::testing
