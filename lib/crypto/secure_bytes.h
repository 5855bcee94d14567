// SPDX-License-Identifier: MIT
// SecureBytes: a heap buffer for key material that is wiped when it dies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace voice {

/// Fixed-size byte buffer for secrets (keys, shared secrets, key files).
///
/// The bytes are wiped with OPENSSL_cleanse when the buffer is destroyed,
/// assigned over, or cleared. Moving transfers the heap block and leaves the
/// source empty, so no second copy exists. Copying is explicit (clone()) so
/// that secrets are never duplicated by accident. There is deliberately no
/// way to print or log the contents.
class SecureBytes {
public:
    SecureBytes() = default;
    /// size zero-initialised bytes.
    explicit SecureBytes(size_t size);
    /// A copy of bytes (the caller wipes its own copy if it needs to).
    explicit SecureBytes(std::span<const uint8_t> bytes);
    ~SecureBytes() { clear(); }

    SecureBytes(SecureBytes&& other) noexcept;
    SecureBytes& operator=(SecureBytes&& other) noexcept;
    SecureBytes(const SecureBytes&) = delete;
    SecureBytes& operator=(const SecureBytes&) = delete;

    SecureBytes clone() const { return SecureBytes(span()); }

    uint8_t* data() { return data_.get(); }
    const uint8_t* data() const { return data_.get(); }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::span<uint8_t> span() { return {data_.get(), size_}; }
    std::span<const uint8_t> span() const { return {data_.get(), size_}; }

    /// Wipes and frees the bytes; size() becomes 0.
    void clear();
    /// Shrinks the visible size (the tail is wiped). n > size() is ignored.
    void truncate(size_t n);

    /// Constant-time comparison of contents (sizes are not secret).
    bool equals(std::span<const uint8_t> other) const;

private:
    std::unique_ptr<uint8_t[]> data_;
    size_t size_ = 0;
};

} // namespace voice
