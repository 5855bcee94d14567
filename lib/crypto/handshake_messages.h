// SPDX-License-Identifier: MIT
// The end-to-end handshake payloads: CallerHello, CalleeHello, HandshakeConfirm.
//
// These bytes travel opaquely through the relay's control connection. All
// integers are big-endian; every message has an exact, bounded length and
// decode() refuses anything else. Layouts (offset size field):
//
// CallerHello (99 + 2n bytes, 1 <= n <= 8)
//   0  1  version (1)         1  1  type (1)
//   2  32 caller identity key (Ed25519, raw)
//   34 32 caller ephemeral key (X25519, raw)
//   66 32 caller nonce (random)
//   98 1  n, then n x u16 offered suites, most preferred first
//
// CalleeHello (164 bytes)
//   0  1  version (1)         1  1  type (2)
//   2  32 callee identity key   34 32 callee ephemeral key   66 32 callee nonce
//   98 2  chosen suite
//   100 64 callee signature (see handshake.h) over everything before it
//
// HandshakeConfirm (66 bytes)
//   0  1  version (1)         1  1  type (3)
//   2  64 caller signature
#pragma once

#include "core/result.h"

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace voice {

inline constexpr uint8_t kHandshakeVersion = 1;

enum class HandshakeMessageType : uint8_t {
    CallerHello = 1,
    CalleeHello = 2,
    Confirm = 3,
};

using Key32 = std::array<uint8_t, 32>;
using Signature64 = std::array<uint8_t, 64>;

struct CallerHello {
    static constexpr size_t kFixedSize = 99;
    static constexpr size_t kMaxSuites = 8;
    static constexpr size_t kMaxSize = kFixedSize + 2 * kMaxSuites;

    Key32 identityKey{};
    Key32 ephemeralKey{};
    Key32 nonce{};
    /// Wire values; unknown ones are kept (and ignored when choosing).
    std::vector<uint16_t> suites;

    /// Refuses (InvalidArgument) 0 or more than kMaxSuites suites.
    Result<std::vector<uint8_t>> encode() const;
    static Result<CallerHello> decode(std::span<const uint8_t> bytes);
};

struct CalleeHello {
    static constexpr size_t kBodySize = 100;
    static constexpr size_t kSize = kBodySize + 64;

    Key32 identityKey{};
    Key32 ephemeralKey{};
    Key32 nonce{};
    uint16_t suite = 0;
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
