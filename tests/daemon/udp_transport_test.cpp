// SPDX-License-Identifier: MIT
// Tests of UdpTransport: UDP to a socket standing in for the relay, and the tunnel queues.
#include "crypto/probe_auth.h"
#include "net/socket.h"
#include "udp_transport.h"
#include "wire/media_header.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <thread>
#include <vector>

using namespace voice;
using namespace std::chrono_literals;

namespace {

bool waitFd(int fd, short events, std::chrono::milliseconds timeout) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

std::vector<uint8_t> packet(uint8_t fill, size_t size = 60) {
    return std::vector<uint8_t>(size, fill);
}

TEST(AUdpTransport, SendsAndReceivesOverUdpWhileTheRelayAnswers) {
    auto relay = udpBind(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(relay.ok());
    auto relayAddr = localAddress(relay->get());
    ASSERT_TRUE(relayAddr.ok());
    auto t = UdpTransport::create(*relayAddr, 42);
    ASSERT_TRUE(t.ok()) << t.status().toString();

    auto p = packet(7);
    ASSERT_TRUE((*t)->send(p));
    ASSERT_TRUE(waitFd(relay->get(), POLLIN, 5s));
    std::vector<std::byte> buf(2048);
    auto d = recvFrom(relay->get(), buf);
    ASSERT_TRUE(d.ok() && d->has_value());
    EXPECT_EQ((*d)->size, p.size());

    // The relay answers to where the packet came from.
    auto reply = packet(9, 80);
    ASSERT_TRUE(sendTo(relay->get(), std::as_bytes(std::span(reply)), (*d)->from).ok());
    std::vector<uint8_t> in(2048);
    auto got = (*t)->receive(in, 5s);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, reply.size());
    EXPECT_EQ(in[0], 9);
    EXPECT_FALSE((*t)->tunnelling());
}

TEST(AUdpTransport, TunnelsBothWaysWhenTheRelayHasNoUdpPort) {
    auto t = UdpTransport::create(SocketAddress::loopbackV4(0), 42);
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE((*t)->tunnelling());

    // Transmitter → control thread.
    std::thread tx([&] { EXPECT_TRUE((*t)->send(packet(1))); });
    tx.join();
    ASSERT_TRUE(waitFd((*t)->outgoingFd(), POLLIN, 5s));
    auto out = (*t)->takeOutgoing();
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->size, 60);
    EXPECT_FALSE((*t)->takeOutgoing().has_value());

    // Control thread → receiver.
    std::vector<uint8_t> in(2048);
    std::thread rx([&] {
        auto got = (*t)->receive(in, 10s);
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(*got, 33u);
    });
    (*t)->deliverTunnelled(packet(3, 33));
    rx.join();
    EXPECT_EQ((*t)->packetsTunnelledIn(), 1u);
}

const std::array<uint8_t, 32> kKey = {1, 2, 3};

std::vector<uint8_t> probe(uint64_t session) {
    auto p = probe_auth::make(kKey, session, 1, 0);
    return {p.begin(), p.end()};
}

TEST(AUdpTransport, SendsAuthenticatedProbesWithARisingCounterOnlyOnceItHasARouteKey) {
    auto relay = udpBind(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(relay.ok());
    auto relayAddr = localAddress(relay->get());
    ASSERT_TRUE(relayAddr.ok());
    auto t = UdpTransport::create(*relayAddr, 42);
    ASSERT_TRUE(t.ok());
    (*t)->sendProbe(); // no key yet: nothing the relay could accept, so nothing at all
    EXPECT_FALSE(waitFd(relay->get(), POLLIN, 200ms));
    (*t)->setRouteKey(kKey);
    uint64_t last = 0;
    for (int i = 0; i < 3; ++i) {
        (*t)->sendProbe();
        ASSERT_TRUE(waitFd(relay->get(), POLLIN, 5s));
        std::vector<std::byte> buf(2048);
        auto d = recvFrom(relay->get(), buf);
        ASSERT_TRUE(d.ok() && d->has_value());
        ASSERT_EQ((*d)->size, probe_auth::kProbeSize);
        std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(buf.data()), (*d)->size);
        EXPECT_TRUE(probe_auth::verify(kKey, bytes));
        std::array<uint8_t, 32> other = kKey;
        other[31] ^= 1;
        EXPECT_FALSE(probe_auth::verify(other, bytes));
        auto h = MediaHeader::decode(bytes);
        ASSERT_TRUE(h.ok());
        EXPECT_EQ(h->kind, MediaKind::Probe);
        EXPECT_EQ(h->sessionId, 42u);
        EXPECT_GT(h->sequence, last);
        last = h->sequence;
    }
}

TEST(AUdpTransport, TunnelsWhenUdpGoesSilentAndComesBackOnAnEchoedProbe) {
    auto relay = udpBind(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(relay.ok());
    auto relayAddr = localAddress(relay->get());
    ASSERT_TRUE(relayAddr.ok());
    auto t = UdpTransport::create(*relayAddr, 42);
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE((*t)->send(packet(7)));
    ASSERT_TRUE(waitFd(relay->get(), POLLIN, 5s));
    std::vector<std::byte> buf(2048);
    auto d = recvFrom(relay->get(), buf);
    ASSERT_TRUE(d.ok() && d->has_value());
    const SocketAddress client = (*d)->from;
    auto reply = packet(9, 80);
    ASSERT_TRUE(sendTo(relay->get(), std::as_bytes(std::span(reply)), client).ok());
    std::vector<uint8_t> in(2048);
    ASSERT_TRUE((*t)->receive(in, 5s).ok());
    ASSERT_FALSE((*t)->tunnelling());

    // Nothing more over UDP: the transport gives up on it (kUdpSilence).
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!(*t)->tunnelling() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE((*t)->tunnelling());
    ASSERT_TRUE((*t)->send(packet(8)));
    EXPECT_TRUE((*t)->takeOutgoing().has_value()); // through the control connection
    auto change = (*t)->takePathChange();
    ASSERT_TRUE(change.has_value());
    EXPECT_TRUE(change->tunnel);
    EXPECT_GT(change->udpSilenceMs, UdpTransport::kUdpSilence.count());
    EXPECT_EQ((*t)->switchesToTunnel(), 1u);
    EXPECT_FALSE((*t)->takePathChange().has_value());

    // Another session's probe is not ours: handed on like any packet.
    auto other = probe(43);
    ASSERT_TRUE(sendTo(relay->get(), std::as_bytes(std::span(other)), client).ok());
    auto got = (*t)->receive(in, 5s);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, probe_auth::kProbeSize);
    // The relay echoes our probe: consumed (nothing to play), and UDP is back.
    auto echo = probe(42);
    ASSERT_TRUE(sendTo(relay->get(), std::as_bytes(std::span(echo)), client).ok());
    const auto until = std::chrono::steady_clock::now() + 5s;
    while ((*t)->probesEchoed() == 0 && std::chrono::steady_clock::now() < until) {
        got = (*t)->receive(in, 100ms);
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(*got, 0u);
    }
    EXPECT_EQ((*t)->probesEchoed(), 1u);
    EXPECT_FALSE((*t)->tunnelling());
    ASSERT_TRUE((*t)->send(packet(10)));
    EXPECT_TRUE(waitFd(relay->get(), POLLIN, 5s));
    change = (*t)->takePathChange();
    ASSERT_TRUE(change.has_value());
    EXPECT_FALSE(change->tunnel);
}

TEST(AUdpTransport, WakesAWaitingReceiverOnShutdown) {
    auto t = UdpTransport::create(SocketAddress::loopbackV4(0), 1);
    ASSERT_TRUE(t.ok());
    std::vector<uint8_t> in(2048);
    std::thread rx([&] {
        auto got = (*t)->receive(in, 60s);
        EXPECT_FALSE(got.ok());
        EXPECT_EQ(got.status().code(), Errc::Closed);
    });
    (*t)->shutdown();
    rx.join();
    EXPECT_FALSE((*t)->send(packet(1)));
}

TEST(AUdpTransport, DropsWhenTheTunnelQueueIsFull) {
    auto t = UdpTransport::create(SocketAddress::loopbackV4(0), 1);
    ASSERT_TRUE(t.ok());
    size_t accepted = 0;
    for (size_t i = 0; i < UdpTransport::kQueuePackets * 2; ++i) {
        accepted += (*t)->send(packet(1)) ? 1 : 0;
    }
    EXPECT_EQ(accepted, UdpTransport::kQueuePackets);
    EXPECT_EQ((*t)->stats().packetsDropped, UdpTransport::kQueuePackets);
}

} // namespace
