// SPDX-License-Identifier: MIT
// Encoder: turns one frame of S16 mono PCM into one packet payload.
#pragma once

#include "codec/codec_config.h"
#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace voice {

/// One codec's encoder for one stream.
///
/// Threads: encode() belongs to one thread at a time (the transmitter).
/// setFec() and setBitrate() may be called from any thread while encode()
/// runs; they only store a request that the next encode() applies.
/// Nothing allocates after construction.
class Encoder {
public:
    virtual ~Encoder() = default;
    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;

    virtual CodecId codec() const = 0;
    /// Mono samples in one frame: encode() takes exactly this many.
    virtual size_t frameSamples() const = 0;
    virtual uint32_t sampleRate() const = 0;

    /// Transmitter thread. Encodes exactly frameSamples() samples into `out`
    /// (which should hold kMaxPayloadBytes) and returns the payload size.
    /// Fails with InvalidArgument for a wrong frame length or a too small
    /// buffer (caller bugs; the error text is the only allocation).
    virtual Result<size_t> encode(std::span<const int16_t> pcm, std::span<uint8_t> out) = 0;

    /// Any thread. Turns in-band FEC on or off and sets the packet loss the
    /// encoder plans for (0..100 %, clamped), e.g. from the peer's loss
    /// reports. Applied by the next encode(). A no-op for codecs without FEC.
    /// Opus adds FEC data only when it pays: at up to 5 % loss only if the
    /// bitrate affords it (about 25 kbit/s), above 5 % by narrowing the band.
    virtual void setFec(bool enabled, int expectedLossPercent) = 0;
    /// Any thread. New target bitrate (clamped to the codec's range), applied
    /// by the next encode(). A no-op for PCM.
    virtual void setBitrate(uint32_t bitsPerSecond) = 0;

protected:
    Encoder() = default;
};

} // namespace voice
