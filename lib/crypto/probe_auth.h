// SPDX-License-Identifier: MIT
// Probe authentication: the MAC that lets the relay move a side's UDP address only for that side.
//
// A UDP probe is  MediaHeader (kind Probe, sequence = probe counter) ‖ MAC[16]
// with MAC = HMAC-SHA256(route key, "voiced-probe-v1" ‖ header)[0..16). The
// route key is random per side, made by the relay and handed to that side
// only, over TLS (ResumeToken, at call start and on every resume). The relay
// accepts a probe only if the MAC verifies (constant time) and its counter
// is above the last one it accepted under that key, so a captured probe
// cannot be replayed and the clear session id alone moves nothing.
#pragma once

#include "wire/media_header.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace voice {

namespace probe_auth {

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kMacSize = 16;
/// The only size of a valid probe datagram.
inline constexpr size_t kProbeSize = MediaHeader::kSize + kMacSize;

using Key = std::span<const uint8_t, kKeySize>;

/// A probe for `sessionId` with counter `counter` (the header's sequence).
/// Any thread; allocates nothing it keeps.
std::array<uint8_t, kProbeSize> make(Key key, uint64_t sessionId, uint64_t counter,
                                     uint64_t timestampUs);

/// True if `probe` is kProbeSize bytes and its MAC verifies under `key`
/// (compared with CRYPTO_memcmp). Does not look at the counter.
bool verify(Key key, std::span<const uint8_t> probe);

} // namespace probe_auth

} // namespace voice
