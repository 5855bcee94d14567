// SPDX-License-Identifier: MIT
// MonotonicClock: an injectable steady clock, so rate limits and timeouts are testable without
// sleeping.
#pragma once

#include <atomic>
#include <chrono>

namespace voice {

/// A source of steady time. Implementations are thread-safe.
class MonotonicClock {
public:
    using Duration = std::chrono::steady_clock::duration;
    using TimePoint = std::chrono::steady_clock::time_point;

    virtual ~MonotonicClock() = default;
    virtual TimePoint now() const = 0;

    /// The real std::chrono::steady_clock.
    static const MonotonicClock& system();
};

/// A clock that moves only when told to (tests, simulations).
class ManualClock final : public MonotonicClock {
public:
    explicit ManualClock(TimePoint start = TimePoint(std::chrono::hours(1)))
        : ticks_(start.time_since_epoch().count()) {}
    TimePoint now() const override { return TimePoint(Duration(ticks_.load())); }
    void advance(Duration d) { ticks_.fetch_add(d.count()); }

private:
    std::atomic<Duration::rep> ticks_;
};

} // namespace voice
