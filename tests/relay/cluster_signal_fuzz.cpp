// SPDX-License-Identifier: MIT
// Fuzz target: relay-to-relay call signals through ClusterSignal::decode; what decodes round-trips.
#include "relay/cluster_signals.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto signal = voice::ClusterSignal::decode(text);
    if (!signal) {
        return 0;
    }
    // encode() is canonical: decoding it gives the same text again.
    const std::string once = signal->encode();
    auto again = voice::ClusterSignal::decode(once);
    if (!again || again->encode() != once || once.size() > voice::ClusterSignal::kMaxEncoded) {
        std::abort();
    }
    return 0;
}
