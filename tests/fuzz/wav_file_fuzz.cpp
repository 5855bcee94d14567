// SPDX-License-Identifier: MIT
// Fuzz target: the WAV reader for ring_file (lib/audio/wav_file.h) must never crash or read out
// of bounds, and what it returns is never more samples than the bytes could hold.
#include "audio/wav_file.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto r = voice::parseWav(std::span<const uint8_t>(data, size), 48000);
    if (r.ok() && (r->empty() || r->size() * 2 > size)) {
        std::abort();
    }
    return 0;
}
