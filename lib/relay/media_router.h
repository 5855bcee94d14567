// SPDX-License-Identifier: MIT
// MediaRouter: the relay's session-id -> peer table that forwards sealed media and measures it.
#pragma once

#include "net/socket.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

namespace voice {

/// Loss and jitter of one direction of a call, from the clear media headers.
struct MediaDirectionStats {
    uint64_t packets = 0;  ///< audio packets received from this side
    uint64_t bytes = 0;    ///< their bytes
    uint64_t expected = 0; ///< highest sequence - first sequence + 1
    uint64_t lost = 0;     ///< expected - packets (never negative; duplicates count as received)
    double jitterUs = 0;   ///< RFC 3550 interarrival jitter, microseconds
};

/// Routes media packets between the two sides of each call by the session
/// id in their MediaHeader. Each side has its own random 64-bit session id,
/// handed to it over TLS only, so a packet that carries it proves it comes
/// from that side: the relay learns the side's UDP address from such packets
/// (Probe or Audio) and forwards the other side's packets there.
///
/// Threading: addCall()/removeCall()/stats() are called by the control loop;
/// route() by any media thread and the control loop at once. The table is
/// split into shards, each behind its own mutex held for a few lookups, so
/// media threads rarely contend. Never holds media keys; never reads past
/// the clear header.
class MediaRouter {
public:
    using Clock = std::chrono::steady_clock;

    /// Where route() says a packet goes.
    struct Delivery {
        enum class Kind {
            Drop,   ///< unknown session, bad header, or a Probe (learned, not forwarded)
            Udp,    ///< send to `to` through socket `fd`
            Tunnel, ///< the receiver has no fresh UDP address: send over its control connection
        };
        Kind kind = Kind::Drop;
        int fd = -1;
        SocketAddress to;
        uint64_t connection = 0; ///< receiver's control connection (Tunnel)
    };

    explicit MediaRouter(Clock::duration udpFreshness) : freshness_(udpFreshness) {}

    /// Adds both sides of a call. Session ids must be unique and non-zero
    /// (use unusedSessionId()).
    void addCall(uint64_t sessionA, uint64_t connectionA, uint64_t sessionB, uint64_t connectionB);
    /// Removes both sides; later packets with their ids are dropped.
    void removeCall(uint64_t sessionA, uint64_t sessionB);
    /// Points the tunnel deliveries of `session` at another control
    /// connection (its side resumed the call on a new connection). Keeps its
    /// learned UDP address and statistics. False if the session is unknown.
    bool setConnection(uint64_t session, uint64_t connection);
    bool contains(uint64_t session) const;
    /// A random id no current session uses.
    uint64_t unusedSessionId() const;
    /// Loss and jitter of what `session` sent so far.
    MediaDirectionStats stats(uint64_t session) const;
    size_t sessions() const;

    /// Decides what to do with one packet. `from`/`fd` are the datagram's
    /// source and socket for UDP, nullptr/-1 for a tunnelled packet.
    /// Counts forwarded and dropped packets.
    Delivery route(std::span<const uint8_t> packet, const SocketAddress* from, int fd,
                   Clock::time_point now);

    /// Counted by route() and by the callers when a send fails.
    std::atomic<uint64_t> forwardedPackets{0};
    std::atomic<uint64_t> forwardedBytes{0};
    std::atomic<uint64_t> tunnelledPackets{0};
    std::atomic<uint64_t> droppedPackets{0};
    std::atomic<uint64_t> probes{0};

private:
    struct Session {
        uint64_t peer = 0;
        uint64_t connection = 0;
        SocketAddress address; // learned from authenticated UDP packets
        int fd = -1;
        Clock::time_point lastUdp;
        bool haveUdp = false;
        // Statistics of packets this side sent.
        MediaDirectionStats stats;
        bool seenAny = false;
        uint64_t firstSeq = 0;
        uint64_t maxSeq = 0;
        int64_t lastTransitUs = 0;
    };
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        std::unordered_map<uint64_t, Session> sessions; // guarded by mutex
    };
    static constexpr size_t kShards = 64;
    Shard& shardOf(uint64_t session) { return shards_[(session * 0x9E3779B97F4A7C15ull) >> 58]; }
    const Shard& shardOf(uint64_t session) const {
        return shards_[(session * 0x9E3779B97F4A7C15ull) >> 58];
    }

    Clock::duration freshness_;
    std::array<Shard, kShards> shards_;
};

} // namespace voice
