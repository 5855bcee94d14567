// SPDX-License-Identifier: MIT
// UniqueFd: sole owner of a file descriptor, closed on destruction.
#pragma once

#include <utility>

namespace voice {

/// Owns one file descriptor. Move-only; closes on destruction or reset().
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }

    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool isValid() const { return fd_ >= 0; }
    explicit operator bool() const { return isValid(); }

    /// Gives up ownership without closing; returns the descriptor.
    int release() { return std::exchange(fd_, -1); }
    /// Closes the current descriptor (if any) and takes ownership of fd.
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

} // namespace voice
