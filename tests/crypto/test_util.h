// SPDX-License-Identifier: MIT
// Small helpers shared by the crypto tests: hex, fixed keys.
#pragma once

#include "crypto/media_cipher.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace voice::test {

inline std::vector<uint8_t> unhex(std::string_view hex) {
    std::vector<uint8_t> out;
    auto nibble = [](char c) -> uint8_t {
        if (c >= '0' && c <= '9') {
            return static_cast<uint8_t>(c - '0');
        }
        return static_cast<uint8_t>(c - 'a' + 10);
    };
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
    }
    return out;
}

inline std::string hex(std::span<const uint8_t> bytes) {
    static const char kHex[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : bytes) {
        s += kHex[b >> 4];
        s += kHex[b & 15];
    }
    return s;
}

/// Deterministic keys for tests: key bytes = seed+i, aux bytes = seed+100+i.
inline DirectionKeys fixedKeys(uint8_t seed) {
    DirectionKeys k{SecureBytes(DirectionKeys::kKeySize), SecureBytes(DirectionKeys::kAuxSize)};
    for (size_t i = 0; i < k.key.size(); ++i) {
        k.key.data()[i] = static_cast<uint8_t>(seed + i);
        k.aux.data()[i] = static_cast<uint8_t>(seed + 100 + i);
    }
    return k;
}

} // namespace voice::test
