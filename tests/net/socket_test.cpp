// SPDX-License-Identifier: MIT
// Sockets: host:port parsing, loopback TCP and UDP over IPv4 and IPv6.
#include "net/socket.h"

#include <cstring>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <set>
#include <unistd.h>

using namespace voice;

namespace {

bool waitFor(int fd, short events, int timeoutMs = 10000) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, timeoutMs) == 1;
}

bool ipv6LoopbackAvailable() {
    auto fd = udpBind(SocketAddress::loopbackV6(0));
    return fd.ok();
}

std::span<const std::byte> bytes(const char* s) {
    return std::as_bytes(std::span(s, std::strlen(s)));
}

// Connects a client to a listener and returns {client, server side}.
std::pair<UniqueFd, UniqueFd> connectPair(const SocketAddress& bindAddr) {
    auto listener = tcpListen(bindAddr);
    EXPECT_TRUE(listener.ok()) << listener.status().toString();
    auto local = localAddress(listener->get());
    EXPECT_TRUE(local.ok());
    EXPECT_NE(local->port(), 0);
    auto client = tcpConnect(*local);
    EXPECT_TRUE(client.ok()) << client.status().toString();
    EXPECT_TRUE(waitFor(listener->get(), POLLIN));
    SocketAddress peer;
    auto server = tcpAccept(listener->get(), &peer);
    EXPECT_TRUE(server.ok() && server->isValid());
    EXPECT_TRUE(waitFor(client->get(), POLLOUT));
    EXPECT_TRUE(connectResult(client->get()).ok());
    EXPECT_EQ(peer, *localAddress(client->get()));
    return {std::move(client).value(), std::move(server).value()};
}

void exchange(int a, int b) {
    ASSERT_EQ(::write(a, "ping", 4), 4);
    ASSERT_TRUE(waitFor(b, POLLIN));
    char buf[8] = {};
    ASSERT_EQ(::read(b, buf, sizeof(buf)), 4);
    EXPECT_STREQ(buf, "ping");
}

} // namespace

TEST(AHostPort, ParsesNamesIPv4AndBracketedIPv6) {
    auto a = HostPort::parse("relay.example.org:7000");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->host, "relay.example.org");
    EXPECT_EQ(a->port, 7000);
    auto b = HostPort::parse("192.0.2.1:1");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->host, "192.0.2.1");
    auto c = HostPort::parse("[2001:db8::1]:65535");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->host, "2001:db8::1");
    EXPECT_EQ(c->port, 65535);
    EXPECT_EQ(c->toString(), "[2001:db8::1]:65535");
    EXPECT_EQ(a->toString(), "relay.example.org:7000");
}

TEST(AHostPort, RejectsMalformedInputWithAClearMessage) {
    for (const char* bad : {"",
                            "host",
                            "host:",
                            ":7000",
                            "host:0",
                            "host:65536",
                            "host:+7",
                            "host:7x",
                            "host:-1",
                            "::1:7000",
                            "[::1]",
                            "[::1]7000",
                            "[zz::1]:7000",
                            "[]:7000",
                            "ho st:7000",
                            "-host:7000",
                            "host-:7000",
                            "a..b:7000",
                            "host:070000",
                            "h\xc3\xa9:7000",
                            "host:7000\n",
                            "999.1.1.1:80",
                            "1.2.3:80",
                            "1.2.3.4.5:80"}) {
        auto r = HostPort::parse(bad);
        EXPECT_FALSE(r.ok()) << "accepted '" << bad << "'";
        if (!r.ok()) {
            EXPECT_EQ(r.status().code(), Errc::InvalidArgument);
            EXPECT_NE(r.status().detail().find("host:port"), std::string::npos);
        }
    }
    EXPECT_FALSE(HostPort::parse(std::string(64, 'a') + ".org:1").ok());
    EXPECT_TRUE(HostPort::parse(std::string(63, 'a') + ".org:1").ok());
    EXPECT_TRUE(HostPort::parse("host:0", true).ok());
}

TEST(ASocketAddress, FormatsAndComparesByValue) {
    auto a = SocketAddress::parse("127.0.0.1:5000");
    auto b = SocketAddress::parse("[::1]:5000");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->toString(), "127.0.0.1:5000");
    EXPECT_EQ(b->toString(), "[::1]:5000");
    EXPECT_EQ(a->hostString(), "127.0.0.1");
    EXPECT_EQ(*a, SocketAddress::loopbackV4(5000));
    EXPECT_NE(*a, SocketAddress::loopbackV4(5001));
    EXPECT_NE(*a, *b);
    EXPECT_TRUE(SocketAddress::loopbackV4(1) < SocketAddress::loopbackV4(2));
    EXPECT_EQ(a->hash(), SocketAddress::loopbackV4(5000).hash());
    EXPECT_FALSE(SocketAddress::parse("relay.example.org:1").ok()); // numeric only
    std::set<SocketAddress> set{*a, *b, SocketAddress::loopbackV4(5000)};
    EXPECT_EQ(set.size(), 2u);
}

TEST(ASocketAddress, UnmapsIPv4MappedIPv6) {
    auto mapped = SocketAddress::parse("[::ffff:192.0.2.7]:9");
    ASSERT_TRUE(mapped.ok());
    EXPECT_EQ(mapped->unmapped(), *SocketAddress::parse("192.0.2.7:9"));
}

TEST(ASocketAddress, ResolvesNumericAndLocalhost) {
    auto a = SocketAddress::resolve(HostPort{"127.0.0.1", 80});
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->toString(), "127.0.0.1:80");
    auto b = SocketAddress::resolve(HostPort{"localhost", 81});
    ASSERT_TRUE(b.ok()) << b.status().toString();
    EXPECT_EQ(b->port(), 81);
}

TEST(ATcpSocket, ConnectsAndCarriesBytesOverIPv4Loopback) {
    auto [client, server] = connectPair(SocketAddress::loopbackV4(0));
    exchange(client.get(), server.get());
    exchange(server.get(), client.get());
}

TEST(ATcpSocket, ConnectsAndCarriesBytesOverIPv6Loopback) {
    if (!ipv6LoopbackAvailable()) {
        GTEST_SKIP() << "::1 is not available on this machine";
    }
    auto [client, server] = connectPair(SocketAddress::loopbackV6(0));
    exchange(client.get(), server.get());
}

TEST(ATcpSocket, ReportsNothingPendingOnANonBlockingAccept) {
    auto listener = tcpListen(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(listener.ok());
    auto none = tcpAccept(listener->get());
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->isValid());
}

TEST(ATcpSocket, ReportsARefusedConnection) {
    // Find a free port by binding and closing a listener.
    uint16_t port;
    {
        auto l = tcpListen(SocketAddress::loopbackV4(0));
        ASSERT_TRUE(l.ok());
        port = localAddress(l->get())->port();
    }
    auto client = tcpConnect(SocketAddress::loopbackV4(port));
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(waitFor(client->get(), POLLOUT));
    Status s = connectResult(client->get());
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Io);
}

TEST(ATcpSocket, RefusesToListenOnAPortInUse) {
    auto l = tcpListen(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(l.ok());
    auto again = tcpListen(*localAddress(l->get()));
    EXPECT_FALSE(again.ok());
}

TEST(AUdpSocket, SharesThePortNumberOfATcpListener) {
    auto l = tcpListen(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(l.ok());
    const SocketAddress addr = *localAddress(l->get());
    auto u = udpBind(addr);
    ASSERT_TRUE(u.ok()) << u.status().toString();
    EXPECT_EQ(localAddress(u->get())->port(), addr.port());
}

TEST(AUdpSocket, SendsAndReceivesDatagramsWithTheSenderAddress) {
    for (bool v6 : {false, true}) {
        if (v6 && !ipv6LoopbackAvailable()) {
            continue;
        }
        const SocketAddress any = v6 ? SocketAddress::loopbackV6(0) : SocketAddress::loopbackV4(0);
        auto a = udpBind(any);
        auto b = udpBind(any);
        ASSERT_TRUE(a.ok() && b.ok());
        const SocketAddress aAddr = *localAddress(a->get());
        const SocketAddress bAddr = *localAddress(b->get());
        std::byte buf[64];
        auto none = recvFrom(b->get(), buf);
        ASSERT_TRUE(none.ok());
        EXPECT_FALSE(none->has_value());

        auto sent = sendTo(a->get(), bytes("hello"), bAddr);
        ASSERT_TRUE(sent.ok());
        EXPECT_TRUE(*sent);
        ASSERT_TRUE(waitFor(b->get(), POLLIN));
        auto got = recvFrom(b->get(), buf);
        ASSERT_TRUE(got.ok() && got->has_value());
        EXPECT_EQ((*got)->size, 5u);
        EXPECT_FALSE((*got)->truncated);
        EXPECT_EQ((*got)->from, aAddr);
        EXPECT_EQ(std::memcmp(buf, "hello", 5), 0);
    }
}

TEST(AUdpSocket, FlagsATruncatedDatagram) {
    auto a = udpBind(SocketAddress::loopbackV4(0));
    auto b = udpBind(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(*sendTo(a->get(), bytes("0123456789"), *localAddress(b->get())));
    ASSERT_TRUE(waitFor(b->get(), POLLIN));
    std::byte small[4];
    auto got = recvFrom(b->get(), small);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_TRUE((*got)->truncated);
    EXPECT_EQ((*got)->size, 4u);
}

TEST(ATcpSocket, SharesAPortBetweenListenersWithReusePort) {
    // The UDP port of the TCP listener's number may be held by another
    // process on a shared machine: try a few ephemeral ports.
    bool udpShared = false;
    for (int attempt = 0; attempt < 20 && !udpShared; ++attempt) {
        auto first = tcpListen(SocketAddress::loopbackV4(0), 16, true);
        ASSERT_TRUE(first.ok());
        const SocketAddress addr = *localAddress(first->get());
        auto second = tcpListen(addr, 16, true);
        ASSERT_TRUE(second.ok()) << second.status().toString();
        auto u1 = udpBind(addr, true);
        if (!u1.ok()) {
            continue; // taken by someone else
        }
        auto u2 = udpBind(addr, true);
        ASSERT_TRUE(u2.ok()) << u2.status().toString();
        udpShared = true;
    }
    EXPECT_TRUE(udpShared);
}
