// SPDX-License-Identifier: MIT
// FecController: turns the peer's loss reports into Opus in-band FEC settings, with hysteresis.
//
// Policy (issue 8): FEC goes on as soon as a report shows loss at or above
// onPercent, and the expected loss (the redundancy libopus plans for) rises
// with the loss at once: the highest loss reported recently, plus a quarter
// for headroom. It falls back slowly (decayPercentPerSecond) once loss
// drops, and FEC goes off only after loss has stayed below offPercent for
// calmPeriod, so a loss burst every few seconds keeps it on and a single lost
// report changes nothing.
#pragma once

#include <chrono>
#include <cstdint>

namespace voice {

/// How a call's sender uses the peer's loss reports (voiced.conf `fec`).
enum class FecMode : uint8_t {
    Auto, ///< FEC and the expected loss follow the reports (FecController)
    Off,  ///< leave the encoder as configured (CodecConfig::fec)
};

struct FecControllerConfig {
    double onPercent = 1.5;
    double offPercent = 0.5;
    std::chrono::nanoseconds calmPeriod = std::chrono::seconds(10);
    double decayPercentPerSecond = 1.0;
    int maxExpectedLoss = 50;
};

class FecController {
public:
    struct Decision {
        bool fec = false;
        int expectedLossPercent = 0;
        bool changed = false; ///< differs from the previous decision
    };

    explicit FecController(const FecControllerConfig& config = {}) : config_(config) {}

    /// One thread (the pipeline's receiver, where the reports arrive); no
    /// allocation, no locks. `now` is any monotonic clock.
    Decision update(double lossPercent, std::chrono::nanoseconds now);

    bool fec() const { return fec_; }
    int expectedLossPercent() const { return expected_; }

private:
    FecControllerConfig config_;
    bool fec_ = false;
    int expected_ = 0;
    double peak_ = 0; // decaying peak of the reported loss, percent
    int64_t lastNs_ = 0;
    int64_t calmSinceNs_ = 0;
    bool calm_ = true;
    bool haveLast_ = false;
};

} // namespace voice
