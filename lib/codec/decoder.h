// SPDX-License-Identifier: MIT
// Decoder: turns packet payloads back into PCM frames and hides lost ones.
#pragma once

#include "codec/codec_config.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace voice {

/// One codec's decoder for one stream.
///
/// Threads: a decoder belongs to one thread (the player, through the
/// JitterBuffer). Every method is real-time safe: no locks, no allocation,
/// no logging; failures are a `false` return, never an error text.
///
/// Every call produces exactly frameSamples() samples into `out`, which
/// must hold at least that many; the calls for one stream must come in
/// playout order, one per frame, because codecs keep state across frames.
class Decoder {
public:
    virtual ~Decoder() = default;
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    virtual CodecId codec() const = 0;
    virtual size_t frameSamples() const = 0;
    virtual uint32_t sampleRate() const = 0;

    /// Decodes one payload. Returns false, leaving `out` unspecified, when the
    /// payload is malformed or does not hold exactly one frame; the caller
    /// then conceals instead.
    [[nodiscard]] virtual bool decode(std::span<const uint8_t> payload, std::span<int16_t> out) = 0;

    /// Produces a stand-in for a frame that never arrived (Opus PLC, or a
    /// fading repeat of the last frame for PCM). Consecutive calls fade
    /// towards silence. Always succeeds.
    virtual void conceal(std::span<int16_t> out) = 0;

    /// True when `nextPayload` (the packet after a lost one) carries in-band
    /// FEC data for the frame before it. Always false for PCM.
    virtual bool hasFec(std::span<const uint8_t> nextPayload) const = 0;

    /// Rebuilds the lost frame just before `nextPayload` from the FEC data in
    /// it. Call instead of conceal() for that frame, then decode(nextPayload)
    /// for the next one as usual. Returns false (nothing written) when the
    /// codec has no FEC or the payload is malformed.
    [[nodiscard]] virtual bool decodeFec(std::span<const uint8_t> nextPayload,
                                         std::span<int16_t> out) = 0;

    /// Forgets all history (start of a new stream). Player thread.
    virtual void reset() = 0;

protected:
    Decoder() = default;
};

} // namespace voice
