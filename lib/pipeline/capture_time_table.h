// SPDX-License-Identifier: MIT
// CaptureTimeTable: capture time per sequence number, from the receiver to the player, lock-free.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

namespace voice {

/// A small direct-mapped table: slot = sequence % kSlots. Each slot is one
/// 64-bit atomic holding the 32-bit sequence number and the low 32 bits of
/// the capture time in microseconds, so a reader never sees a torn entry.
/// The high bits come back from the reader's clock: a frame is played
/// within seconds of its capture, far less than the 71 minutes that 32 bits
/// of microseconds cover.
///
/// Threads: put() from one thread (the receiver), find() from one other
/// thread (the player); both lock-free and allocation-free.
class CaptureTimeTable {
public:
    /// More than the jitter buffer's window, so an entry outlives its frame's playout.
    static constexpr size_t kSlots = 256;

    /// Receiver thread. Overwrites whatever the slot held.
    void put(uint32_t sequence, uint64_t captureUs) {
        const uint64_t entry = (uint64_t{sequence} << 32) | (captureUs & 0xffffffffu);
        slots_[sequence % kSlots].store(entry, std::memory_order_relaxed);
    }

    /// Player thread. The capture time of `sequence`, given the reader's
    /// clock nowUs (same clock as the capture times), or nullopt when the
    /// slot holds another sequence number (never received, or overwritten).
    std::optional<uint64_t> find(uint32_t sequence, uint64_t nowUs) const {
        const uint64_t entry = slots_[sequence % kSlots].load(std::memory_order_relaxed);
        if (static_cast<uint32_t>(entry >> 32) != sequence || entry == 0) {
            return std::nullopt;
        }
        // Age of the entry modulo 2^32 us; a capture time "in the future"
        // (clock skew between two hosts) shows as a huge age and is refused.
        const auto age =
            static_cast<uint32_t>(static_cast<uint32_t>(nowUs) - static_cast<uint32_t>(entry));
        if (age > kMaxAgeUs || age > nowUs) {
            return std::nullopt;
        }
        return nowUs - age;
    }

private:
    static constexpr uint32_t kMaxAgeUs = 60'000'000; // one minute

    std::array<std::atomic<uint64_t>, kSlots> slots_{};
};

} // namespace voice
