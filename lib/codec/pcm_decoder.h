// SPDX-License-Identifier: MIT
// PcmDecoder: big-endian S16 payloads back to samples; concealment by faded repeat.
#pragma once

#include "codec/decoder.h"

#include <vector>

namespace voice {

/// Decodes the PcmEncoder format. conceal() repeats the last good frame with
/// a linear fade that reaches silence kFadeDuration after the first lost
/// sample, continuing across consecutive losses; the next good frame resets
/// the fade. No FEC. Threads: as Decoder. Allocates only in the constructor.
class PcmDecoder final : public Decoder {
public:
    static constexpr uint32_t kFadeMillis = 60;

    explicit PcmDecoder(const CodecConfig& config);

    CodecId codec() const override { return CodecId::Pcm; }
    size_t frameSamples() const override { return frameSamples_; }
    uint32_t sampleRate() const override { return sampleRate_; }

    bool decode(std::span<const uint8_t> payload, std::span<int16_t> out) override;
    void conceal(std::span<int16_t> out) override;
    bool hasFec(std::span<const uint8_t>) const override { return false; }
    bool decodeFec(std::span<const uint8_t>, std::span<int16_t>) override { return false; }
    void reset() override;

private:
    const size_t frameSamples_;
    const uint32_t sampleRate_;
    const size_t fadeSamples_;
    std::vector<int16_t> last_;   // the last good frame
    size_t concealedSamples_ = 0; // samples concealed since the last good frame
};

} // namespace voice
