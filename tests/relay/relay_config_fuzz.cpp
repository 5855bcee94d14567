// SPDX-License-Identifier: MIT
// Fuzz target: voice-relayd.conf text through RelayConfig::parse (bounded, never crashes).
#include "relay/relay_config.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto config = voice::RelayConfig::parse(text, "fuzz.conf");
    if (config.ok()) {
        // Whatever parses must respect the documented invariants.
        if (config->maxClients == 0 || config->idleTimeout <= config->keepaliveInterval ||
            config->ringTimeout.count() <= 0) {
            std::abort();
        }
    }
    return 0;
}
