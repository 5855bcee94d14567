// SPDX-License-Identifier: MIT
// ReconnectBackoff: capped, jittered reconnect delays.
#include "reconnect_backoff.h"

#include <algorithm>

namespace voice {

ReconnectBackoff::ReconnectBackoff(uint64_t seed)
    : random_(seed != 0 ? seed
                        : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}()) {}

std::chrono::milliseconds ReconnectBackoff::next() {
    const int64_t high = ceiling_.count();
    std::uniform_int_distribution<int64_t> pick(high / 2, high);
    const std::chrono::milliseconds delay(pick(random_));
    ceiling_ = std::min(ceiling_ * 2, kMax);
    return delay;
}

} // namespace voice
