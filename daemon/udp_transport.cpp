// SPDX-License-Identifier: MIT
// UdpTransport: UDP media to the relay with a tunnel fallback.
#include "udp_transport.h"

#include "crypto/probe_auth.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace voice {

int64_t UdpTransport::nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

Result<std::unique_ptr<UdpTransport>> UdpTransport::create(const SocketAddress& relay,
                                                           uint64_t sessionId) {
    std::unique_ptr<UdpTransport> t(new UdpTransport(sessionId));
    t->createdMs_ = nowMs();
    int in = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int out = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (in < 0 || out < 0) {
        if (in >= 0) {
            ::close(in);
        }
        if (out >= 0) {
            ::close(out);
        }
        return Status::fromErrno(Errc::Io, errno, "eventfd");
    }
    t->inWake_ = UniqueFd(in);
    t->outWake_ = UniqueFd(out);
    if (relay.port() != 0) {
        int fd = ::socket(relay.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return Status::fromErrno(Errc::Io, errno, "UDP socket");
        }
        t->udp_ = UniqueFd(fd);
        // "Connected": send() needs no address and only the relay's datagrams arrive.
        if (::connect(fd, relay.data(), relay.length()) != 0) {
            return Status::fromErrno(Errc::Io, errno, "UDP connect to the relay");
        }
        t->udpAvailable_ = true;
        t->relay_ = relay;
    }
    return t;
}

Status UdpTransport::retarget(const SocketAddress& relay) {
    if (!udpAvailable_ || relay == relay_) {
        return Status();
    }
    if (relay.family() != relay_.family() || relay.port() == 0) {
        return Status(Errc::InvalidArgument, "the new relay's media address is of another kind");
    }
    // Connecting a connected UDP socket again moves it to the new peer; the
    // other threads' send()/recv() on it need no pause.
    if (::connect(udp_.get(), relay.data(), relay.length()) != 0) {
        return Status::fromErrno(Errc::Io, errno, "UDP connect to the new relay");
    }
    relay_ = relay;
    return Status();
}

int64_t UdpTransport::udpSilenceMs(int64_t now) const {
    const int64_t last = lastUdpMs_.load(std::memory_order_relaxed);
    return last == 0 ? now - createdMs_ : now - last;
}

bool UdpTransport::tunnelling() const {
    if (!udpAvailable_) {
        return true;
    }
    return udpSilenceMs(nowMs()) > kUdpSilence.count();
}

std::optional<UdpTransport::PathChange> UdpTransport::takePathChange() {
    const uint32_t n = changes_.load(std::memory_order_acquire);
    if (n == seenChanges_) {
        return std::nullopt;
    }
    seenChanges_ = n;
    PathChange c;
    c.tunnel = tunnelMode_.load(std::memory_order_relaxed);
    c.udpSilenceMs = changeSilenceMs_.load(std::memory_order_relaxed);
    c.atMs = changeAtMs_.load(std::memory_order_relaxed);
    return c;
}

bool UdpTransport::send(std::span<const uint8_t> packet) {
    if (closed_.load(std::memory_order_acquire) || packet.size() > MediaHeader::kMaxDatagram) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    const bool tunnel = tunnelling();
    if (udpAvailable_ && tunnel != tunnelMode_.load(std::memory_order_relaxed)) {
        // Only this thread writes the switch fields; the counter publishes them.
        const int64_t now = nowMs();
        tunnelMode_.store(tunnel, std::memory_order_relaxed);
        changeSilenceMs_.store(udpSilenceMs(now), std::memory_order_relaxed);
        changeAtMs_.store(now, std::memory_order_relaxed);
        if (tunnel) {
            switchesToTunnel_.fetch_add(1, std::memory_order_relaxed);
        }
        changes_.fetch_add(1, std::memory_order_release);
    }
    if (!tunnel) {
        ssize_t n = ::send(udp_.get(), packet.data(), packet.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == static_cast<ssize_t>(packet.size())) {
            sent_.fetch_add(1, std::memory_order_relaxed);
            return true;
        }
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    Packet p;
    p.size = static_cast<uint16_t>(packet.size());
    std::memcpy(p.bytes, packet.data(), packet.size());
    if (!outgoing_.tryPush(p)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(outWake_.get(), &one, sizeof one);
    sent_.fetch_add(1, std::memory_order_relaxed);
    tunnelledOut_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

Result<size_t> UdpTransport::receive(std::span<uint8_t> buffer, std::chrono::nanoseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (closed_.load(std::memory_order_acquire)) {
            return Status(Errc::Closed, "transport shut down");
        }
        if (const Packet* p = incoming_.front()) {
            size_t n = p->size;
            const bool fits = n <= buffer.size();
            if (fits) {
                std::memcpy(buffer.data(), p->bytes, n);
            }
            incoming_.pop();
            if (fits) {
                received_.fetch_add(1, std::memory_order_relaxed);
                tunnelledIn_.fetch_add(1, std::memory_order_relaxed);
                return n;
            }
            continue;
        }
        if (udp_.isValid()) {
            ssize_t n = ::recv(udp_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
            if (n > 0 && static_cast<size_t>(n) <= buffer.size()) {
                lastUdpMs_.store(nowMs(), std::memory_order_relaxed);
                if (static_cast<size_t>(n) == probe_auth::kProbeSize) {
                    // Our own probe echoed by the relay while we tunnel: UDP
                    // works again (lastUdpMs_ above); nothing to play.
                    auto h =
                        MediaHeader::decode(std::span<const uint8_t>(buffer.data(), size_t(n)));
                    if (h.ok() && h->kind == MediaKind::Probe && h->sessionId == sessionId_) {
                        probesEchoed_.fetch_add(1, std::memory_order_relaxed);
                        continue;
                    }
                }
                received_.fetch_add(1, std::memory_order_relaxed);
                return static_cast<size_t>(n);
            }
            if (n > 0) {
                continue; // truncated: drop
            }
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return size_t{0};
        }
        pollfd fds[2] = {{inWake_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}};
        ::poll(fds, udp_.isValid() ? 2 : 1, static_cast<int>(left.count()) + 1);
        if (fds[0].revents & POLLIN) {
            uint64_t v;
            [[maybe_unused]] ssize_t r = ::read(inWake_.get(), &v, sizeof v);
        }
    }
}

void UdpTransport::shutdown() {
    closed_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(inWake_.get(), &one, sizeof one);
}

MediaTransportStats UdpTransport::stats() const {
    MediaTransportStats s;
    s.packetsSent = sent_.load(std::memory_order_relaxed);
    s.packetsDropped = dropped_.load(std::memory_order_relaxed);
    s.packetsReceived = received_.load(std::memory_order_relaxed);
    return s;
}

void UdpTransport::deliverTunnelled(std::span<const uint8_t> packet) {
    if (closed_.load(std::memory_order_acquire) || packet.size() > MediaHeader::kMaxDatagram) {
        return;
    }
    Packet p;
    p.size = static_cast<uint16_t>(packet.size());
    std::memcpy(p.bytes, packet.data(), packet.size());
    if (incoming_.tryPush(p)) {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t w = ::write(inWake_.get(), &one, sizeof one);
    }
}

std::optional<UdpTransport::Packet> UdpTransport::takeOutgoing() {
    uint64_t v;
    [[maybe_unused]] ssize_t r = ::read(outWake_.get(), &v, sizeof v);
    return outgoing_.tryPop();
}

void UdpTransport::setRouteKey(std::span<const uint8_t> key) {
    routeKey_ = SecureBytes(key);
}

void UdpTransport::sendProbe() {
    if (!udp_.isValid() || closed_.load(std::memory_order_acquire) ||
        routeKey_.size() != probe_auth::kKeySize) {
        return;
    }
    auto probe = probe_auth::make(
        std::span<const uint8_t, probe_auth::kKeySize>(routeKey_.data(), probe_auth::kKeySize),
        sessionId_, ++probeSequence_, uint64_t(nowMs()) * 1000);
    [[maybe_unused]] ssize_t n =
        ::send(udp_.get(), probe.data(), probe.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

} // namespace voice
