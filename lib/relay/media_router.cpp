// SPDX-License-Identifier: MIT
// MediaRouter: the relay's session-id -> peer table that forwards sealed media and measures it.
#include "relay/media_router.h"

#include "wire/media_header.h"

#include <cmath>
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

void MediaRouter::removeCall(uint64_t sessionA, uint64_t sessionB) {
    for (uint64_t id : {sessionA, sessionB}) {
        Shard& s = shardOf(id);
        std::lock_guard lock(s.mutex);
        s.sessions.erase(id);
    }
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

MediaRouter::Delivery MediaRouter::route(std::span<const uint8_t> packet, const SocketAddress* from,
                                         int fd, Clock::time_point now) {
    Delivery d;
    auto header = MediaHeader::decode(packet);
    if (!header.ok() || packet.size() > MediaHeader::kMaxDatagram) {
        droppedPackets.fetch_add(1, std::memory_order_relaxed);
        return d;
    }
    uint64_t peer = 0;
    {
        Shard& s = shardOf(header->sessionId);
        std::lock_guard lock(s.mutex);
        auto it = s.sessions.find(header->sessionId);
        if (it == s.sessions.end()) {
            droppedPackets.fetch_add(1, std::memory_order_relaxed);
            return d;
        }
        Session& me = it->second;
        if (from) {
            // The session id is a secret only this side got (over TLS), so
            // this packet is its own: follow it to a new address (NAT rebinding,
            // a network change) at once.
            if (!me.haveUdp || !(me.address == *from)) {
                me.address = *from;
            }
            me.fd = fd;
            me.lastUdp = now;
            me.haveUdp = true;
        }
        if (header->kind == MediaKind::Probe) {
            probes.fetch_add(1, std::memory_order_relaxed);
            return d;
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
    const Session& other = it->second;
    if (other.haveUdp && now - other.lastUdp <= freshness_) {
        d.kind = Delivery::Kind::Udp;
        d.fd = other.fd;
        d.to = other.address;
    } else {
        d.kind = Delivery::Kind::Tunnel;
        d.connection = other.connection;
    }
    forwardedPackets.fetch_add(1, std::memory_order_relaxed);
    forwardedBytes.fetch_add(packet.size(), std::memory_order_relaxed);
    return d;
}

} // namespace voice
