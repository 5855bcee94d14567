// SPDX-License-Identifier: MIT
// ByteReader: a bounds-checked cursor over a message payload.
#pragma once

#include "wire/endian.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace voice {

/// Reads big-endian fields from the front of a span. Every read checks the
/// remaining length; a short read sets a sticky failure flag and leaves the
/// destination untouched, so a decoder can read all fields and check ok()
/// once (plus atEnd() to refuse trailing bytes).
class ByteReader {
public:
    explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

    bool ok() const { return ok_; }
    size_t remaining() const { return data_.size() - pos_; }
    /// True when every byte was consumed and no read failed.
    bool atEnd() const { return ok_ && pos_ == data_.size(); }

    bool u8(uint8_t& v) {
        if (!take(1)) {
            return false;
        }
        v = data_[pos_ - 1];
        return true;
    }
    bool u16(uint16_t& v) {
        if (!take(2)) {
            return false;
        }
        v = loadBe16(&data_[pos_ - 2]);
        return true;
    }
    bool u32(uint32_t& v) {
        if (!take(4)) {
            return false;
        }
        v = loadBe32(&data_[pos_ - 4]);
        return true;
    }
    bool u64(uint64_t& v) {
        if (!take(8)) {
            return false;
        }
        v = loadBe64(&data_[pos_ - 8]);
        return true;
    }
    template <size_t N>
    bool array(std::array<uint8_t, N>& v) {
        if (!take(N)) {
            return false;
        }
        std::copy_n(&data_[pos_ - N], N, v.begin());
        return true;
    }
    /// A view of the next n bytes (valid as long as the underlying data).
    bool bytes(size_t n, std::span<const uint8_t>& v) {
        if (!take(n)) {
            return false;
        }
        v = data_.subspan(pos_ - n, n);
        return true;
    }
    /// The next n bytes as a string (content is not validated here).
    bool string(size_t n, std::string& v) {
        std::span<const uint8_t> raw;
        if (!bytes(n, raw)) {
            return false;
        }
        v.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
        return true;
    }
    /// Everything that is left.
    std::span<const uint8_t> rest() {
        auto r = data_.subspan(pos_);
        pos_ = data_.size();
        return r;
    }

private:
    bool take(size_t n) {
        if (!ok_ || remaining() < n) {
            ok_ = false;
            return false;
        }
        pos_ += n;
        return true;
    }

    std::span<const uint8_t> data_;
    size_t pos_ = 0;
    bool ok_ = true;
};

} // namespace voice
