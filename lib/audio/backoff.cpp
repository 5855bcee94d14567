// SPDX-License-Identifier: MIT
// Backoff: doubling delays with a cap.
#include "audio/backoff.h"

#include <algorithm>

namespace voice {

Backoff::Backoff(Duration initial, Duration max)
    : initial_(std::max(initial, Duration(1))), max_(std::max(max, initial_)), current_(initial_) {}

Backoff::Duration Backoff::next() {
    const Duration delay = current_;
    current_ = current_ >= max_ / 2 ? max_ : current_ * 2;
    return delay;
}

} // namespace voice
