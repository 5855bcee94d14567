// SPDX-License-Identifier: MIT
// The webrtc-audio-processing (0.3) CaptureProcessor: AEC (extended filter,
// delay-agnostic), NS and digital AGC in one AudioProcessing instance.
#pragma once

#include "dsp/capture_processor.h"

namespace voice {

Result<std::unique_ptr<CaptureProcessor>>
makeWebrtcCaptureProcessor(const CaptureProcessorConfig& config);

} // namespace voice
