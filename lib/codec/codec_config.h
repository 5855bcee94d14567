// SPDX-License-Identifier: MIT
// CodecConfig: which codec a stream uses and with what parameters, checked in one place.
#pragma once

#include "core/result.h"
#include "core/status.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace voice {

/// The codecs a media packet can carry. The numeric values go on the wire
/// (the media header's codec field), so never renumber them.
enum class CodecId : uint8_t {
    Pcm = 0,  ///< raw S16, big-endian on the wire, at the device rate
    Opus = 1, ///< Opus, 48 kHz mono, OPUS_APPLICATION_VOIP (the default)
};

/// "pcm" or "opus".
std::string_view codecName(CodecId id);
/// Parses "pcm" or "opus" (lower case, as in voiced.conf).
Result<CodecId> parseCodecId(std::string_view name);
/// Maps a wire byte to a CodecId; InvalidArgument for unknown values.
Result<CodecId> codecIdFromWire(uint8_t value);

/// Largest payload any encoder produces. A media datagram must stay below
/// 1200 bytes and carries about 40 bytes of header and tag, so the codec gets
/// at most 1152; 10 ms of 48 kHz PCM is 960 bytes, 20 ms of Opus at the
/// highest allowed bitrate is 320 bytes.
inline constexpr size_t kMaxPayloadBytes = 1152;

/// Everything needed to build an encoder/decoder pair. Both ends of a call
/// must agree on codec, rate and frame duration (negotiated at call setup).
struct CodecConfig {
    CodecId codec = CodecId::Opus;
    /// Samples per second. Opus: 48000 only. PCM: 48000 or 44100 (the device rate).
    uint32_t sampleRate = 48000;
    /// Audio per packet. Opus: 10 or 20 ms. PCM: at most 10 ms, and a whole
    /// number of samples (2.5, 5 or 10 ms at 48 kHz; 10 ms at 44.1 kHz).
    std::chrono::microseconds frameDuration{20000};
    /// Opus only: target bitrate in bits per second, 6000..128000.
    uint32_t bitrate = 24000;
    /// Opus only: encoder complexity 0 (cheapest) .. 10 (best).
    int complexity = 5;
    /// Opus only: in-band forward error correction from the start, and the
    /// packet loss (0..100 %) the encoder should expect. Both can change at
    /// run time through Encoder::setFec().
    bool fec = false;
    int expectedLossPercent = 0;

    static constexpr uint32_t kMinOpusBitrate = 6000;
    static constexpr uint32_t kMaxOpusBitrate = 128000;
    static constexpr std::chrono::microseconds kMaxPcmFrame{10000};

    /// Samples (mono) in one frame; only meaningful for a valid config.
    size_t frameSamples() const {
        return static_cast<size_t>(uint64_t{sampleRate} *
                                   static_cast<uint64_t>(frameDuration.count()) / 1000000);
    }

    /// Ok, or InvalidArgument/Unsupported with a sentence saying which
    /// combination is wrong and what would be accepted.
    Status validate() const;
};

} // namespace voice
