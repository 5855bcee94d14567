// SPDX-License-Identifier: MIT
// OpusVoiceDecoder: libopus decoding with packet-loss concealment and in-band FEC.
#pragma once

#include "codec/decoder.h"
#include "core/result.h"

#include <memory>

struct OpusDecoder;

namespace voice {

/// Decodes 48 kHz mono Opus frames of the configured duration.
/// conceal() is libopus PLC (opus_decode with no data); decodeFec() is
/// opus_decode with decode_fec=1 on the following packet.
/// Threads: as Decoder (one owner thread, real-time safe).
class OpusVoiceDecoder final : public Decoder {
public:
    static Result<std::unique_ptr<OpusVoiceDecoder>> make(const CodecConfig& config);
    ~OpusVoiceDecoder() override;

    CodecId codec() const override { return CodecId::Opus; }
    size_t frameSamples() const override { return frameSamples_; }
    uint32_t sampleRate() const override { return 48000; }

    bool decode(std::span<const uint8_t> payload, std::span<int16_t> out) override;
    void conceal(std::span<int16_t> out) override;
    bool hasFec(std::span<const uint8_t> nextPayload) const override;
    bool decodeFec(std::span<const uint8_t> nextPayload, std::span<int16_t> out) override;
    void reset() override;

    /// True when an Opus packet carries LBRR (in-band FEC) data for the frame
    /// before it. Pure function of the bytes; any thread.
    static bool packetHasLbrr(std::span<const uint8_t> packet);

private:
    OpusVoiceDecoder(::OpusDecoder* state, size_t frameSamples);

    ::OpusDecoder* state_;
    const size_t frameSamples_;
};

} // namespace voice
