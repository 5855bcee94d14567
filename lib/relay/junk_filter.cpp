// SPDX-License-Identifier: MIT
// JunkFilter: a per-source limit on junk datagrams (bad header, unknown session) at the relay.
#include "relay/junk_filter.h"

#include "net/rate_limiter.h"

#include <algorithm>

namespace voice {

bool JunkFilter::admit(const SocketAddress& from, Clock::time_point now) {
    if (now >= anyLimitedUntil_) {
        return true; // nobody limited: no lookup
    }
    auto it = table_.find(sourceKey(from));
    if (it == table_.end() || now >= it->second.limitedUntil) {
        return true;
    }
    ++droppedUnread_;
    return false;
}

bool JunkFilter::rejected(const SocketAddress& from, Clock::time_point now) {
    std::string key = sourceKey(from);
    auto it = table_.find(key);
    if (it == table_.end()) {
        if (table_.size() >= limits_.maxSources) {
            // Evict one entry, preferring one that is not limited now.
            auto victim = std::find_if(table_.begin(), table_.end(),
                                       [&](const auto& e) { return now >= e.second.limitedUntil; });
            if (victim == table_.end()) {
                victim = table_.begin();
            }
            table_.erase(victim);
        }
        Entry e;
        e.tokens = limits_.burst;
        e.refilled = now;
        it = table_.emplace(std::move(key), e).first;
    }
    Entry& e = it->second;
    const double elapsed = std::chrono::duration<double>(now - e.refilled).count();
    e.tokens = std::min(limits_.burst, e.tokens + std::max(0.0, elapsed) * limits_.ratePerSecond);
    e.refilled = now;
    if (e.tokens >= 1.0) {
        e.tokens -= 1.0;
        return false;
    }
    if (now < e.limitedUntil) {
        return false; // already limited (admit() was skipped by the caller)
    }
    e.limitedUntil = now + limits_.penalty;
    anyLimitedUntil_ = std::max(anyLimitedUntil_, e.limitedUntil);
    e.tokens = limits_.burst; // starts again with a full budget after the penalty
    ++limitsStarted_;
    return true;
}

} // namespace voice
