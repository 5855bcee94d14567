// SPDX-License-Identifier: MIT
// MediaTransport: how the audio pipeline's packets leave and arrive, without knowing about sockets.
#pragma once

#include "core/result.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace voice {

/// Counters of one transport endpoint. Any thread; relaxed snapshots.
struct MediaTransportStats {
    uint64_t packetsSent = 0;     ///< handed to the network
    uint64_t packetsDropped = 0;  ///< refused by send(): full, too big, or shut down
    uint64_t packetsLost = 0;     ///< simulated loss (test transports only)
    uint64_t packetsReceived = 0; ///< returned by receive()
};

/// One end of a media path (to the relay, or in-process for tests).
///
/// Threads: send() is called by one thread (the transmitter), receive() by
/// one other thread (the receiver); shutdown() and stats() by any thread.
/// An implementation must never make send() wait for the network: when the
/// way out is full the packet is dropped and counted, as UDP would.
class MediaTransport {
public:
    virtual ~MediaTransport() = default;
    MediaTransport(const MediaTransport&) = delete;
    MediaTransport& operator=(const MediaTransport&) = delete;

    /// Transmitter thread. Sends one whole packet (header ‖ sealed payload).
    /// Returns false when it was dropped (counted); never blocks for long.
    virtual bool send(std::span<const uint8_t> packet) = 0;

    /// Receiver thread. Waits up to `timeout` for one packet and copies it
    /// into `buffer`. Returns its size, 0 on timeout, Errc::Closed once
    /// shutdown() was called. A packet larger than `buffer` is dropped.
    virtual Result<size_t> receive(std::span<uint8_t> buffer, std::chrono::nanoseconds timeout) = 0;

    /// Any thread. Wakes a waiting receive(); later receive() calls return
    /// Closed and send() drops. Idempotent.
    virtual void shutdown() = 0;

    /// Any thread.
    virtual MediaTransportStats stats() const = 0;

protected:
    MediaTransport() = default;
};

} // namespace voice
