// SPDX-License-Identifier: MIT
// CodecConfig: names, wire ids and the checks on codec parameter combinations.
#include "codec/codec_config.h"

#include <string>

namespace voice {

std::string_view codecName(CodecId id) {
    switch (id) {
    case CodecId::Pcm:
        return "pcm";
    case CodecId::Opus:
        return "opus";
    }
    return "unknown";
}

Result<CodecId> parseCodecId(std::string_view name) {
    if (name == "pcm") {
        return CodecId::Pcm;
    }
    if (name == "opus") {
        return CodecId::Opus;
    }
    return Result<CodecId>(Errc::InvalidArgument, "unknown codec '" +
                                                      std::string(name.substr(0, 32)) +
                                                      "' (expected 'opus' or 'pcm')");
}

Result<CodecId> codecIdFromWire(uint8_t value) {
    switch (value) {
    case static_cast<uint8_t>(CodecId::Pcm):
        return CodecId::Pcm;
    case static_cast<uint8_t>(CodecId::Opus):
        return CodecId::Opus;
    default:
        return Result<CodecId>(Errc::InvalidArgument,
                               "unknown codec id " + std::to_string(value) + " on the wire");
    }
}

Status CodecConfig::validate() const {
    const auto us = frameDuration.count();
    const auto usText = [&] { return std::to_string(us) + " us"; };
    switch (codec) {
    case CodecId::Opus:
        if (sampleRate != 48000) {
            return {Errc::Unsupported, "opus runs at 48000 Hz only, not " +
                                           std::to_string(sampleRate) +
                                           " Hz (use pcm at 44100 Hz)"};
        }
        if (us != 10000 && us != 20000) {
            return {Errc::InvalidArgument,
                    "opus frame duration must be 10 ms or 20 ms, not " + usText()};
        }
        if (bitrate < kMinOpusBitrate || bitrate > kMaxOpusBitrate) {
            return {Errc::InvalidArgument,
                    "opus bitrate " + std::to_string(bitrate) + " bit/s is outside 6000..128000"};
        }
        if (complexity < 0 || complexity > 10) {
            return {Errc::InvalidArgument,
                    "opus complexity " + std::to_string(complexity) + " is outside 0..10"};
        }
        if (expectedLossPercent < 0 || expectedLossPercent > 100) {
            return {Errc::InvalidArgument, "expected packet loss " +
                                               std::to_string(expectedLossPercent) +
                                               " % is outside 0..100"};
        }
        return {};
    case CodecId::Pcm:
        if (sampleRate != 48000 && sampleRate != 44100) {
            return {Errc::Unsupported, "pcm runs at the device rate, 48000 or 44100 Hz, not " +
                                           std::to_string(sampleRate) + " Hz"};
        }
        if (us <= 0 || frameDuration > kMaxPcmFrame) {
            return {Errc::InvalidArgument,
                    "pcm frame duration must be above 0 and at most 10 ms (one packet must fit a "
                    "datagram), not " +
                        usText()};
        }
        if ((uint64_t{sampleRate} * static_cast<uint64_t>(us)) % 1000000 != 0) {
            return {Errc::InvalidArgument, "pcm frame duration " + usText() +
                                               " is not a whole number of samples at " +
                                               std::to_string(sampleRate) + " Hz"};
        }
        return {};
    }
    return {Errc::Unsupported, "unknown codec id " + std::to_string(static_cast<int>(codec))};
}

} // namespace voice
