// SPDX-License-Identifier: MIT
// LoopbackTransport: two connected in-process MediaTransport endpoints, optionally lossy and
// jittery.
#pragma once

#include "core/result.h"
#include "core/unique_fd.h"
#include "pipeline/media_transport.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace voice {

/// Faults one direction of a loopback link adds, reproducibly from a seed.
struct LinkImpairment {
    /// Fraction of packets lost, 0..1; decided by the sending endpoint.
    double lossRate = 0;
    /// Mean length of a run of lost packets, >= 1. 1: each packet is lost
    /// independently (uniform loss). Above 1: a two-state Gilbert-Elliott
    /// chain (every packet lost in the bad state, none in the good one) with
    /// the same long-run lossRate, leaving the bad state with probability
    /// 1/burstLength per packet.
    double burstLength = 1;
    /// Every packet is held for `delay` plus a uniform random extra of
    /// 0..jitter by the receiving endpoint; packets overtake each other when
    /// the jitter exceeds their spacing, as on a real network.
    std::chrono::microseconds delay{0};
    std::chrono::microseconds jitter{0};
    uint64_t seed = 1;
};

/// One endpoint. The two endpoints of a pair share a SOCK_DGRAM socketpair
/// (so a datagram is a packet, and a full socket buffer makes send() drop
/// rather than wait, as UDP does); shutdown() uses the endpoint's own
/// eventfd to wake its receiver.
///
/// Threads: as MediaTransport. The sending side's random generator belongs
/// to the transmitter thread, the receiving side's (and the holding area
/// for delayed packets, allocated once) to the receiver thread.
class LoopbackTransport final : public MediaTransport {
public:
    /// Largest packet carried (larger ones are dropped by send()).
    static constexpr size_t kMaxPacket = 1200;
    /// Delayed packets the receiving side holds at once; beyond that the
    /// rest wait in the socket buffer.
    static constexpr size_t kHoldSlots = 128;

    struct Pair {
        std::unique_ptr<LoopbackTransport> a;
        std::unique_ptr<LoopbackTransport> b;
    };
    /// Control thread. Two connected endpoints: a sends to b through aToB,
    /// b to a through bToA. InvalidArgument for a loss rate outside 0..1, a
    /// burst length below 1 (or one the loss rate cannot have) or a negative
    /// delay; Io when the sockets cannot be made.
    static Result<Pair> makePair(const LinkImpairment& aToB = {}, const LinkImpairment& bToA = {});

    ~LoopbackTransport() override;

    bool send(std::span<const uint8_t> packet) override;
    Result<size_t> receive(std::span<uint8_t> buffer, std::chrono::nanoseconds timeout) override;
    void shutdown() override;
    MediaTransportStats stats() const override;

private:
    struct Held {
        int64_t dueNs = 0;
        bool used = false;
        uint64_t order = 0; // arrival order, to keep FIFO among equal due times
        uint16_t size = 0;
        uint8_t bytes[kMaxPacket];
    };

    LoopbackTransport(UniqueFd socket, UniqueFd wake, const LinkImpairment& out,
                      const LinkImpairment& in);
    /// Receiver thread: moves what the socket holds into the holding area.
    void drainSocket(int64_t nowNs);
    static uint64_t next(uint64_t& state);
    static double uniform(uint64_t& state);
    /// Transmitter thread: whether the next packet is lost.
    bool loseNext();

    UniqueFd socket_;
    UniqueFd wake_; // eventfd, readable once shut down
    const LinkImpairment out_;
    const LinkImpairment in_;
    uint64_t sendRandom_;          // transmitter thread
    bool inBurst_ = false;         // transmitter thread: Gilbert-Elliott state
    uint64_t receiveRandom_;       // receiver thread
    std::vector<Held> held_;       // receiver thread; size fixed at kHoldSlots
    size_t heldCount_ = 0;         // receiver thread
    uint64_t arrivals_ = 0;        // receiver thread
    std::vector<uint8_t> scratch_; // receiver thread, one packet + 1

    std::atomic<bool> shutdown_{false};
    std::atomic<uint64_t> sent_{0};
    std::atomic<uint64_t> dropped_{0};
    std::atomic<uint64_t> lost_{0};
    std::atomic<uint64_t> received_{0};
};

} // namespace voice
