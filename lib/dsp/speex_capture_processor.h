// SPDX-License-Identifier: MIT
// The speexdsp CaptureProcessor: MDF echo canceller, then the preprocessor
// (residual echo suppression linked to the canceller, noise suppression, AGC).
#pragma once

#include "dsp/capture_processor.h"

namespace voice {

Result<std::unique_ptr<CaptureProcessor>>
makeSpeexCaptureProcessor(const CaptureProcessorConfig& config);

} // namespace voice
