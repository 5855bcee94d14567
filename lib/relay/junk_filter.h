// SPDX-License-Identifier: MIT
// JunkFilter: a per-source limit on junk datagrams (bad header, unknown session) at the relay.
#pragma once

#include "net/socket.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace voice {

/// Counts, per source (sourceKey(): IPv4 address or IPv6 /64), the datagrams
/// the media router rejected, in a token bucket of `ratePerSecond` with
/// `burst`. A source that empties its bucket is limited for `penalty`: its
/// datagrams are dropped before they are parsed or looked up, so a flooder
/// costs one table lookup per datagram and cannot touch the session table's
/// locks. Clients send junk only briefly (stale session ids after a relay
/// restart, a few per second each), far below the default budget, so
/// a limited source is a flood; clients sharing its address (NAT) lose media
/// for the penalty — the price of not parsing a flood.
///
/// The table holds at most maxSources entries (one evicted when full), so a
/// flood from many addresses stays bounded too.
///
/// Threading: not thread-safe; each relay media thread owns one.
class JunkFilter {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        double ratePerSecond = 1000;
        double burst = 5000;
        std::chrono::milliseconds penalty{10000};
        size_t maxSources = 4096;
    };

    JunkFilter() : JunkFilter(Limits{}) {}
    explicit JunkFilter(Limits limits) : limits_(limits) {}

    /// Whether to process a datagram from `from` at all: false while it is limited.
    /// Cheap when no source is limited (no lookup at all).
    bool admit(const SocketAddress& from, Clock::time_point now);
    /// Counts a rejected datagram from `from`; true when this one started a
    /// limit (the caller logs it once).
    bool rejected(const SocketAddress& from, Clock::time_point now);

    /// Datagrams dropped unread from limited sources.
    uint64_t droppedUnread() const { return droppedUnread_; }
    /// Times a source was limited.
    uint64_t limitsStarted() const { return limitsStarted_; }
    size_t sources() const { return table_.size(); }

private:
    struct Entry {
        double tokens = 0;
        Clock::time_point refilled;
        Clock::time_point limitedUntil;
    };
    Limits limits_;
    std::unordered_map<std::string, Entry> table_;
    Clock::time_point anyLimitedUntil_{}; // the latest limitedUntil of any entry
    uint64_t droppedUnread_ = 0;
    uint64_t limitsStarted_ = 0;
};

} // namespace voice
