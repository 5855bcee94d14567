// SPDX-License-Identifier: MIT
// ByteWriter: appends big-endian fields to an output buffer.
#pragma once

#include "wire/endian.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace voice {

/// Appends big-endian fields to the end of a byte vector. Callers validate
/// lengths before writing; the writer itself does not limit anything.
class ByteWriter {
public:
    explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

    void u8(uint8_t v) { out_.push_back(v); }
    void u16(uint16_t v) {
        uint8_t b[2];
        storeBe16(b, v);
        out_.insert(out_.end(), b, b + 2);
    }
    void u32(uint32_t v) {
        uint8_t b[4];
        storeBe32(b, v);
        out_.insert(out_.end(), b, b + 4);
    }
    void u64(uint64_t v) {
        uint8_t b[8];
        storeBe64(b, v);
        out_.insert(out_.end(), b, b + 8);
    }
    void bytes(std::span<const uint8_t> v) { out_.insert(out_.end(), v.begin(), v.end()); }
    void string(std::string_view v) { out_.insert(out_.end(), v.begin(), v.end()); }

private:
    std::vector<uint8_t>& out_;
};

} // namespace voice
