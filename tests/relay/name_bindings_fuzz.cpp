// SPDX-License-Identifier: MIT
// Fuzz target: bindings/allowlist files through NameBindings::parse; what parses round-trips.
#include "relay/name_bindings.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto table = voice::NameBindings::parse(text, "fuzz");
    if (!table.ok()) {
        return 0;
    }
    // serialize() is canonical: parsing it gives the same table and the same text.
    const std::string once = table->serialize();
    auto again = voice::NameBindings::parse(once, "fuzz");
    if (!again.ok() || again->size() != table->size() || again->serialize() != once) {
        std::abort();
    }
    return 0;
}
