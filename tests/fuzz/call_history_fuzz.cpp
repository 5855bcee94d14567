// SPDX-License-Identifier: MIT
// Fuzz target: the call history parser (daemon/call_history.h) must never crash, and what it
// keeps must format and parse back to the same entries.
#include "call_history.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::size_t skipped = 0;
    const auto entries = voice::parseHistory(text, 16, &skipped);
    if (entries.size() > 16) {
        std::abort();
    }
    std::string again;
    for (const auto& e : entries) {
        again += voice::formatHistoryLine(e) + "\n";
    }
    std::size_t skippedAgain = 0;
    if (voice::parseHistory(again, 16, &skippedAgain) != entries || skippedAgain != 0) {
        std::abort();
    }
    return 0;
}
