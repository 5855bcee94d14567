// SPDX-License-Identifier: MIT
// SendPacer: keeps voiced's frames to the relay under the relay's per-connection message limit.
//
// The relay closes a connection that sends more than 100 frames/s (burst
// 200), counting every frame: hello, register, keepalives, handshakes,
// tunnelled media. A client that trips it loses its registration and misses
// calls, so voiced paces itself with a smaller token bucket (80/s, burst
// 160: a sequence that fits ours fits the relay's, with room for frames
// that TCP delivers in a bunch). Control frames that find no token wait in
// a bounded queue, in order; tunnelled media never waits (late audio is
// useless) and never takes the last kControlReserve tokens; a new call is
// refused up front (hasHeadroom()) rather than queued.
//
// Threads: not thread-safe; the control thread owns it (RelayClient).
#pragma once

#include "net/clock.h"
#include "net/rate_limiter.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace voice {

class SendPacer {
public:
    static constexpr double kRate = 80;   ///< frames per second (the relay allows 100)
    static constexpr double kBurst = 160; ///< (the relay allows 200)
    static constexpr size_t kMaxQueued = 128;
    /// Tokens only control frames may take (tunnelled media leaves them).
    static constexpr double kControlReserve = 40;

    enum class Verdict {
        SendNow, ///< a token was taken: write the frame now
        Queued,  ///< kept; takeDue() hands it out when a token is there
        Dropped, ///< the queue is full (the frame is lost)
    };

    explicit SendPacer(const MonotonicClock& clock, double rate = kRate, double burst = kBurst,
                       size_t maxQueued = kMaxQueued);

    /// A control frame: sent now only when nothing waits before it.
    Verdict offer(const std::vector<uint8_t>& frame);
    /// A tunnelled media frame: true (token taken) if it may go now; never queued.
    bool offerMedia();
    /// The next queued frame whose token is there (taken), in order; nullopt if none.
    std::optional<std::vector<uint8_t>> takeDue();
    /// How long until the first queued frame gets its token; nullopt when nothing waits.
    std::optional<std::chrono::milliseconds> nextDue();
    /// True when `frames` more control frames (and the reserve) fit now,
    /// with nothing queued: a new call may start.
    bool hasHeadroom(double frames);
    /// Forgets the queue (the connection it was for is gone).
    void clearQueue() { queue_.clear(); }
    size_t queued() const { return queue_.size(); }

private:
    double rate_;
    size_t maxQueued_;
    TokenBucket bucket_;
    std::deque<std::vector<uint8_t>> queue_;
};

} // namespace voice
