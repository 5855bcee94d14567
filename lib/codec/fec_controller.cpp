// SPDX-License-Identifier: MIT
// FecController: hysteresis over the reported loss.
#include "codec/fec_controller.h"

#include <algorithm>
#include <cmath>

namespace voice {

FecController::Decision FecController::update(double lossPercent, std::chrono::nanoseconds now) {
    const int64_t nowNs = now.count();
    lossPercent = std::clamp(std::isfinite(lossPercent) ? lossPercent : 0.0, 0.0, 100.0);
    if (haveLast_ && nowNs > lastNs_) {
        const double seconds =
            static_cast<double>(std::min<int64_t>(nowNs - lastNs_, 100'000'000'000)) / 1e9;
        peak_ = std::max(0.0, peak_ - seconds * config_.decayPercentPerSecond);
    }
    haveLast_ = true;
    lastNs_ = nowNs;
    peak_ = std::max(peak_, lossPercent);

    const bool was = fec_;
    const int wasExpected = expected_;
    if (lossPercent >= config_.onPercent) {
        fec_ = true;
    }
    if (lossPercent >= config_.offPercent) {
        calm_ = false;
    } else if (!calm_) {
        calm_ = true;
        calmSinceNs_ = nowNs;
    }
    if (fec_ && calm_ && nowNs - calmSinceNs_ >= config_.calmPeriod.count()) {
        fec_ = false;
    }
    if (fec_) {
        // Plan for somewhat more than seen: loss comes in bursts.
        expected_ =
            std::clamp(static_cast<int>(std::ceil(peak_ * 1.25)), 1, config_.maxExpectedLoss);
    } else {
        expected_ = 0;
    }
    return {fec_, expected_, fec_ != was || expected_ != wasExpected};
}

} // namespace voice
