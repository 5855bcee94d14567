// SPDX-License-Identifier: MIT
// ReconnectBackoff: the delays between voiced's attempts to reach its relay.
//
// Doubling from 0.5 s, capped at 3 s, each delay drawn uniformly from its
// upper half ("equal jitter"). The cap bounds how long a user stays
// unregistered after the relay comes back, whatever the outage length (at
// most 3 s plus the TLS handshake); the jitter keeps a relay's users from
// reconnecting in lockstep after a restart. A relay that is down costs one
// TCP connection attempt every 1.5..3 s per client.
//
// Threads: not thread-safe; one owner (RelayClient, on the control thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace voice {

class ReconnectBackoff {
public:
    static constexpr std::chrono::milliseconds kInitial{500};
    static constexpr std::chrono::milliseconds kMax{3000};

    /// seed 0 draws a random seed (tests pass their own).
    explicit ReconnectBackoff(uint64_t seed = 0);

    /// The delay before the next attempt; each call backs off further.
    std::chrono::milliseconds next();
    /// The next delay's upper bound (before jitter), without drawing it.
    std::chrono::milliseconds ceiling() const { return ceiling_; }
    /// Registered again: start over from kInitial.
    void reset() { ceiling_ = kInitial; }

private:
    std::chrono::milliseconds ceiling_ = kInitial;
    std::mt19937_64 random_;
};

} // namespace voice
