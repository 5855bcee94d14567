// SPDX-License-Identifier: MIT
// Rate limits: a token bucket, a per-source bucket table and a per-source connection counter, all
// bounded.
#pragma once

#include "core/result.h"
#include "net/clock.h"
#include "net/socket.h"

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace voice {

/// A token bucket: holds up to `burst` tokens, refilled at `ratePerSecond`.
/// Starts full. Not thread-safe: one per connection or per loop thread.
class TokenBucket {
public:
    TokenBucket(const MonotonicClock& clock, double ratePerSecond, double burst);

    /// Takes `tokens` if that many are available; false (taking none) if not.
    bool tryTake(double tokens = 1.0);
    /// Tokens available now.
    double available();
    /// True when the bucket has refilled completely (it is as good as new).
    bool full();

private:
    void refill();

    const MonotonicClock& clock_;
    double rate_;
    double burst_;
    double tokens_;
    MonotonicClock::TimePoint last_;
};

/// The part of an address a per-source limit counts: the IPv4 address, or
/// the IPv6 /64 prefix (one host usually owns a whole /64). IPv4-mapped
/// IPv6 counts as IPv4; the port is ignored.
std::string sourceKey(const SocketAddress& address);

/// Limits concurrent connections per source and the number of sources
/// tracked. Entries vanish when their count drops to zero, so the table
/// never holds more than maxSources entries. Not thread-safe: owned by one
/// loop thread (a relay with a loop per core keeps one per loop or locks).
class ConnectionLimiter {
public:
    ConnectionLimiter(size_t maxPerSource, size_t maxSources)
        : maxPerSource_(maxPerSource), maxSources_(maxSources) {}

    /// Counts a new connection from address, or refuses it with Busy
    /// ("too many connections from 192.0.2.1").
    Status tryAcquire(const SocketAddress& address);
    /// Uncounts a connection that tryAcquire() accepted.
    void release(const SocketAddress& address);
    size_t count(const SocketAddress& address) const;
    size_t sources() const { return counts_.size(); }

private:
    size_t maxPerSource_;
    size_t maxSources_;
    std::unordered_map<std::string, size_t> counts_;
};

/// Connections per source that have not authenticated yet, in arrival order,
/// at most maxPerSource each. A full source does not refuse the next
/// connection: the caller evicts one of the source's pending connections
/// (of(), oldest first) and then adds the new one, so idle connections from a
/// shared address (a NAT, a busy host) cannot lock out a client that is about
/// to authenticate from it, while each source still holds at most
/// maxPerSource unauthenticated connections. Authenticated connections are
/// removed and counted elsewhere (by a total limit). Entries vanish when their
/// source has no pending connection left. Not thread-safe: one loop thread.
class PendingConnections {
public:
    explicit PendingConnections(size_t maxPerSource) : maxPerSource_(maxPerSource) {}

    /// True when address's source holds maxPerSource pending connections.
    bool full(const SocketAddress& address) const;
    /// The source's pending connection ids, oldest first (empty when none).
    const std::vector<uint64_t>& of(const SocketAddress& address) const;
    /// Counts connection id from address; the caller made room first (full() is false).
    void add(const SocketAddress& address, uint64_t id);
    /// Uncounts id (authenticated or closed); unknown ids are ignored.
    void remove(const SocketAddress& address, uint64_t id);
    size_t count(const SocketAddress& address) const { return of(address).size(); }
    size_t sources() const { return ids_.size(); }
    size_t maxPerSource() const { return maxPerSource_; }

private:
    size_t maxPerSource_;
    std::unordered_map<std::string, std::vector<uint64_t>> ids_;
};

/// A token bucket per source (sourceKey()), in a table of at most
/// maxSources entries; when full, the least recently used source is
/// forgotten (O(1), so a flood of distinct addresses costs no more than
/// one). For connection attempts or registrations per address over time.
/// Size maxSources well above the number of active sources: a forgotten
/// source starts again with a full bucket. Not thread-safe.
class SourceRateLimiter {
public:
    SourceRateLimiter(const MonotonicClock& clock, double ratePerSecond, double burst,
                      size_t maxSources);

    /// Takes one token from the source's bucket; false when it is empty.
    bool tryTake(const SocketAddress& address);
    size_t sources() const { return buckets_.size(); }

private:
    struct Entry {
        TokenBucket bucket;
        std::list<std::string>::iterator lru;
    };
    void makeRoom();

    const MonotonicClock& clock_;
    double rate_;
    double burst_;
    size_t maxSources_;
    std::list<std::string> lru_; // most recently used at the front
    std::unordered_map<std::string, Entry> buckets_;
};

} // namespace voice
