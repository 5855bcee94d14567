// SPDX-License-Identifier: MIT
// PacketQueue: acquire/release indices over preallocated slots.
#include "codec/packet_queue.h"

#include <bit>
#include <cstring>

namespace voice {

PacketQueue::PacketQueue(size_t capacity)
    : slots_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity)), mask_(slots_.size() - 1) {}

bool PacketQueue::push(uint32_t sequence, uint32_t timestamp, int64_t arrivalNs,
                       std::span<const uint8_t> payload) {
    if (payload.size() > kMaxPayloadBytes) {
        return false;
    }
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    if (tail - head >= slots_.size()) {
        return false;
    }
    QueuedPacket& slot = slots_[tail & mask_];
    slot.sequence = sequence;
    slot.timestamp = timestamp;
    slot.arrivalNs = arrivalNs;
    slot.size = static_cast<uint16_t>(payload.size());
    if (!payload.empty()) {
        std::memcpy(slot.payload, payload.data(), payload.size());
    }
    tail_.store(tail + 1, std::memory_order_release);
    return true;
}

const QueuedPacket* PacketQueue::front() const {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (tail_.load(std::memory_order_acquire) == head) {
        return nullptr;
    }
    return &slots_[head & mask_];
}

void PacketQueue::pop() {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    head_.store(head + 1, std::memory_order_release);
}

size_t PacketQueue::size() const {
    const uint64_t head = head_.load(std::memory_order_acquire);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    return static_cast<size_t>(tail - head);
}

} // namespace voice
