// SPDX-License-Identifier: MIT
// MonotonicClock::system(): the process-wide steady clock.
#include "net/clock.h"

namespace voice {

namespace {
class SteadyClock final : public MonotonicClock {
public:
    TimePoint now() const override { return std::chrono::steady_clock::now(); }
};
} // namespace

const MonotonicClock& MonotonicClock::system() {
    static const SteadyClock clock;
    return clock;
}

} // namespace voice
