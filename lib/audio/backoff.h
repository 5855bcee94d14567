// SPDX-License-Identifier: MIT
// Backoff: the growing delays between attempts to reopen a lost device.
#pragma once

#include <chrono>

namespace voice {

/// Exponential back-off: initial, 2x initial, 4x initial ... capped at max.
/// Not thread-safe; one owner.
class Backoff {
public:
    using Duration = std::chrono::milliseconds;

    /// initial > 0, max >= initial (max is raised to initial otherwise).
    Backoff(Duration initial, Duration max);

    /// The delay to wait before the next attempt; each call doubles the next.
    Duration next();
    /// After a success: the next delay is `initial` again.
    void reset() { current_ = initial_; }

private:
    Duration initial_;
    Duration max_;
    Duration current_;
};

} // namespace voice
