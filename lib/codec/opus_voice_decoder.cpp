// SPDX-License-Identifier: MIT
// OpusVoiceDecoder: the libopus calls behind the Decoder interface.
#include "codec/opus_voice_decoder.h"

#include <algorithm>
#include <cassert>
#include <opus/opus.h>
#include <string>

namespace voice {

Result<std::unique_ptr<OpusVoiceDecoder>> OpusVoiceDecoder::make(const CodecConfig& config) {
    if (config.codec != CodecId::Opus) {
        return Status(Errc::InvalidArgument, "OpusVoiceDecoder needs an opus config");
    }
    if (Status s = config.validate(); !s) {
        return s;
    }
    int err = OPUS_OK;
    ::OpusDecoder* state = opus_decoder_create(48000, 1, &err);
    if (err != OPUS_OK || state == nullptr) {
        return Status(Errc::Unsupported,
                      std::string("opus_decoder_create failed: ") + opus_strerror(err));
    }
    return std::unique_ptr<OpusVoiceDecoder>(new OpusVoiceDecoder(state, config.frameSamples()));
}

OpusVoiceDecoder::OpusVoiceDecoder(::OpusDecoder* state, size_t frameSamples)
    : state_(state), frameSamples_(frameSamples) {}

OpusVoiceDecoder::~OpusVoiceDecoder() {
    opus_decoder_destroy(state_);
}

bool OpusVoiceDecoder::decode(std::span<const uint8_t> payload, std::span<int16_t> out) {
    if (payload.empty() || payload.size() > kMaxPayloadBytes || out.size() < frameSamples_) {
        return false;
    }
    // A packet holding more audio than one frame (a misbehaving peer) fails
    // here with OPUS_BUFFER_TOO_SMALL instead of overrunning `out`.
    const int n = opus_decode(state_, payload.data(), static_cast<opus_int32>(payload.size()),
                              out.data(), static_cast<int>(frameSamples_), 0);
    return n == static_cast<int>(frameSamples_);
}

void OpusVoiceDecoder::conceal(std::span<int16_t> out) {
    assert(out.size() >= frameSamples_);
    const int n = opus_decode(state_, nullptr, 0, out.data(), static_cast<int>(frameSamples_), 0);
    if (n != static_cast<int>(frameSamples_)) {
        std::fill_n(out.begin(), frameSamples_, int16_t{0});
    }
}

bool OpusVoiceDecoder::packetHasLbrr(std::span<const uint8_t> packet) {
    if (packet.empty() || packet.size() > kMaxPayloadBytes) {
        return false;
    }
    // Same logic as opus_packet_has_lbrr() from libopus 1.5 (we build against
    // 1.3): CELT-only packets have no LBRR; otherwise the first SILK frame
    // starts with one VAD bit per 20 ms SILK frame, then the LBRR flag, and
    // those leading bits are readable directly from the first byte.
    const uint8_t toc = packet[0];
    const bool celtOnly = (toc & 0x80) != 0;
    if (celtOnly) {
        return false;
    }
    const int samplesPerFrame = opus_packet_get_samples_per_frame(packet.data(), 48000);
    const int silkFrames = samplesPerFrame > 960 ? samplesPerFrame / 960 : 1;
    const unsigned char* frames[48];
    opus_int16 sizes[48];
    const int count = opus_packet_parse(packet.data(), static_cast<opus_int32>(packet.size()),
                                        nullptr, frames, sizes, nullptr);
    if (count <= 0 || sizes[0] == 0) {
        return false;
    }
    bool lbrr = ((frames[0][0] >> (7 - silkFrames)) & 1) != 0;
    if (opus_packet_get_nb_channels(packet.data()) == 2) {
        lbrr = lbrr || ((frames[0][0] >> (6 - 2 * silkFrames)) & 1) != 0;
    }
    return lbrr;
}

bool OpusVoiceDecoder::hasFec(std::span<const uint8_t> nextPayload) const {
    return packetHasLbrr(nextPayload);
}

bool OpusVoiceDecoder::decodeFec(std::span<const uint8_t> nextPayload, std::span<int16_t> out) {
    if (nextPayload.empty() || nextPayload.size() > kMaxPayloadBytes ||
        out.size() < frameSamples_) {
        return false;
    }
    const int n =
        opus_decode(state_, nextPayload.data(), static_cast<opus_int32>(nextPayload.size()),
                    out.data(), static_cast<int>(frameSamples_), 1);
    return n == static_cast<int>(frameSamples_);
}

void OpusVoiceDecoder::reset() {
    opus_decoder_ctl(state_, OPUS_RESET_STATE);
}

} // namespace voice
