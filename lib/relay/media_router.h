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
/// id in their MediaHeader, and measures them.
///
/// The session id travels in clear in every datagram, so it only names a
/// session; it proves nothing. A side's UDP address is set and moved only by
/// an authenticated Probe (crypto/probe_auth.h): a MAC under the side's route
/// key (random, handed to that side only, over TLS, fresh on every resume;
/// setRouteKey()) over a counter above the last one accepted under that key.
/// Any other datagram from an address that is not the side's current one is
/// dropped unread and not counted in its loss/jitter: replayed, bit-flipped
/// or forged datagrams from a third address move nothing and get nothing.
/// NAT rebinding is followed by the client's next probe: every 250 ms, and
/// at once when asked (Delivery::askProbe, sent as a ProbeRequest over TLS)
/// because its media came from a new address.
///
/// Paths: a side gets the other's packets over UDP while its address is
/// fresh and nothing newer than its last UDP packet came from it through its
/// control connection; a side that tunnels its own media says its UDP does
/// not get through, so it is answered through the tunnel at once, and a later
/// valid UDP probe brings UDP back: route() echoes a tunnelling side's valid
/// probes to it over UDP so its transport hears that UDP works again.
///
/// Threading: addCall()/removeCall()/setRouteKey()/stats() are called by the
/// control loop; route() by any media thread and the control loop at once.
/// The table is split into shards, each behind its own mutex held for a few
/// lookups, so media threads rarely contend; a probe's HMAC is computed
/// outside the lock. Never holds media keys; never reads past the clear
/// header (and a probe's MAC).
class MediaRouter {
public:
    using Clock = std::chrono::steady_clock;

    /// Where route() says a packet goes.
    struct Delivery {
        enum class Kind {
            Drop,   ///< unknown session, bad header, stray source, or a Probe (never forwarded)
            Udp,    ///< send to `to` through socket `fd`
            Tunnel, ///< the receiver has no fresh UDP address: send over its control connection
            Trunk,  ///< the receiver is on another relay: trunk::seal, send to `to` through `fd`
        };
        Kind kind = Kind::Drop;
        int fd = -1;
        SocketAddress to;
        uint64_t connection = 0; ///< receiver's control connection (Tunnel); sender's (askProbe)
        bool rejected = false; ///< Drop of junk: no valid session, a refused probe, a stray source
        bool moved = false;    ///< this (valid) probe moved its sender to a new UDP address
        /// A Drop of the sender's media from a stray address: ask it over
        /// `connection` to probe now (ProbeRequest), at most once per
        /// kProbeRequestInterval per session.
        bool askProbe = false;
    };

    /// A session is asked to probe at most this often.
    static constexpr std::chrono::milliseconds kProbeRequestInterval{100};
    /// A valid probe of a side the relay sent no UDP media for this long is
    /// echoed: the client judges its UDP path by what arrives on it, and a
    /// peer that is quiet (a device still opening at call start, a stall)
    /// must not look like a blocked path. Under half the client's 250 ms
    /// probe period, so a quiet peer never leaves more than ~350 ms without
    /// UDP (the client tunnels after 450 ms); while media flows, nothing is
    /// echoed.
    static constexpr std::chrono::milliseconds kQuietPathEcho{100};

    using RouteKey = std::array<uint8_t, 32>;

    explicit MediaRouter(Clock::duration udpFreshness) : freshness_(udpFreshness) {}

    /// Adds both sides of a call. Session ids must be unique and non-zero
    /// (use unusedSessionId()).
    void addCall(uint64_t sessionA, uint64_t connectionA, uint64_t sessionB, uint64_t connectionB);
    /// A call whose other side is on another relay (issue 19): `local` as in
    /// addCall, and `remote` (the far side's session id) delivered to the
    /// other relay's trunk address through socket `fd`. Media of `remote`
    /// is accepted only from the trunk (route(..., fromTrunk = true)).
    void addRemoteCall(uint64_t local, uint64_t connection, uint64_t remote,
                       const SocketAddress& trunk, int fd);
    /// The far side `remote` of a cross-relay call moved to another relay
    /// (it resumed there after its relay died): its media now goes to and
    /// comes only from that relay's trunk address. False if `remote` is
    /// unknown or not a far side.
    bool setTrunk(uint64_t remote, const SocketAddress& trunk);
    /// Removes both sides; later packets with their ids are dropped.
    void removeCall(uint64_t sessionA, uint64_t sessionB);
    /// Points the tunnel deliveries of `session` at another control
    /// connection (its side resumed the call on a new connection). Keeps its
    /// learned UDP address and statistics. False if the session is unknown.
    bool setConnection(uint64_t session, uint64_t connection);
    /// Gives `session` a new route key (the old one is wiped); its probe
    /// counter starts over. Until it has one, every probe of it is refused
    /// (so it has no UDP address). False if the session is unknown.
    bool setRouteKey(uint64_t session, const RouteKey& key);
    bool contains(uint64_t session) const;
    /// A random id no current session uses.
    uint64_t unusedSessionId() const;
    /// Loss and jitter of what `session` sent so far.
    MediaDirectionStats stats(uint64_t session) const;
    size_t sessions() const;

    /// Decides what to do with one packet. `from`/`fd` are the datagram's
    /// source and socket for UDP, nullptr/-1 for a tunnelled packet.
    /// Counts forwarded and dropped packets.
    /// fromTrunk: the packet came out of a verified trunk datagram.
    Delivery route(std::span<const uint8_t> packet, const SocketAddress* from, int fd,
                   Clock::time_point now, bool fromTrunk = false);

    /// Counted by route() and by the callers when a send fails.
    std::atomic<uint64_t> forwardedPackets{0};
    std::atomic<uint64_t> forwardedBytes{0};
    std::atomic<uint64_t> tunnelledPackets{0};
    std::atomic<uint64_t> droppedPackets{0};
    /// Valid probes (they set or refresh their sender's address).
    std::atomic<uint64_t> probes{0};
    /// Probes refused: bad size or MAC, no route key yet, counter not above the last.
    std::atomic<uint64_t> probesRefused{0};
    /// Datagrams of a live session from an address that is not its current one (dropped).
    std::atomic<uint64_t> strayPackets{0};
    /// Stray packets that made route() ask their session to probe.
    std::atomic<uint64_t> probeRequests{0};
    /// Probes sent back to their sender (route() returned them as Udp): a
    /// tunnelling side, or one the relay sent no UDP media for kQuietPathEcho.
    std::atomic<uint64_t> probesEchoed{0};
    /// Datagrams with a bad header or an unknown session (part of droppedPackets).
    std::atomic<uint64_t> rejectedPackets{0};
    std::atomic<uint64_t> addressChanges{0};
    /// Packets sent to / received from other relays' trunks (issue 19).
    std::atomic<uint64_t> trunkSent{0};
    std::atomic<uint64_t> trunkReceived{0};
    /// Trunk datagrams dropped: bad MAC (outside the cluster), or not a trunk session.
    std::atomic<uint64_t> trunkRejected{0};

private:
    Delivery routeProbe(std::span<const uint8_t> packet, uint64_t sessionId, uint64_t counter,
                        const SocketAddress& from, int fd, Clock::time_point now);
    Delivery reject();

    struct Session {
        uint64_t peer = 0;
        uint64_t connection = 0;
        SocketAddress address; // set only by valid probes
        int fd = -1;
        Clock::time_point lastUdp;
        Clock::time_point lastTunnel;  // last media it sent through its control connection
        Clock::time_point lastSentUdp; // last media the relay sent it over UDP
        bool haveUdp = false;
        bool trunk = false;  // on another relay: address/fd are its relay's trunk
        RouteKey routeKey{}; // wiped when replaced or removed
        bool haveKey = false;
        uint64_t keyEpoch = 0;              // bumped by setRouteKey()
        uint64_t lastProbe = 0;             // highest probe counter accepted under this key
        Clock::time_point lastProbeRequest; // Delivery::askProbe
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
    std::atomic<uint64_t> nextKeyEpoch_{1};
    std::array<Shard, kShards> shards_;
};

} // namespace voice
