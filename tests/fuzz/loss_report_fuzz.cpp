// SPDX-License-Identifier: MIT
// Fuzz target: LossReport::decode on arbitrary bytes. Whatever decodes must
// be in range and encode back to the same 16 bytes.
#include "wire/loss_report.h"

#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto report = voice::LossReport::decode(std::span<const uint8_t>(data, size));
    if (!report.ok()) {
        return 0;
    }
    if (report->intervalMs == 0 || report->intervalMs > voice::LossReport::kMaxIntervalMs ||
        report->lossPercent() >= 100.0) {
        abort();
    }
    uint8_t again[voice::LossReport::kSize];
    report->encode(again);
    if (std::memcmp(again, data, sizeof(again)) != 0) {
        abort();
    }
    return 0;
}
