// SPDX-License-Identifier: MIT
// Trunk: the relay-to-relay UDP packet around a sealed media packet, MACed under the cluster key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace voice::trunk {

/// A trunk datagram (issue 19): kMarker ‖ kVersion ‖ media packet ‖ tag,
/// tag = HMAC-SHA256(trunk key, kMarker ‖ kVersion ‖ media packet) cut to 16
/// bytes. The first byte can never start a client datagram (a MediaHeader
/// starts with its version, 1), so relays tell the two apart on the same
/// port. The media packet inside stays end-to-end sealed: the MAC only keeps
/// anyone outside the cluster from injecting into a trunk (checked in
/// constant time before anything is parsed; a bad one is a silent drop).
constexpr uint8_t kMarker = 0xf7;
constexpr uint8_t kVersion = 1;
constexpr size_t kTagSize = 16;
constexpr size_t kOverhead = 2 + kTagSize;

using Key = std::array<uint8_t, 32>;

/// The trunk key: HMAC-SHA256(cluster key, "voice-relayd trunk v1"), so the
/// cluster key itself never MACs packets.
Key deriveKey(std::span<const uint8_t, 32> clusterKey);

/// True when the datagram claims to be a trunk packet (by its first byte).
inline bool looksLikeTrunk(std::span<const uint8_t> datagram) {
    return !datagram.empty() && datagram[0] == kMarker;
}

/// Writes the trunk datagram for `packet` into `out`; its length, or 0 when
/// `out` is too small.
size_t seal(const Key& key, std::span<const uint8_t> packet, std::span<uint8_t> out);

/// The media packet inside a trunk datagram whose tag verifies, else nullopt.
std::optional<std::span<const uint8_t>> open(const Key& key, std::span<const uint8_t> datagram);

} // namespace voice::trunk
