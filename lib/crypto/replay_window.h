// SPDX-License-Identifier: MIT
// ReplayWindow: accepts each sequence number at most once, within a sliding window.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace voice {

/// A sliding bitmap over the last kSize sequence numbers (RFC 6479 style,
/// word-granular, with one spare word so the full kSize is usable).
///
/// Use check() before authenticating a packet and accept() only after its
/// tag verified, so forged packets can never move the window. Not
/// thread-safe: owned by the receiving thread. No allocation.
class ReplayWindow {
public:
    static constexpr uint64_t kSize = 1024;

    /// True if seq is new: ahead of the window, or inside it and not seen.
    bool check(uint64_t seq) const;
    /// Marks seq as seen and slides the window forward if seq is the newest.
    /// Call only for a seq that check() accepted and that authenticated.
    void accept(uint64_t seq);

    void reset() { *this = ReplayWindow(); }

private:
    static constexpr size_t kWords = kSize / 64 + 1;

    std::array<uint64_t, kWords> bits_{};
    uint64_t top_ = 0; // highest accepted sequence number
    bool any_ = false; // top_ is meaningful
};

} // namespace voice
