// SPDX-License-Identifier: MIT
// WAV files for a ring tone: RIFF/WAVE, 16-bit PCM, mono or stereo, read defensively.
#pragma once

#include "core/result.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace voice {

/// The largest WAV file read (about 40 s of 48 kHz mono).
inline constexpr size_t kMaxWavBytes = 4 * 1024 * 1024;

/// Parses a WAV file's bytes: 16-bit PCM (format 1), 1 or 2 channels, at
/// `rate` Hz. Returns the samples as mono (stereo is averaged). Anything else
/// (another format, rate or depth, a truncated or inconsistent file, no
/// samples) is an InvalidArgument with a one-line reason. Never reads out of
/// bounds, whatever the chunk sizes claim.
Result<std::vector<int16_t>> parseWav(std::span<const uint8_t> bytes, uint32_t rate);

/// Reads and parses path (at most kMaxWavBytes); errors name the file.
Result<std::vector<int16_t>> loadWav(const std::string& path, uint32_t rate);

} // namespace voice
