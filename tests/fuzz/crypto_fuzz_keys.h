// SPDX-License-Identifier: MIT
// The fixed media keys the crypto fuzz targets and their seed generator share.
#pragma once

#include "crypto/media_cipher.h"

namespace voice::fuzz {

/// key = 00 01 02 ... 1f, aux = 64 65 66 ... (never used outside fuzzing).
inline DirectionKeys fixedMediaKeys() {
    DirectionKeys k{SecureBytes(DirectionKeys::kKeySize), SecureBytes(DirectionKeys::kAuxSize)};
    for (size_t i = 0; i < k.key.size(); ++i) {
        k.key.data()[i] = static_cast<uint8_t>(i);
        k.aux.data()[i] = static_cast<uint8_t>(100 + i);
    }
    return k;
}

} // namespace voice::fuzz
