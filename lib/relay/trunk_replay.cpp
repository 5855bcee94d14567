// SPDX-License-Identifier: MIT
// Trunk replay protection: sliding windows per sender epoch.
#include "relay/trunk_replay.h"

#include <algorithm>

namespace voice::trunk {

Verdict ReplayWindow::accept(uint64_t sequence) {
    if (!started_) {
        started_ = true;
        top_ = sequence;
    } else if (sequence > top_) {
        // Clear the words between the old top's and the new one's: they
        // held numbers that have now left the window.
        const uint64_t from = top_ / 64;
        const uint64_t steps = std::min(sequence / 64 - from, kWords);
        for (uint64_t i = 1; i <= steps; ++i) {
            bits_[(from + i) % kWords] = 0;
        }
        top_ = sequence;
    } else if (top_ - sequence >= kSize) {
        return Verdict::TooOld;
    }
    uint64_t& word = bits_[(sequence / 64) % kWords];
    const uint64_t bit = uint64_t(1) << (sequence % 64);
    if (word & bit) {
        return Verdict::Duplicate;
    }
    word |= bit;
    return Verdict::Fresh;
}

Verdict ReplayGuard::accept(uint64_t epoch, uint64_t sequence) {
    std::lock_guard lock(mutex_);
    Slot* slot = nullptr;
    for (size_t i = 0; i < used_; ++i) {
        if (slots_[i].epoch == epoch) {
            slot = &slots_[i];
            break;
        }
    }
    if (!slot) {
        if (used_ < kMaxSenders) {
            slot = &slots_[used_++];
        } else {
            slot = &slots_[0];
            for (size_t i = 1; i < used_; ++i) {
                if (slots_[i].lastFresh < slot->lastFresh) {
                    slot = &slots_[i];
                }
            }
            sendersForgotten.fetch_add(1, std::memory_order_relaxed);
        }
        *slot = Slot{};
        slot->epoch = epoch;
    }
    const Verdict v = slot->window.accept(sequence);
    if (v == Verdict::Fresh) {
        slot->lastFresh = ++clock_;
    } else {
        (v == Verdict::Duplicate ? duplicates : tooOld).fetch_add(1, std::memory_order_relaxed);
    }
    return v;
}

size_t ReplayGuard::senders() const {
    std::lock_guard lock(mutex_);
    return used_;
}

} // namespace voice::trunk
