// SPDX-License-Identifier: MIT
// MediaRouter: the relay's session-id -> peer table that forwards sealed media and measures it.
#include "relay/media_router.h"

#include "crypto/probe_auth.h"
#include "wire/media_header.h"

#include <cmath>
#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace voice {

void MediaRouter::addCall(uint64_t sessionA, uint64_t connectionA, uint64_t sessionB,
                          uint64_t connectionB) {
    {
        Shard& s = shardOf(sessionA);
        std::lock_guard lock(s.mutex);
        Session& a = s.sessions[sessionA];
        a.peer = sessionB;
        a.connection = connectionA;
    }
    Shard& s = shardOf(sessionB);
    std::lock_guard lock(s.mutex);
    Session& b = s.sessions[sessionB];
    b.peer = sessionA;
    b.connection = connectionB;
}

void MediaRouter::addRemoteCall(uint64_t local, uint64_t connection, uint64_t remote,
                                const SocketAddress& trunk, int fd) {
    addCall(local, connection, remote, 0);
    Shard& s = shardOf(remote);
    std::lock_guard lock(s.mutex);
    Session& r = s.sessions[remote];
    r.trunk = true;
    r.address = trunk;
    r.fd = fd;
}

bool MediaRouter::setTrunk(uint64_t remote, const SocketAddress& trunk) {
    Shard& s = shardOf(remote);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(remote);
    if (it == s.sessions.end() || !it->second.trunk) {
        return false;
    }
    it->second.address = trunk;
    return true;
}

void MediaRouter::removeCall(uint64_t sessionA, uint64_t sessionB) {
    for (uint64_t id : {sessionA, sessionB}) {
        Shard& s = shardOf(id);
        std::lock_guard lock(s.mutex);
        auto it = s.sessions.find(id);
        if (it != s.sessions.end()) {
            OPENSSL_cleanse(it->second.routeKey.data(), it->second.routeKey.size());
            s.sessions.erase(it);
        }
    }
}

bool MediaRouter::setRouteKey(uint64_t session, const RouteKey& key) {
    Shard& s = shardOf(session);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(session);
    if (it == s.sessions.end()) {
        return false;
    }
    Session& me = it->second;
    me.routeKey = key; // overwrites (wipes) the previous key
    me.haveKey = true;
    me.keyEpoch = nextKeyEpoch_.fetch_add(1, std::memory_order_relaxed);
    me.lastProbe = 0;
    return true;
}

bool MediaRouter::setConnection(uint64_t session, uint64_t connection) {
    Shard& s = shardOf(session);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(session);
    if (it == s.sessions.end()) {
        return false;
    }
    it->second.connection = connection;
    return true;
}

bool MediaRouter::contains(uint64_t session) const {
    const Shard& s = shardOf(session);
    std::lock_guard lock(s.mutex);
    return s.sessions.count(session) != 0;
}

uint64_t MediaRouter::unusedSessionId() const {
    for (;;) {
        uint64_t id = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) != 1) {
            continue; // the DRBG does not fail once seeded; retry rather than use a weak id
        }
        if (id == 0) {
            continue;
        }
        const Shard& s = shardOf(id);
        std::lock_guard lock(s.mutex);
        if (s.sessions.count(id) == 0) {
            return id;
        }
    }
}

MediaDirectionStats MediaRouter::stats(uint64_t session) const {
    const Shard& s = shardOf(session);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(session);
    return it == s.sessions.end() ? MediaDirectionStats{} : it->second.stats;
}

size_t MediaRouter::sessions() const {
    size_t n = 0;
    for (const Shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        n += s.sessions.size();
    }
    return n;
}

MediaRouter::Delivery MediaRouter::reject() {
    Delivery d;
    droppedPackets.fetch_add(1, std::memory_order_relaxed);
    rejectedPackets.fetch_add(1, std::memory_order_relaxed);
    d.rejected = true;
    return d;
}

MediaRouter::Delivery MediaRouter::routeProbe(std::span<const uint8_t> packet, uint64_t sessionId,
                                              uint64_t counter, const SocketAddress& from, int fd,
                                              Clock::time_point now) {
    auto refuse = [this] {
        probesRefused.fetch_add(1, std::memory_order_relaxed);
        return reject();
    };
    if (packet.size() != probe_auth::kProbeSize) {
        return refuse();
    }
    Shard& s = shardOf(sessionId);
    RouteKey key;
    uint64_t epoch = 0;
    {
        std::lock_guard lock(s.mutex);
        auto it = s.sessions.find(sessionId);
        if (it == s.sessions.end()) {
            return reject();
        }
        const Session& me = it->second;
        // The counter check first: a replayed probe costs no HMAC.
        if (!me.haveKey || counter <= me.lastProbe) {
            return refuse();
        }
        key = me.routeKey;
        epoch = me.keyEpoch;
    }
    // The HMAC outside the shard lock, so a burst of forged probes does not
    // hold up the media of other sessions in the shard.
    const bool valid = probe_auth::verify(key, packet);
    OPENSSL_cleanse(key.data(), key.size());
    if (!valid) {
        return refuse();
    }
    Delivery d;
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(sessionId);
    // The key may have been replaced meanwhile, or a racing copy of this
    // probe accepted: only one probe per counter ever counts.
    if (it == s.sessions.end() || it->second.keyEpoch != epoch || counter <= it->second.lastProbe) {
        return refuse();
    }
    Session& me = it->second;
    me.lastProbe = counter;
    // Tunnelling since its last UDP packet (its sender thinks UDP is
    // blocked), or nothing came to it over UDP lately (a quiet peer): echo
    // its probe so it hears its UDP path works (same size, to the address it
    // came from, which is now its own: nothing to amplify).
    const bool echo = me.lastTunnel > me.lastUdp || now - me.lastSentUdp >= kQuietPathEcho;
    if (me.haveUdp && !(me.address == from)) {
        addressChanges.fetch_add(1, std::memory_order_relaxed);
        d.moved = true;
    }
    me.address = from;
    me.fd = fd;
    me.lastUdp = now;
    me.haveUdp = true;
    probes.fetch_add(1, std::memory_order_relaxed);
    if (echo) {
        me.lastSentUdp = now;
        probesEchoed.fetch_add(1, std::memory_order_relaxed);
        d.kind = Delivery::Kind::Udp;
        d.fd = fd;
        d.to = from;
    }
    return d;
}

MediaRouter::Delivery MediaRouter::route(std::span<const uint8_t> packet, const SocketAddress* from,
                                         int fd, Clock::time_point now, bool fromTrunk) {
    Delivery d;
    auto header = MediaHeader::decode(packet);
    if (!header.ok() || packet.size() > MediaHeader::kMaxDatagram) {
        return reject();
    }
    if (header->kind == MediaKind::Probe) {
        if (!from || fromTrunk) {
            return d; // probes belong on UDP; a tunnelled one teaches nothing
        }
        return routeProbe(packet, header->sessionId, header->sequence, *from, fd, now);
    }
    uint64_t peer = 0;
    {
        Shard& s = shardOf(header->sessionId);
        std::lock_guard lock(s.mutex);
        auto it = s.sessions.find(header->sessionId);
        if (it == s.sessions.end()) {
            return reject();
        }
        Session& me = it->second;
        if (fromTrunk || me.trunk) {
            // A far side's media comes only out of its relay's trunk, and the
            // trunk carries only far sides' media.
            // ... and only from that relay's address.
            if (!(fromTrunk && me.trunk) || (from && !(me.address == *from))) {
                if (fromTrunk) {
                    trunkRejected.fetch_add(1, std::memory_order_relaxed);
                }
                return reject();
            }
            trunkReceived.fetch_add(1, std::memory_order_relaxed);
        } else if (from) {
            // Only the address a valid probe set: anything else (a replay,
            // a forgery, a side whose NAT just rebound and has not probed
            // yet) is dropped before it counts or moves anything.
            if (!me.haveUdp || !(me.address == *from)) {
                strayPackets.fetch_add(1, std::memory_order_relaxed);
                Delivery r = reject();
                // Maybe its NAT rebound: ask it (over TLS) to probe now
                // rather than at its next periodic probe. Whoever sent this
                // gets nothing; the side only probes from where it is.
                if (me.haveKey && now - me.lastProbeRequest >= kProbeRequestInterval) {
                    me.lastProbeRequest = now;
                    r.askProbe = true;
                    r.connection = me.connection;
                    probeRequests.fetch_add(1, std::memory_order_relaxed);
                }
                return r;
            }
            me.lastUdp = now;
        } else {
            me.lastTunnel = now;
        }
        MediaDirectionStats& st = me.stats;
        ++st.packets;
        st.bytes += packet.size();
        const uint64_t seq = header->sequence;
        if (!me.seenAny) {
            me.seenAny = true;
            me.firstSeq = me.maxSeq = seq;
        } else if (seq > me.maxSeq) {
            me.maxSeq = seq;
        } else if (seq < me.firstSeq) {
            me.firstSeq = seq;
        }
        st.expected = me.maxSeq - me.firstSeq + 1;
        st.lost = st.expected > st.packets ? st.expected - st.packets : 0;
        // RFC 3550 6.4.1: transit = arrival - send time; J += (|D| - J) / 16.
        const int64_t arrivalUs =
            std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
        const int64_t transit = arrivalUs - int64_t(header->timestampUs);
        if (st.packets > 1) {
            const double delta = std::fabs(double(transit - me.lastTransitUs));
            st.jitterUs += (delta - st.jitterUs) / 16.0;
        }
        me.lastTransitUs = transit;
        peer = me.peer;
    }
    Shard& s = shardOf(peer);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(peer);
    if (it == s.sessions.end()) {
        droppedPackets.fetch_add(1, std::memory_order_relaxed);
        return d;
    }
    Session& other = it->second;
    if (other.trunk) {
        d.kind = Delivery::Kind::Trunk;
        d.fd = other.fd;
        d.to = other.address;
        trunkSent.fetch_add(1, std::memory_order_relaxed);
        forwardedPackets.fetch_add(1, std::memory_order_relaxed);
        forwardedBytes.fetch_add(packet.size(), std::memory_order_relaxed);
        return d;
    }
    // Its own tunnelled media newer than its last UDP packet: its UDP is not
    // getting through (UdpTransport switched), so answer through the tunnel.
    if (other.haveUdp && now - other.lastUdp <= freshness_ && other.lastUdp >= other.lastTunnel) {
        d.kind = Delivery::Kind::Udp;
        d.fd = other.fd;
        d.to = other.address;
        other.lastSentUdp = now;
    } else {
        d.kind = Delivery::Kind::Tunnel;
        d.connection = other.connection;
    }
    forwardedPackets.fetch_add(1, std::memory_order_relaxed);
    forwardedBytes.fetch_add(packet.size(), std::memory_order_relaxed);
    return d;
}

} // namespace voice
