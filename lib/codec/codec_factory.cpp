// SPDX-License-Identifier: MIT
// Codec factory: one switch over CodecId for each direction.
#include "codec/codec_factory.h"

#include "codec/opus_voice_decoder.h"
#include "codec/opus_voice_encoder.h"
#include "codec/pcm_decoder.h"
#include "codec/pcm_encoder.h"

namespace voice {

Result<std::unique_ptr<Encoder>> makeEncoder(const CodecConfig& config) {
    if (Status s = config.validate(); !s) {
        return s;
    }
    if (config.codec == CodecId::Pcm) {
        return std::unique_ptr<Encoder>(std::make_unique<PcmEncoder>(config));
    }
    auto opus = OpusVoiceEncoder::make(config);
    if (!opus) {
        return opus.status();
    }
    return std::unique_ptr<Encoder>(std::move(*opus));
}

Result<std::unique_ptr<Decoder>> makeDecoder(const CodecConfig& config) {
    if (Status s = config.validate(); !s) {
        return s;
    }
    if (config.codec == CodecId::Pcm) {
        return std::unique_ptr<Decoder>(std::make_unique<PcmDecoder>(config));
    }
    auto opus = OpusVoiceDecoder::make(config);
    if (!opus) {
        return opus.status();
    }
    return std::unique_ptr<Decoder>(std::move(*opus));
}

} // namespace voice
