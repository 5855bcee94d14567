// SPDX-License-Identifier: MIT
// CaptureProcessor: echo cancellation, noise suppression and gain control on
// the capture path, one 10 ms block at a time, behind one small interface so
// the DSP libraries (speexdsp, webrtc-audio-processing) can be swapped and
// benched side by side (bench/echo_bench.cpp).
//
// Threads: make() on the control thread allocates everything; process() and
// the getters run on one audio thread (the recorder) and never lock,
// allocate or log. erleDb() may be read from any thread.
#pragma once

#include "core/result.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace voice {

struct CaptureProcessorConfig {
    uint32_t rate = 48000; ///< 8000..48000; blocks are rate / 100 samples
    bool echoCancel = true;
    bool noiseSuppression = true;
    bool autoGain = true;
    /// Longest echo path the canceller models (room reverberation plus any
    /// misalignment of the reference), in ms.
    int echoTailMs = 120;
};

enum class DspLibrary { Speex, Webrtc };

class CaptureProcessor {
public:
    virtual ~CaptureProcessor() = default;

    /// Samples per block (10 ms at the configured rate).
    virtual size_t blockSamples() const = 0;

    /// Recorder thread. Processes one block of microphone samples in place.
    /// `far` is the block of what the speaker played at the moment `near`
    /// was captured (the caller aligns it by the devices' delays; the echo
    /// then lags it by the acoustic path only). Lock-free, no allocation.
    virtual void process(std::span<int16_t> near, std::span<const int16_t> far) = 0;

    /// Forget the echo path (the devices were reopened and the delay changed).
    /// Recorder thread.
    virtual void resetEcho() = 0;

    virtual std::string_view name() const = 0;
    const CaptureProcessorConfig& config() const { return config_; }

    /// The echo canceller's attenuation now, in dB (10 log10 of the power
    /// going into the canceller over the power coming out, smoothed over
    /// the blocks where the far end was active). Any thread.
    double erleDb() const { return erleCentiDb_.load(std::memory_order_relaxed) / 100.0; }

protected:
    explicit CaptureProcessor(const CaptureProcessorConfig& config) : config_(config) {}
    /// Called by the implementations after echo cancellation of a block with
    /// the power before, after, and of the far reference.
    void noteEchoBlock(double nearPower, double outPower, double farPower);

    CaptureProcessorConfig config_;

private:
    double inAvg_ = 0, outAvg_ = 0;
    std::atomic<int> erleCentiDb_{0};
};

/// Whether this build has the library.
bool dspLibraryAvailable(DspLibrary library);
std::string_view dspLibraryName(DspLibrary library);

/// Control thread. InvalidArgument for a rate the library cannot run,
/// Unsupported when this build lacks the library.
/// webrtc is the default: in bench/echo_bench it reached 37 dB ERLE within
/// 2 s and re-converged after a delay change where speexdsp's MDF had 15 dB
/// and 10 dB (see bench/README or the commit message for the table).
Result<std::unique_ptr<CaptureProcessor>>
makeCaptureProcessor(const CaptureProcessorConfig& config, DspLibrary library = DspLibrary::Webrtc);

} // namespace voice
