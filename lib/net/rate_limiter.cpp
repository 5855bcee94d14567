// SPDX-License-Identifier: MIT
// Rate limits: token bucket arithmetic and bounded per-source tables.
#include "net/rate_limiter.h"

#include <algorithm>
#include <cstring>
#include <netinet/in.h>

namespace voice {

TokenBucket::TokenBucket(const MonotonicClock& clock, double ratePerSecond, double burst)
    : clock_(clock), rate_(std::max(0.0, ratePerSecond)), burst_(std::max(0.0, burst)),
      tokens_(burst_), last_(clock.now()) {}

void TokenBucket::refill() {
    const auto now = clock_.now();
    if (now <= last_) {
        return;
    }
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + seconds * rate_);
    last_ = now;
}

bool TokenBucket::tryTake(double tokens) {
    refill();
    if (tokens_ + 1e-9 < tokens) {
        return false;
    }
    tokens_ = std::max(0.0, tokens_ - tokens);
    return true;
}

double TokenBucket::available() {
    refill();
    return tokens_;
}

bool TokenBucket::full() {
    return available() >= burst_;
}

std::string sourceKey(const SocketAddress& address) {
    const SocketAddress a = address.unmapped();
    if (a.family() == AF_INET6) {
        SocketAddress masked = a;
        auto* m6 = reinterpret_cast<sockaddr_in6*>(masked.mutableData());
        std::memset(&m6->sin6_addr.s6_addr[8], 0, 8);
        return masked.hostString() + "/64";
    }
    return a.hostString();
}

Status ConnectionLimiter::tryAcquire(const SocketAddress& address) {
    const std::string key = sourceKey(address);
    auto it = counts_.find(key);
    if (it == counts_.end()) {
        if (counts_.size() >= maxSources_) {
            return Status(Errc::Busy, "too many client addresses connected (" +
                                          std::to_string(maxSources_) + ")");
        }
        if (maxPerSource_ == 0) {
            return Status(Errc::Busy, "too many connections from " + key);
        }
        counts_.emplace(key, 1);
        return {};
    }
    if (it->second >= maxPerSource_) {
        return Status(Errc::Busy, "too many connections from " + key);
    }
    ++it->second;
    return {};
}

void ConnectionLimiter::release(const SocketAddress& address) {
    auto it = counts_.find(sourceKey(address));
    if (it == counts_.end()) {
        return;
    }
    if (--it->second == 0) {
        counts_.erase(it);
    }
}

size_t ConnectionLimiter::count(const SocketAddress& address) const {
    auto it = counts_.find(sourceKey(address));
    return it == counts_.end() ? 0 : it->second;
}

bool PendingConnections::full(const SocketAddress& address) const {
    return count(address) >= maxPerSource_;
}

const std::vector<uint64_t>& PendingConnections::of(const SocketAddress& address) const {
    static const std::vector<uint64_t> kNone;
    auto it = ids_.find(sourceKey(address));
    return it == ids_.end() ? kNone : it->second;
}

void PendingConnections::add(const SocketAddress& address, uint64_t id) {
    ids_[sourceKey(address)].push_back(id);
}

void PendingConnections::remove(const SocketAddress& address, uint64_t id) {
    auto it = ids_.find(sourceKey(address));
    if (it == ids_.end()) {
        return;
    }
    std::erase(it->second, id);
    if (it->second.empty()) {
        ids_.erase(it);
    }
}

SourceRateLimiter::SourceRateLimiter(const MonotonicClock& clock, double ratePerSecond,
                                     double burst, size_t maxSources)
    : clock_(clock), rate_(ratePerSecond), burst_(burst),
      maxSources_(std::max<size_t>(1, maxSources)) {}

void SourceRateLimiter::makeRoom() {
    // Evict from the least recently used end: O(1) per new source even under
    // a flood of distinct addresses. A refilled (full) bucket is as good as
    // new, so dropping it loses nothing; otherwise the oldest source goes.
    while (!lru_.empty() && buckets_.size() >= maxSources_) {
        buckets_.erase(lru_.back());
        lru_.pop_back();
    }
}

bool SourceRateLimiter::tryTake(const SocketAddress& address) {
    std::string key = sourceKey(address);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
        if (buckets_.size() >= maxSources_) {
            makeRoom();
        }
        lru_.push_front(key);
        it = buckets_
                 .emplace(std::move(key), Entry{TokenBucket(clock_, rate_, burst_), lru_.begin()})
                 .first;
    } else {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
    }
    return it->second.bucket.tryTake();
}

} // namespace voice
