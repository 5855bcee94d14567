// SPDX-License-Identifier: MIT
// SendPacer: voiced's own limit on frames to the relay.
#include "send_pacer.h"

#include <cmath>

namespace voice {

SendPacer::SendPacer(const MonotonicClock& clock, double rate, double burst, size_t maxQueued)
    : rate_(rate), maxQueued_(maxQueued), bucket_(clock, rate, burst) {}

SendPacer::Verdict SendPacer::offer(const std::vector<uint8_t>& frame) {
    if (queue_.empty() && bucket_.tryTake()) {
        return Verdict::SendNow;
    }
    if (queue_.size() >= maxQueued_) {
        return Verdict::Dropped;
    }
    queue_.push_back(frame);
    return Verdict::Queued;
}

bool SendPacer::offerMedia() {
    if (!queue_.empty() || bucket_.available() < kControlReserve + 1) {
        return false;
    }
    return bucket_.tryTake();
}

std::optional<std::vector<uint8_t>> SendPacer::takeDue() {
    if (queue_.empty() || !bucket_.tryTake()) {
        return std::nullopt;
    }
    std::vector<uint8_t> frame = std::move(queue_.front());
    queue_.pop_front();
    return frame;
}

std::optional<std::chrono::milliseconds> SendPacer::nextDue() {
    if (queue_.empty()) {
        return std::nullopt;
    }
    const double missing = 1.0 - bucket_.available();
    if (missing <= 0) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(1000.0 * missing / rate_)));
}

bool SendPacer::hasHeadroom(double frames) {
    return queue_.empty() && bucket_.available() >= frames + kControlReserve;
}

} // namespace voice
