// SPDX-License-Identifier: MIT
// LossReport encode/decode.
#include "wire/loss_report.h"

#include "wire/endian.h"

#include <algorithm>

namespace voice {

uint8_t LossReport::fractionOf(uint64_t lost, uint64_t expected) {
    if (expected == 0) {
        return 0;
    }
    lost = std::min(lost, expected);
    return static_cast<uint8_t>(std::min<uint64_t>(255, lost * 256 / expected));
}

void LossReport::encode(std::span<uint8_t, kSize> out) const {
    out[0] = lossFraction;
    out[1] = 0;
    storeBe16(&out[2], intervalMs);
    storeBe32(&out[4], jitterUs);
    storeBe64(&out[8], highestSequence);
}

Result<LossReport> LossReport::decode(std::span<const uint8_t> in) {
    if (in.size() < kSize) {
        return Status(Errc::Protocol, "loss report shorter than 16 bytes");
    }
    if (in[1] != 0) {
        return Status(Errc::Protocol, "loss report reserved byte set");
    }
    LossReport r;
    r.lossFraction = in[0];
    r.intervalMs = loadBe16(&in[2]);
    r.jitterUs = loadBe32(&in[4]);
    r.highestSequence = loadBe64(&in[8]);
    if (r.intervalMs == 0 || r.intervalMs > kMaxIntervalMs || r.jitterUs > kMaxJitterUs ||
        r.highestSequence > kMaxSequence) {
        return Status(Errc::Protocol, "loss report field out of range");
    }
    return r;
}

} // namespace voice
