// SPDX-License-Identifier: MIT
// Resampler: speexdsp's resampler behind a small real-time-safe interface,
// for a sound device whose rate differs from the codec's (a 44.1 kHz-only
// device with Opus, which codes 48 kHz).
//
// Threads: make() on the control thread allocates everything; process() runs
// on one audio thread and neither locks, allocates nor logs.
#pragma once

#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct SpeexResamplerState_;

namespace voice {

class Resampler {
public:
    /// Mono S16 from inRate to outRate (8000..192000 Hz each), for blocks of
    /// at most maxIn samples. InvalidArgument for rates or sizes out of range.
    static Result<std::unique_ptr<Resampler>> make(uint32_t inRate, uint32_t outRate, size_t maxIn);
    ~Resampler();
    Resampler(const Resampler&) = delete;
    Resampler& operator=(const Resampler&) = delete;

    /// Most samples process() writes for maxIn samples in.
    size_t maxOut() const { return maxOut_; }
    size_t maxIn() const { return maxIn_; }
    /// Resamples all of `in` (at most maxIn samples) into `out` (at least
    /// maxOut() samples); returns the samples written. The output runs
    /// behind the input by delay(). Real-time safe.
    size_t process(std::span<const int16_t> in, std::span<int16_t> out);
    /// The filter's delay, in ns: what the resampler adds to the latency.
    int64_t delayNs() const { return delayNs_; }

    uint32_t inRate() const { return inRate_; }
    uint32_t outRate() const { return outRate_; }

private:
    Resampler(SpeexResamplerState_* state, uint32_t inRate, uint32_t outRate, size_t maxIn);

    SpeexResamplerState_* state_;
    uint32_t inRate_, outRate_;
    size_t maxIn_, maxOut_;
    int64_t delayNs_ = 0;
};

} // namespace voice
