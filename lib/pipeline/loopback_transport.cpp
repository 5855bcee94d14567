// SPDX-License-Identifier: MIT
// LoopbackTransport: a datagram socketpair, simulated loss on send, delay and jitter on receive.
#include "pipeline/loopback_transport.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace voice {
namespace {

int64_t monotonicNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Status checkImpairment(const LinkImpairment& link) {
    if (!(link.lossRate >= 0 && link.lossRate <= 1)) {
        return Status(Errc::InvalidArgument, "loss rate must be within 0..1");
    }
    // A burst of mean length b needs the good state to last (1-loss)/loss
    // times as long as the bad one: loss = b / (b + good), good >= 1 packet.
    if (!(link.burstLength >= 1 && link.burstLength <= 1000) ||
        (link.burstLength > 1 && link.lossRate >= link.burstLength / (link.burstLength + 1))) {
        return Status(Errc::InvalidArgument,
                      "burst length must be within 1..1000 and leave room for the good state");
    }
    if (link.delay.count() < 0 || link.jitter.count() < 0 ||
        link.delay + link.jitter > std::chrono::seconds(10)) {
        return Status(Errc::InvalidArgument, "delay and jitter must be within 0..10 s");
    }
    return {};
}

} // namespace

Result<LoopbackTransport::Pair> LoopbackTransport::makePair(const LinkImpairment& aToB,
                                                            const LinkImpairment& bToA) {
    if (Status s = checkImpairment(aToB); !s) {
        return s;
    }
    if (Status s = checkImpairment(bToA); !s) {
        return s;
    }
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        return Status::fromErrno(Errc::Io, errno, "socketpair");
    }
    UniqueFd sa(fds[0]), sb(fds[1]);
    UniqueFd wa(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    UniqueFd wb(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (wa.get() < 0 || wb.get() < 0) {
        return Status::fromErrno(Errc::Io, errno, "eventfd");
    }
    Pair pair;
    pair.a.reset(new LoopbackTransport(std::move(sa), std::move(wa), aToB, bToA));
    pair.b.reset(new LoopbackTransport(std::move(sb), std::move(wb), bToA, aToB));
    return pair;
}

LoopbackTransport::LoopbackTransport(UniqueFd socket, UniqueFd wake, const LinkImpairment& out,
                                     const LinkImpairment& in)
    : socket_(std::move(socket)), wake_(std::move(wake)), out_(out), in_(in), sendRandom_(out.seed),
      receiveRandom_(in.seed ^ 0x9e3779b97f4a7c15ull), held_(kHoldSlots), scratch_(kMaxPacket + 1) {
}

LoopbackTransport::~LoopbackTransport() = default;

// splitmix64: tiny, seedable, and the same sequence on every platform.
uint64_t LoopbackTransport::next(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double LoopbackTransport::uniform(uint64_t& state) {
    return static_cast<double>(next(state) >> 11) * 0x1.0p-53;
}

bool LoopbackTransport::loseNext() {
    if (out_.lossRate <= 0) {
        return false;
    }
    if (out_.burstLength <= 1) {
        return uniform(sendRandom_) < out_.lossRate;
    }
    // Gilbert-Elliott: leave the bad state with r = 1/burst; enter it with
    // p chosen so that p / (p + r) = lossRate.
    const double r = 1.0 / out_.burstLength;
    const double p = out_.lossRate * r / (1.0 - out_.lossRate);
    inBurst_ = uniform(sendRandom_) < (inBurst_ ? 1.0 - r : p);
    return inBurst_;
}

bool LoopbackTransport::send(std::span<const uint8_t> packet) {
    if (shutdown_.load(std::memory_order_acquire) || packet.empty() || packet.size() > kMaxPacket) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    // Drawn before the socket is tried, so the loss pattern depends only on
    // the seed and the packet count, not on which packets found it full.
    if (loseNext()) {
        lost_.fetch_add(1, std::memory_order_relaxed);
        return true; // gone on the "network": the sender cannot tell
    }
    const ssize_t n = ::send(socket_.get(), packet.data(), packet.size(), MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(packet.size())) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    sent_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void LoopbackTransport::drainSocket(int64_t nowNs) {
    while (heldCount_ < held_.size()) {
        const ssize_t n = ::recv(socket_.get(), scratch_.data(), scratch_.size(), MSG_DONTWAIT);
        if (n < 0) {
            return; // EAGAIN (empty) or the peer is gone: nothing more now
        }
        if (n == 0 || static_cast<size_t>(n) > kMaxPacket) {
            continue; // cannot happen with our own sender; drop
        }
        int64_t due = nowNs;
        if (in_.delay.count() > 0 || in_.jitter.count() > 0) {
            const double extra = uniform(receiveRandom_) * static_cast<double>(in_.jitter.count());
            due += (in_.delay.count() + static_cast<int64_t>(extra)) * 1000;
        }
        auto slot = std::find_if(held_.begin(), held_.end(), [](const Held& h) { return !h.used; });
        slot->used = true;
        slot->dueNs = due;
        slot->order = arrivals_++;
        slot->size = static_cast<uint16_t>(n);
        std::memcpy(slot->bytes, scratch_.data(), static_cast<size_t>(n));
        ++heldCount_;
    }
}

Result<size_t> LoopbackTransport::receive(std::span<uint8_t> buffer,
                                          std::chrono::nanoseconds timeout) {
    const int64_t deadline = monotonicNs() + std::max<int64_t>(0, timeout.count());
    for (;;) {
        if (shutdown_.load(std::memory_order_acquire)) {
            return Status(Errc::Closed, "transport shut down");
        }
        const int64_t now = monotonicNs();
        drainSocket(now);
        // The packet due first (without delay or jitter: the oldest).
        Held* first = nullptr;
        for (Held& h : held_) {
            if (h.used && (first == nullptr || h.dueNs < first->dueNs ||
                           (h.dueNs == first->dueNs && h.order < first->order))) {
                first = &h;
            }
        }
        if (first != nullptr && first->dueNs <= now) {
            first->used = false;
            --heldCount_;
            if (first->size > buffer.size()) {
                continue; // the caller's buffer is too small: drop, as recv would truncate
            }
            std::memcpy(buffer.data(), first->bytes, first->size);
            received_.fetch_add(1, std::memory_order_relaxed);
            return size_t{first->size};
        }
        if (now >= deadline) {
            return size_t{0};
        }
        int64_t until = deadline;
        if (first != nullptr) {
            until = std::min(until, first->dueNs);
        }
        const int64_t waitNs = until - now;
        timespec ts{static_cast<time_t>(waitNs / 1'000'000'000),
                    static_cast<long>(waitNs % 1'000'000'000)};
        pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        // With the holding area full, only the due time or a shutdown matter.
        const nfds_t count = heldCount_ < held_.size() ? 2 : 1;
        pollfd* watch = count == 2 ? fds : fds + 1;
        if (ppoll(watch, count, &ts, nullptr) < 0 && errno != EINTR) {
            return Status::fromErrno(Errc::Io, errno, "ppoll");
        }
    }
}

void LoopbackTransport::shutdown() {
    if (!shutdown_.exchange(true, std::memory_order_acq_rel)) {
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof(one));
    }
}

MediaTransportStats LoopbackTransport::stats() const {
    MediaTransportStats s;
    s.packetsSent = sent_.load(std::memory_order_relaxed);
    s.packetsDropped = dropped_.load(std::memory_order_relaxed);
    s.packetsLost = lost_.load(std::memory_order_relaxed);
    s.packetsReceived = received_.load(std::memory_order_relaxed);
    return s;
}

} // namespace voice
