// SPDX-License-Identifier: MIT
// Trunk: the relay-to-relay UDP packet around a sealed media packet, MACed under the cluster key.
#pragma once

#include "core/result.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <openssl/types.h>
#include <optional>
#include <span>

namespace voice::trunk {

/// A trunk datagram (issue 19):
///   kMarker ‖ kVersion ‖ epoch (8) ‖ sequence (8) ‖ media packet ‖ tag,
/// tag = HMAC-SHA256(trunk key, everything before it) cut to 16 bytes;
/// integers big-endian. The first byte can never start a client datagram (a
/// MediaHeader starts with its version, 1), so relays tell the two apart on
/// the same port. The media packet inside stays end-to-end sealed: the MAC
/// only keeps anyone outside the cluster from injecting into a trunk (checked
/// in constant time before anything is parsed; a bad one is a silent drop).
///
/// Replay: (epoch, sequence) is unique per datagram a relay process sends
/// and covered by the tag, so the receiver's ReplayGuard (trunk_replay.h)
/// drops a datagram it has accepted before. The epoch is 64 random bits
/// drawn at each process start (Sender) rather than a trunk key per process
/// or a counter persisted across restarts: the key stays one per cluster
/// (nothing to hand out or agree on when a relay starts, and it starts with
/// Redis down), no state file has to survive a crash, and a restarted relay
/// counts from 0 again under a new epoch, so no (epoch, sequence) ever
/// repeats under the key (two epochs collide with odds ~n²/2^65 after n
/// restarts).
constexpr uint8_t kMarker = 0xf7;
constexpr uint8_t kVersion = 2; // 1 had no epoch or sequence (no replay window)
constexpr size_t kHeaderSize = 2 + 8 + 8;
constexpr size_t kTagSize = 16;
constexpr size_t kOverhead = kHeaderSize + kTagSize;

using Key = std::array<uint8_t, 32>;

/// The trunk key: HMAC-SHA256(cluster key, "voice-relayd trunk v1"), so the
/// cluster key itself never MACs packets.
Key deriveKey(std::span<const uint8_t, 32> clusterKey);

/// The trunk key made ready to MAC with: the HMAC's keyed state (the key's
/// inner and outer pads hashed) is set up once, and each datagram only
/// restarts from it. OpenSSL's one-shot HMAC() looks the digest up by name,
/// allocates its contexts and hashes the key again for every datagram: 2.3 µs
/// a 160-byte packet on the bench machine against 0.5 µs here, paid twice per
/// trunk hop (seal and open). Not thread-safe: one per thread (each media
/// thread and the control loop own one). Holds key material: freed with
/// its contexts, which OpenSSL wipes.
class Mac {
public:
    explicit Mac(const Key& key);
    ~Mac();
    Mac(const Mac&) = delete;
    Mac& operator=(const Mac&) = delete;

    /// False if OpenSSL could not set up HMAC-SHA256 (the relay must not start then).
    bool ok() const { return ctx_ != nullptr; }
    /// HMAC-SHA256(key, data); false if OpenSSL failed (the datagram is then dropped).
    bool tag(std::span<const uint8_t> data, uint8_t (&out)[32]);

private:
    EVP_MAC* mac_ = nullptr;
    EVP_MAC_CTX* ctx_ = nullptr; // keyed; null if set-up failed
};

/// 64 random bits for a Sender's epoch (RAND_bytes); an error when the
/// system's randomness is unavailable (a relay must not start then: a
/// repeated epoch would let old datagrams through the receivers' windows).
Result<uint64_t> randomEpoch();

/// The sending side of one relay process: its epoch and its next sequence
/// number. Thread-safe: every media thread and the control loop seal with
/// the same Sender (one relaxed atomic increment a datagram).
class Sender {
public:
    /// `epoch` from randomEpoch(); sequence numbers from `firstSequence` up.
    explicit Sender(uint64_t epoch, uint64_t firstSequence = 0)
        : epoch_(epoch), next_(firstSequence) {}
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;

    uint64_t epoch() const { return epoch_; }
    uint64_t nextSequence() { return next_.fetch_add(1, std::memory_order_relaxed); }

private:
    uint64_t epoch_;
    std::atomic<uint64_t> next_;
};

/// True when the datagram claims to be a trunk packet (by its first byte).
inline bool looksLikeTrunk(std::span<const uint8_t> datagram) {
    return !datagram.empty() && datagram[0] == kMarker;
}

/// Writes the trunk datagram for `packet` into `out` under the sender's
/// epoch and next sequence number; its length, or 0 when `out` is too small.
/// Allocation-free.
size_t seal(Mac& mac, Sender& sender, std::span<const uint8_t> packet, std::span<uint8_t> out);
/// The same with a Mac made for this one datagram (tests, rare paths).
size_t seal(const Key& key, Sender& sender, std::span<const uint8_t> packet,
            std::span<uint8_t> out);

/// A trunk datagram whose tag verified.
struct Opened {
    uint64_t epoch = 0;
    uint64_t sequence = 0;
    std::span<const uint8_t> packet; ///< the media packet inside (points into the datagram)
};

/// Opens a datagram whose tag verifies under `key`, else nullopt. Checks
/// the tag only: whether (epoch, sequence) was seen before is the
/// ReplayGuard's job. Allocation-free.
std::optional<Opened> open(Mac& mac, std::span<const uint8_t> datagram);
/// The same with a Mac made for this one datagram (tests, rare paths).
std::optional<Opened> open(const Key& key, std::span<const uint8_t> datagram);

} // namespace voice::trunk
