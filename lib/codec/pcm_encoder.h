// SPDX-License-Identifier: MIT
// PcmEncoder: raw S16 mono samples, big-endian on the wire.
#pragma once

#include "codec/encoder.h"

namespace voice {

/// Payload = frameSamples() samples as signed 16-bit big-endian integers
/// (2 bytes each, no header), at the device rate (48 or 44.1 kHz).
/// Threads: as Encoder. Never allocates.
class PcmEncoder final : public Encoder {
public:
    /// `config` must be a valid PCM config (see CodecConfig::validate()).
    explicit PcmEncoder(const CodecConfig& config);

    CodecId codec() const override { return CodecId::Pcm; }
    size_t frameSamples() const override { return frameSamples_; }
    uint32_t sampleRate() const override { return sampleRate_; }

    Result<size_t> encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override;
    void setFec(bool, int) override {}
    void setBitrate(uint32_t) override {}

private:
    const size_t frameSamples_;
    const uint32_t sampleRate_;
};

} // namespace voice
