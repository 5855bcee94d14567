// SPDX-License-Identifier: MIT
// The end-to-end handshake payloads: CallerHello, CalleeHello, HandshakeConfirm.
//
// These bytes travel opaquely through the relay's control connection. All
// integers are big-endian; every message has an exact, bounded length and
// decode() refuses anything else. Layouts (offset size field):
//
// CallerHello (108 + 2n bytes, 1 <= n <= 8)
//   0  1  version (2)         1  1  type (1)
//   2  32 caller identity key (Ed25519, raw)
//   34 32 caller ephemeral key (X25519, raw)
//   66 32 caller nonce (random)
//   98 9  media offer: the caller's own audio format (MediaFormat below)
//   107 1 n, then n x u16 offered suites, most preferred first
//
// CalleeHello (173 bytes)
//   0  1  version (2)         1  1  type (2)
//   2  32 callee identity key   34 32 callee ephemeral key   66 32 callee nonce
//   98 2  chosen suite
//   100 9 chosen media format: both directions of the call use it
//   109 64 callee signature (see handshake.h) over everything before it
//
// HandshakeConfirm (66 bytes)
//   0  1  version (2)         1  1  type (3)
//   2  64 caller signature
//
// MediaFormat (9 bytes): u8 codec (0 PCM, 1 Opus) ‖ u32 sample rate ‖
// u32 frame duration in microseconds. Version 1 had no media fields: two
// daemons configured differently (44.1 kHz PCM and 48 kHz Opus) each sent
// their own format and dropped the other's packets, a silent call.
#pragma once

#include "core/result.h"

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace voice {

inline constexpr uint8_t kHandshakeVersion = 2;

/// The audio format of a call's media, as the handshake carries it. The
/// wire values are those of CodecId (codec/codec_config.h); this layer does
/// not interpret them beyond chooseCallMedia().
struct MediaFormat {
    static constexpr size_t kSize = 9;
    static constexpr uint8_t kPcm = 0;
    static constexpr uint8_t kOpus = 1;
    uint8_t codec = kOpus;
    uint32_t sampleRate = 48000;
    uint32_t frameUs = 20000;

    friend bool operator==(const MediaFormat&, const MediaFormat&) = default;
};

/// Opus at 48 kHz in 10 or 20 ms frames: what every voiced can send and
/// receive whatever its own settings (a 44.1 kHz device gets it through a
/// resampler), hence the format two different offers meet on.
bool isCommonMediaFormat(const MediaFormat& f);

/// The callee's choice for a call, from the caller's offer and its own
/// format: that format when both are the same (so 44.1 kHz PCM stays PCM end
/// to end between two such daemons); otherwise Opus at 48 kHz, in the longer
/// frame of the sides that run Opus (10 ms when neither does: both asked for
/// PCM's low latency). A caller accepts only its own format or a common one.
MediaFormat chooseCallMedia(const MediaFormat& offer, const MediaFormat& own);

enum class HandshakeMessageType : uint8_t {
    CallerHello = 1,
    CalleeHello = 2,
    Confirm = 3,
};

using Key32 = std::array<uint8_t, 32>;
using Signature64 = std::array<uint8_t, 64>;

struct CallerHello {
    static constexpr size_t kFixedSize = 108;
    static constexpr size_t kMaxSuites = 8;
    static constexpr size_t kMaxSize = kFixedSize + 2 * kMaxSuites;

    Key32 identityKey{};
    Key32 ephemeralKey{};
    Key32 nonce{};
    MediaFormat media;
    /// Wire values; unknown ones are kept (and ignored when choosing).
    std::vector<uint16_t> suites;

    /// Refuses (InvalidArgument) 0 or more than kMaxSuites suites.
    Result<std::vector<uint8_t>> encode() const;
    static Result<CallerHello> decode(std::span<const uint8_t> bytes);
};

struct CalleeHello {
    static constexpr size_t kBodySize = 109;
    static constexpr size_t kSize = kBodySize + 64;

    Key32 identityKey{};
    Key32 ephemeralKey{};
    Key32 nonce{};
    uint16_t suite = 0;
    MediaFormat media;
    Signature64 signature{};

    /// The signed part: the first kBodySize bytes of encode().
    std::vector<uint8_t> encodeBody() const;
    std::vector<uint8_t> encode() const;
    static Result<CalleeHello> decode(std::span<const uint8_t> bytes);
};

struct HandshakeConfirm {
    static constexpr size_t kSize = 66;

    Signature64 signature{};

    std::vector<uint8_t> encode() const;
    static Result<HandshakeConfirm> decode(std::span<const uint8_t> bytes);
};

} // namespace voice
