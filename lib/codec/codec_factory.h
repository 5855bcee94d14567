// SPDX-License-Identifier: MIT
// Codec factory: builds the encoder or decoder a CodecConfig names.
#pragma once

#include "codec/codec_config.h"
#include "codec/decoder.h"
#include "codec/encoder.h"
#include "core/result.h"

#include <memory>

namespace voice {

/// Validates `config` (CodecConfig::validate()) and builds its encoder.
/// Call from a normal thread (allocates); hand the result to the transmitter.
Result<std::unique_ptr<Encoder>> makeEncoder(const CodecConfig& config);

/// Validates `config` and builds its decoder. Call from a normal thread;
/// hand the result to the JitterBuffer / player.
Result<std::unique_ptr<Decoder>> makeDecoder(const CodecConfig& config);

} // namespace voice
