// SPDX-License-Identifier: MIT
// Fuzz target: MediaHeader::decode on arbitrary bytes. Whatever decodes must
// encode back to the same 28 bytes. The same bytes as a UDP probe: the MAC
// check never reads out of bounds and refuses what it did not make.
#include "crypto/probe_auth.h"
#include "wire/media_header.h"

#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::array<uint8_t, voice::probe_auth::kKeySize> key{0x42};
    const std::span<const uint8_t> bytes(data, size);
    if (voice::probe_auth::verify(key, bytes)) {
        // Only a probe made under this key (a seed) gets here: one changed bit must fail.
        std::vector<uint8_t> changed(bytes.begin(), bytes.end());
        changed[size / 2] ^= 1;
        if (voice::probe_auth::verify(key, changed)) {
            abort();
        }
    }
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
