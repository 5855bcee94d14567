// SPDX-License-Identifier: MIT
#include "dsp/capture_processor.h"

#include "dsp/speex_capture_processor.h"
#include "dsp/webrtc_capture_processor.h"

#include <cmath>

namespace voice {

void CaptureProcessor::noteEchoBlock(double nearPower, double outPower, double farPower) {
    // Only blocks with far-end activity say anything about the echo; a
    // silent far end leaves the estimate where it was.
    constexpr double kFarActive = 1e-6; // about -60 dBFS
    if (farPower < kFarActive)
        return;
    constexpr double kSmoothing = 0.05; // about 20 blocks = 200 ms
    inAvg_ += kSmoothing * (nearPower - inAvg_);
    outAvg_ += kSmoothing * (outPower - outAvg_);
    const double erle = 10.0 * std::log10((inAvg_ + 1e-12) / (outAvg_ + 1e-12));
    erleCentiDb_.store(static_cast<int>(std::lround(erle * 100.0)), std::memory_order_relaxed);
}

bool dspLibraryAvailable(DspLibrary library) {
    switch (library) {
    case DspLibrary::Speex:
        return true;
    case DspLibrary::Webrtc:
        return true;
    }
    return false;
}

std::string_view dspLibraryName(DspLibrary library) {
    return library == DspLibrary::Speex ? "speexdsp" : "webrtc-audio-processing";
}

Result<std::unique_ptr<CaptureProcessor>> makeCaptureProcessor(const CaptureProcessorConfig& config,
                                                               DspLibrary library) {
    if (config.rate < 8000 || config.rate > 48000 || config.rate % 100 != 0)
        return Status(Errc::InvalidArgument, "capture processing needs a rate of 8000..48000 Hz");
    if (config.echoTailMs < 10 || config.echoTailMs > 1000)
        return Status(Errc::InvalidArgument, "echo tail must be 10..1000 ms");
    switch (library) {
    case DspLibrary::Speex:
        return makeSpeexCaptureProcessor(config);
    case DspLibrary::Webrtc:
        return makeWebrtcCaptureProcessor(config);
    }
    return Status(Errc::Unsupported, "this build has no " + std::string(dspLibraryName(library)));
}

} // namespace voice
