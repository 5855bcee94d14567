// SPDX-License-Identifier: MIT
// OpusVoiceEncoder: libopus at 48 kHz mono in VOIP mode, with run-time FEC control.
#pragma once

#include "codec/encoder.h"

#include <atomic>
#include <memory>

struct OpusEncoder;

namespace voice {

/// Opus, 48 kHz mono, OPUS_APPLICATION_VOIP, 10 or 20 ms frames, constant
/// configured bitrate and complexity, in-band FEC switchable at run time.
/// Threads: as Encoder (setFec/setBitrate from any thread, lock-free).
class OpusVoiceEncoder final : public Encoder {
public:
    /// Creates the libopus state (the only allocation). InvalidArgument for a
    /// config that CodecConfig::validate() rejects, Unsupported if libopus
    /// refuses it.
    static Result<std::unique_ptr<OpusVoiceEncoder>> make(const CodecConfig& config);
    ~OpusVoiceEncoder() override;

    CodecId codec() const override { return CodecId::Opus; }
    size_t frameSamples() const override { return frameSamples_; }
    uint32_t sampleRate() const override { return 48000; }

    Result<size_t> encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override;
    void setFec(bool enabled, int expectedLossPercent) override;
    void setBitrate(uint32_t bitsPerSecond) override;

    /// Settings the last encode() ran with (transmitter thread; for tests).
    bool fecApplied() const { return appliedFec_; }
    int lossPercentApplied() const { return appliedLoss_; }

private:
    OpusVoiceEncoder(::OpusEncoder* state, size_t frameSamples);
    void applyPendingSettings();

    ::OpusEncoder* state_;
    const size_t frameSamples_;
    // Requests from other threads. FEC on/off and loss travel in one word so
    // a reader never sees half of an update: bit 8 = enabled, low byte = %.
    std::atomic<uint32_t> fecRequest_;
    std::atomic<uint32_t> bitrateRequest_;
    // What libopus currently has (transmitter thread only).
    bool appliedFec_ = false;
    int appliedLoss_ = 0;
    uint32_t appliedBitrate_ = 0;
};

} // namespace voice
