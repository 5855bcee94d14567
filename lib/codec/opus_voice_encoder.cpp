// SPDX-License-Identifier: MIT
// OpusVoiceEncoder: the libopus calls behind the Encoder interface.
#include "codec/opus_voice_encoder.h"

#include <algorithm>
#include <opus/opus.h>
#include <string>

namespace voice {
namespace {

uint32_t packFec(bool enabled, int lossPercent) {
    return (enabled ? 0x100u : 0u) | static_cast<uint32_t>(std::clamp(lossPercent, 0, 100));
}

} // namespace

Result<std::unique_ptr<OpusVoiceEncoder>> OpusVoiceEncoder::make(const CodecConfig& config) {
    if (config.codec != CodecId::Opus) {
        return Status(Errc::InvalidArgument, "OpusVoiceEncoder needs an opus config");
    }
    if (Status s = config.validate(); !s) {
        return s;
    }
    int err = OPUS_OK;
    ::OpusEncoder* state = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
    if (err != OPUS_OK || state == nullptr) {
        return Status(Errc::Unsupported,
                      std::string("opus_encoder_create failed: ") + opus_strerror(err));
    }
    std::unique_ptr<OpusVoiceEncoder> encoder(new OpusVoiceEncoder(state, config.frameSamples()));
    // Voice over a lossy network: constant-ish bitrate keeps packet sizes
    // steady, and the signal hint keeps libopus in its speech modes (SILK or
    // hybrid), where in-band FEC exists.
    if (opus_encoder_ctl(state, OPUS_SET_COMPLEXITY(config.complexity)) != OPUS_OK ||
        opus_encoder_ctl(state, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPUS_OK ||
        opus_encoder_ctl(state, OPUS_SET_VBR(1)) != OPUS_OK ||
        opus_encoder_ctl(state, OPUS_SET_VBR_CONSTRAINT(1)) != OPUS_OK) {
        return Status(Errc::Unsupported, "opus_encoder_ctl refused the configuration");
    }
    encoder->setBitrate(config.bitrate);
    encoder->setFec(config.fec, config.expectedLossPercent);
    encoder->applyPendingSettings();
    return encoder;
}

OpusVoiceEncoder::OpusVoiceEncoder(::OpusEncoder* state, size_t frameSamples)
    : state_(state), frameSamples_(frameSamples), fecRequest_(packFec(false, 0)),
      bitrateRequest_(0) {}

OpusVoiceEncoder::~OpusVoiceEncoder() {
    opus_encoder_destroy(state_);
}

void OpusVoiceEncoder::setFec(bool enabled, int expectedLossPercent) {
    fecRequest_.store(packFec(enabled, expectedLossPercent), std::memory_order_relaxed);
}

void OpusVoiceEncoder::setBitrate(uint32_t bitsPerSecond) {
    bitrateRequest_.store(
        std::clamp(bitsPerSecond, CodecConfig::kMinOpusBitrate, CodecConfig::kMaxOpusBitrate),
        std::memory_order_relaxed);
}

void OpusVoiceEncoder::applyPendingSettings() {
    const uint32_t fec = fecRequest_.load(std::memory_order_relaxed);
    const bool fecOn = (fec & 0x100u) != 0;
    const int loss = static_cast<int>(fec & 0xffu);
    const uint32_t requested = bitrateRequest_.load(std::memory_order_relaxed);
    const uint32_t bitrate = requested != 0 ? requested : appliedBitrate_;
    if (fecOn == appliedFec_ && loss == appliedLoss_ && bitrate == appliedBitrate_) {
        return;
    }
    // libopus only spends bits on FEC when it expects loss, so "on" with
    // 0 % would be a silent no-op: plan for at least 1 %.
    const int plannedLoss = fecOn ? std::max(loss, 1) : loss;
    opus_encoder_ctl(state_, OPUS_SET_INBAND_FEC(fecOn ? 1 : 0));
    opus_encoder_ctl(state_, OPUS_SET_PACKET_LOSS_PERC(plannedLoss));
    opus_encoder_ctl(state_, OPUS_SET_BITRATE(static_cast<opus_int32>(bitrate)));
    // At up to 5 % expected loss libopus only adds FEC when the bitrate
    // clears a per-bandwidth threshold (decide_fec(): about 31 kbit/s for
    // full band, 25 for wideband at complexity 5). Below 40 kbit/s keep
    // FEC-protected voice at wideband so it gets LBRR bits sooner; speech
    // loses little above 8 kHz. Above 5 % libopus narrows the band itself.
    const bool capBandwidth = fecOn && bitrate < 40000;
    opus_encoder_ctl(state_, OPUS_SET_MAX_BANDWIDTH(capBandwidth ? OPUS_BANDWIDTH_WIDEBAND
                                                                 : OPUS_BANDWIDTH_FULLBAND));
    appliedFec_ = fecOn;
    appliedLoss_ = loss;
    appliedBitrate_ = bitrate;
}

Result<size_t> OpusVoiceEncoder::encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
    if (pcm.size() != frameSamples_) {
        return Result<size_t>(Errc::InvalidArgument,
                              "opus encode needs " + std::to_string(frameSamples_) +
                                  " samples, got " + std::to_string(pcm.size()));
    }
    if (out.empty()) {
        return Result<size_t>(Errc::InvalidArgument, "opus payload buffer is empty");
    }
    applyPendingSettings();
    const auto maxBytes = static_cast<opus_int32>(std::min(out.size(), kMaxPayloadBytes));
    const opus_int32 n =
        opus_encode(state_, pcm.data(), static_cast<int>(frameSamples_), out.data(), maxBytes);
    if (n < 0) {
        return Result<size_t>(Errc::Internal,
                              std::string("opus_encode failed: ") + opus_strerror(n));
    }
    return static_cast<size_t>(n);
}

} // namespace voice
