// SPDX-License-Identifier: MIT
// Fuzz target: MediaHeader::decode on arbitrary bytes. Whatever decodes must
// encode back to the same 28 bytes.
#include "wire/media_header.h"

#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto header = voice::MediaHeader::decode(std::span<const uint8_t>(data, size));
    if (!header.ok()) {
        return 0;
    }
    uint8_t again[voice::MediaHeader::kSize];
    header->encode(again);
    if (std::memcmp(again, data, sizeof(again)) != 0) {
        abort();
    }
    return 0;
}
