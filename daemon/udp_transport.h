// SPDX-License-Identifier: MIT
// UdpTransport: the daemon's MediaTransport: UDP to the relay, with media-tunnel frames over the
// control connection as the fallback.
//
// Threads:
//  - send(): transmitter thread. UDP sendto() on a non-blocking socket, or,
//    in tunnel mode, a copy into the outgoing SPSC queue plus an eventfd
//    write that wakes the control thread (never waits; drops when full).
//  - receive(): receiver thread. poll() on the UDP socket and the incoming
//    eventfd; packets from the SPSC tunnel queue come first.
//  - deliverTunnelled(), takeOutgoing(), setRouteKey(), sendProbe(),
//    outgoingFd(): the control thread (it owns the relay connection).
//  - shutdown(), stats(): any thread.
// Tunnel mode starts when nothing arrived over UDP for kUdpSilence (or the
// relay has no UDP port); a packet over UDP switches back. The relay echoes
// our probes while we tunnel (so a path that works again is noticed) and
// while it sends us no media (so a quiet peer, a device still opening at call
// start or a stalled daemon, does not look like a blocked path). The silence
// is short enough (with probes every 250 ms) that a blocked path moves to the
// tunnel within half a second; the relay follows
// as soon as our first tunnelled packet reaches it (MediaRouter).
// Probes carry a MAC under our route key from the relay (crypto/probe_auth.h)
// and a counter that only goes up: the relay sets and moves our UDP address
// only for such probes (and drops our media from any other address), so we
// probe at once when a key arrives, when the relay asks (ProbeRequest: our
// media came from a new address, a NAT rebinding) and every 250 ms.
#pragma once

#include "core/spsc_queue.h"
#include "core/unique_fd.h"
#include "crypto/secure_bytes.h"
#include "net/socket.h"
#include "pipeline/media_transport.h"
#include "wire/media_header.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

namespace voice {

class UdpTransport final : public MediaTransport {
public:
    static constexpr std::chrono::milliseconds kUdpSilence{450};
    static constexpr size_t kQueuePackets = 128;

    /// A packet in a tunnel queue (trivially copyable for SpscQueue).
    struct Packet {
        uint16_t size = 0;
        uint8_t bytes[MediaHeader::kMaxDatagram];
    };

    /// relay: the relay's media address (port 0: tunnel only). sessionId: ours, for probes.
    static Result<std::unique_ptr<UdpTransport>> create(const SocketAddress& relay,
                                                        uint64_t sessionId);
    ~UdpTransport() override = default;

    bool send(std::span<const uint8_t> packet) override;
    Result<size_t> receive(std::span<uint8_t> buffer, std::chrono::nanoseconds timeout) override;
    void shutdown() override;
    MediaTransportStats stats() const override;

    /// Control thread: a media-tunnel frame from the relay, for the receiver.
    void deliverTunnelled(std::span<const uint8_t> packet);
    /// Control thread: readable when outgoing tunnel packets wait.
    int outgoingFd() const { return outWake_.get(); }
    /// Control thread: the next outgoing tunnel packet, if any (clears the wakeup first).
    std::optional<Packet> takeOutgoing();
    /// Control thread: the route key from the relay's latest ResumeToken
    /// (replaces and wipes the previous one). Probes need one.
    void setRouteKey(std::span<const uint8_t> key);
    /// Control thread: points the UDP socket at another relay's media
    /// address (the call resumed at another relay of a cluster after its
    /// relay died). A no-op for the same address or without UDP.
    Status retarget(const SocketAddress& relay);
    /// Control thread: an authenticated Probe so the relay learns our UDP
    /// address (nothing without a route key).
    void sendProbe();
    /// Any thread: media currently goes through the control connection.
    bool tunnelling() const;

    /// A switch between UDP and the tunnel, as the transmitter saw it.
    struct PathChange {
        bool tunnel = false;      ///< the new path
        int64_t udpSilenceMs = 0; ///< how long nothing had come over UDP at the switch
        int64_t atMs = 0;         ///< steady clock, milliseconds
    };
    /// Any thread: the steady clock PathChange::atMs is measured on.
    static int64_t steadyMs() { return nowMs(); }
    /// Control thread: the latest switch since the previous call, if any (for the log).
    std::optional<PathChange> takePathChange();
    /// Any thread: switches to the tunnel so far.
    uint64_t switchesToTunnel() const { return switchesToTunnel_.load(std::memory_order_relaxed); }
    /// Any thread: our probes the relay echoed back over UDP (we were tunnelling).
    uint64_t probesEchoed() const { return probesEchoed_.load(std::memory_order_relaxed); }
    uint64_t packetsTunnelledOut() const { return tunnelledOut_.load(std::memory_order_relaxed); }
    uint64_t packetsTunnelledIn() const { return tunnelledIn_.load(std::memory_order_relaxed); }

private:
    UdpTransport(uint64_t sessionId) : sessionId_(sessionId) {}
    static int64_t nowMs();
    /// How long nothing came over UDP (since creation if nothing ever did).
    int64_t udpSilenceMs(int64_t now) const;

    uint64_t sessionId_;
    bool udpAvailable_ = false;
    SocketAddress relay_; // control thread: where udp_ is connected
    UniqueFd udp_;
    UniqueFd inWake_;  // control → receiver
    UniqueFd outWake_; // transmitter → control
    SpscQueue<Packet> incoming_{kQueuePackets};
    SpscQueue<Packet> outgoing_{kQueuePackets};
    std::atomic<bool> closed_{false};
    std::atomic<int64_t> lastUdpMs_{0};
    int64_t createdMs_ = 0;
    std::atomic<uint64_t> sent_{0}, dropped_{0}, received_{0}, tunnelledOut_{0}, tunnelledIn_{0};
    uint64_t probeSequence_ = 0; // control thread; never goes down, also across keys
    SecureBytes routeKey_;       // control thread
    // Path switches: written by the transmitter (send()), read by the control thread.
    std::atomic<bool> tunnelMode_{false};
    std::atomic<int64_t> changeSilenceMs_{0}, changeAtMs_{0};
    std::atomic<uint32_t> changes_{0};
    std::atomic<uint64_t> switchesToTunnel_{0};
    std::atomic<uint64_t> probesEchoed_{0}; // receiver thread writes
    uint32_t seenChanges_ = 0;              // control thread
};

} // namespace voice
