// SPDX-License-Identifier: MIT
// PacketQueue: single-producer/single-consumer lock-free queue of fixed-size media packets.
#pragma once

#include "codec/codec_config.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace voice {

/// One received media packet as the receiver hands it to the player.
struct QueuedPacket {
    uint32_t sequence = 0;
    uint32_t timestamp = 0; ///< capture time in samples at the stream rate
    int64_t arrivalNs = 0;  ///< receiver's monotonic clock at arrival
    uint16_t size = 0;      ///< payload bytes used in `payload`
    uint8_t payload[kMaxPayloadBytes];

    std::span<const uint8_t> bytes() const { return {payload, size}; }
};

/// Bounded queue of QueuedPacket slots, allocated once in the constructor.
/// Exactly one producer thread (the receiver) and one consumer thread (the
/// player); both sides are lock-free and never allocate.
class PacketQueue {
public:
    /// capacity is rounded up to a power of two (at least 2).
    explicit PacketQueue(size_t capacity);
    PacketQueue(const PacketQueue&) = delete;
    PacketQueue& operator=(const PacketQueue&) = delete;

    /// Producer thread. Copies the packet in; returns false (and stores
    /// nothing) when the queue is full or the payload is larger than
    /// kMaxPayloadBytes.
    bool push(uint32_t sequence, uint32_t timestamp, int64_t arrivalNs,
              std::span<const uint8_t> payload);

    /// Consumer thread. The oldest packet, or nullptr when empty. The slot
    /// stays valid until pop().
    const QueuedPacket* front() const;
    /// Consumer thread. Releases the slot front() returned.
    void pop();

    size_t capacity() const { return mask_ + 1; }
    /// Any thread; a snapshot.
    size_t size() const;

private:
    std::vector<QueuedPacket> slots_;
    size_t mask_;
    // Monotonic counters (never wrap in practice); own cache lines so the two
    // threads do not share one.
    alignas(64) std::atomic<uint64_t> head_{0}; // next slot to read
    alignas(64) std::atomic<uint64_t> tail_{0}; // next slot to write
};

} // namespace voice
