// SPDX-License-Identifier: MIT
// ReplayWindow bitmap arithmetic.
#include "crypto/replay_window.h"

namespace voice {

bool ReplayWindow::check(uint64_t seq) const {
    if (!any_ || seq > top_) {
        return true;
    }
    if (top_ - seq >= kSize) {
        return false; // too old to tell: refuse
    }
    const uint64_t word = bits_[(seq >> 6) % kWords];
    return (word & (uint64_t{1} << (seq & 63))) == 0;
}

void ReplayWindow::accept(uint64_t seq) {
    if (!any_) {
        any_ = true;
        top_ = seq;
    } else if (seq > top_) {
        // Clear the words the window slides over; at most all of them.
        const uint64_t oldWord = top_ >> 6;
        const uint64_t newWord = seq >> 6;
        const uint64_t steps = newWord - oldWord < kWords ? newWord - oldWord : kWords;
        for (uint64_t i = 1; i <= steps; ++i) {
            bits_[(oldWord + i) % kWords] = 0;
        }
        top_ = seq;
    }
    bits_[(seq >> 6) % kWords] |= uint64_t{1} << (seq & 63);
}

} // namespace voice
