// SPDX-License-Identifier: MIT
// PcmEncoder: host-order S16 to big-endian bytes.
#include "codec/pcm_encoder.h"

#include <cassert>
#include <string>

namespace voice {

PcmEncoder::PcmEncoder(const CodecConfig& config)
    : frameSamples_(config.frameSamples()), sampleRate_(config.sampleRate) {
    assert(config.codec == CodecId::Pcm && config.validate().ok());
}

Result<size_t> PcmEncoder::encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
    if (pcm.size() != frameSamples_) {
        return Result<size_t>(Errc::InvalidArgument,
                              "pcm encode needs " + std::to_string(frameSamples_) +
                                  " samples, got " + std::to_string(pcm.size()));
    }
    const size_t bytes = 2 * frameSamples_;
    if (out.size() < bytes) {
        return Result<size_t>(Errc::InvalidArgument, "pcm payload buffer too small");
    }
    for (size_t i = 0; i < frameSamples_; ++i) {
        const auto u = static_cast<uint16_t>(pcm[i]);
        out[2 * i] = static_cast<uint8_t>(u >> 8);
        out[2 * i + 1] = static_cast<uint8_t>(u & 0xff);
    }
    return bytes;
}

} // namespace voice
