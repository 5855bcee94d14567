// SPDX-License-Identifier: MIT
// PcmDecoder: big-endian bytes to host-order S16, and the faded repeat.
#include "codec/pcm_decoder.h"

#include <algorithm>
#include <cassert>

namespace voice {

PcmDecoder::PcmDecoder(const CodecConfig& config)
    : frameSamples_(config.frameSamples()), sampleRate_(config.sampleRate),
      fadeSamples_(size_t{config.sampleRate} * kFadeMillis / 1000), last_(frameSamples_, 0) {
    assert(config.codec == CodecId::Pcm && config.validate().ok());
}

bool PcmDecoder::decode(std::span<const uint8_t> payload, std::span<int16_t> out) {
    if (payload.size() != 2 * frameSamples_ || out.size() < frameSamples_) {
        return false;
    }
    for (size_t i = 0; i < frameSamples_; ++i) {
        const auto u = static_cast<uint16_t>((payload[2 * i] << 8) | payload[2 * i + 1]);
        out[i] = static_cast<int16_t>(u);
    }
    std::copy_n(out.begin(), frameSamples_, last_.begin());
    concealedSamples_ = 0;
    return true;
}

void PcmDecoder::conceal(std::span<int16_t> out) {
    assert(out.size() >= frameSamples_);
    // Gain falls linearly per sample so consecutive concealed frames join
    // without steps; integer maths keeps it exact and cheap.
    for (size_t i = 0; i < frameSamples_; ++i) {
        const size_t pos = concealedSamples_ + i;
        if (pos >= fadeSamples_) {
            out[i] = 0;
            continue;
        }
        const auto remaining = static_cast<int64_t>(fadeSamples_ - pos);
        out[i] = static_cast<int16_t>(int64_t{last_[i]} * remaining /
                                      static_cast<int64_t>(fadeSamples_));
    }
    concealedSamples_ = std::min(concealedSamples_ + frameSamples_, fadeSamples_);
}

void PcmDecoder::reset() {
    std::fill(last_.begin(), last_.end(), int16_t{0});
    concealedSamples_ = 0;
}

} // namespace voice
