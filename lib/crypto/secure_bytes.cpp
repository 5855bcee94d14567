// SPDX-License-Identifier: MIT
// SecureBytes: wiping on destruction, move and clear.
#include "crypto/secure_bytes.h"

#include <cstring>
#include <openssl/crypto.h>
#include <utility>

namespace voice {

SecureBytes::SecureBytes(size_t size) : data_(size ? new uint8_t[size]() : nullptr), size_(size) {}

SecureBytes::SecureBytes(std::span<const uint8_t> bytes) : SecureBytes(bytes.size()) {
    if (!bytes.empty()) {
        std::memcpy(data_.get(), bytes.data(), bytes.size());
    }
}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
    if (this != &other) {
        clear();
        data_ = std::move(other.data_);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void SecureBytes::clear() {
    if (data_) {
        OPENSSL_cleanse(data_.get(), size_);
    }
    data_.reset();
    size_ = 0;
}

void SecureBytes::truncate(size_t n) {
    if (n < size_) {
        OPENSSL_cleanse(data_.get() + n, size_ - n);
        size_ = n;
    }
}

bool SecureBytes::equals(std::span<const uint8_t> other) const {
    if (other.size() != size_) {
        return false;
    }
    return size_ == 0 || CRYPTO_memcmp(data_.get(), other.data(), size_) == 0;
}

} // namespace voice
