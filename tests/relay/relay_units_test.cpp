// SPDX-License-Identifier: MIT
// The relay's parts without a process: configuration, name bindings, media router.
#include "relay/media_router.h"
#include "relay/name_bindings.h"
#include "relay/relay_config.h"
#include "wire/media_header.h"

#include <gtest/gtest.h>

namespace voice {
namespace {

TEST(ARelayConfig, HasSafeDefaultsForAnEmptyFile) {
    auto c = RelayConfig::parse("", "test.conf");
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->listen.port, 7000);
    EXPECT_FALSE(c->metrics);
    EXPECT_EQ(c->ringTimeout, std::chrono::seconds(30));
}

TEST(ARelayConfig, ReadsEveryKey) {
    auto c = RelayConfig::parse("listen = 127.0.0.1:7100\nmetrics = 127.0.0.1:9000\n"
                                "ring_timeout = 5s\nmax_clients = 10\nallowlist = /x\n"
                                "log_level = debug\n",
                                "t");
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->listen.toString(), "127.0.0.1:7100");
    ASSERT_TRUE(c->metrics);
    EXPECT_EQ(c->metrics->port, 9000);
    EXPECT_EQ(c->ringTimeout, std::chrono::seconds(5));
    EXPECT_EQ(c->maxClients, 10u);
    EXPECT_EQ(*c->allowlist, "/x");
    EXPECT_EQ(c->logLevel, LogLevel::Debug);
}

TEST(ARelayConfig, RejectsUnknownKeysAndBadValuesWithTheLine) {
    auto c = RelayConfig::parse("ring_timeout = 5s\nmax_clinets = 3\n", "r.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().detail().find("r.conf:2"), std::string::npos);
    EXPECT_FALSE(RelayConfig::parse("max_clients = 0\n", "r").ok());
    EXPECT_FALSE(RelayConfig::parse("keepalive_interval = 60s\nidle_timeout = 30s\n", "r").ok());
}

TEST(NameBindingsFile, RoundTripsThroughItsText) {
    NameBindings b;
    NameBindings::Key k{};
    k[0] = 0xab;
    k[31] = 0x01;
    ASSERT_TRUE(b.add("alice", k));
    EXPECT_FALSE(b.add("alice", k));
    auto parsed = NameBindings::parse(b.serialize(), "bindings");
    ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
    ASSERT_TRUE(parsed->find("alice"));
    EXPECT_EQ(*parsed->find("alice"), k);
    EXPECT_FALSE(parsed->find("bob"));
}

TEST(NameBindingsFile, RejectsBadLinesWithTheirNumber) {
    const std::string key(64, 'a');
    EXPECT_TRUE(NameBindings::parse("# c\n\nalice " + key + "\n", "f").ok());
    auto dup = NameBindings::parse("alice " + key + "\nalice " + key + "\n", "f");
    ASSERT_FALSE(dup.ok());
    EXPECT_NE(dup.status().detail().find("f:2"), std::string::npos);
    EXPECT_FALSE(NameBindings::parse("Alice " + key + "\n", "f").ok());
    EXPECT_FALSE(NameBindings::parse("alice " + key.substr(1) + "\n", "f").ok());
    EXPECT_FALSE(NameBindings::parse("alice " + std::string(64, 'g') + "\n", "f").ok());
    EXPECT_FALSE(NameBindings::parse("alice\n", "f").ok());
}

std::vector<uint8_t> packet(uint64_t session, uint64_t seq, uint64_t tsUs,
                            MediaKind kind = MediaKind::Audio) {
    MediaHeader h;
    h.kind = kind;
    h.sessionId = session;
    h.sequence = seq;
    h.timestampUs = tsUs;
    std::vector<uint8_t> out(MediaHeader::kSize + 40);
    h.encode(std::span<uint8_t, MediaHeader::kSize>(out.data(), MediaHeader::kSize));
    return out;
}

TEST(AMediaRouter, LearnsAddressesAndRoutesToThePeer) {
    MediaRouter r(std::chrono::seconds(5));
    r.addCall(11, 1, 22, 2);
    auto now = MediaRouter::Clock::now();
    auto a = SocketAddress::loopbackV4(1000);
    auto b = SocketAddress::loopbackV4(2000);
    // Bob has no UDP address yet: alice's packet goes through bob's tunnel.
    auto d = r.route(packet(11, 0, 0), &a, 5, now);
    EXPECT_EQ(d.kind, MediaRouter::Delivery::Kind::Tunnel);
    EXPECT_EQ(d.connection, 2u);
    d = r.route(packet(22, 0, 0, MediaKind::Probe), &b, 6, now);
    EXPECT_EQ(d.kind, MediaRouter::Delivery::Kind::Drop);
    d = r.route(packet(11, 1, 20000), &a, 5, now);
    ASSERT_EQ(d.kind, MediaRouter::Delivery::Kind::Udp);
    EXPECT_EQ(d.to, b);
    EXPECT_EQ(d.fd, 6);
    // A stale address falls back to the tunnel.
    d = r.route(packet(11, 2, 40000), &a, 5, now + std::chrono::seconds(6));
    EXPECT_EQ(d.kind, MediaRouter::Delivery::Kind::Tunnel);
    // Unknown ids are dropped and counted.
    d = r.route(packet(33, 0, 0), &a, 5, now);
    EXPECT_EQ(d.kind, MediaRouter::Delivery::Kind::Drop);
    EXPECT_EQ(r.droppedPackets.load(), 1u);
    r.removeCall(11, 22);
    EXPECT_EQ(r.sessions(), 0u);
}

TEST(AMediaRouter, TunnelsToTheConnectionASessionResumedOn) {
    MediaRouter r(std::chrono::seconds(5));
    r.addCall(11, 1, 22, 2);
    EXPECT_TRUE(r.contains(22));
    EXPECT_FALSE(r.contains(33));
    auto a = SocketAddress::loopbackV4(1000);
    // Bob's control connection broke; he resumed on connection 7.
    ASSERT_TRUE(r.setConnection(22, 7));
    auto d = r.route(packet(11, 0, 0), &a, 5, MediaRouter::Clock::now());
    EXPECT_EQ(d.kind, MediaRouter::Delivery::Kind::Tunnel);
    EXPECT_EQ(d.connection, 7u);
    EXPECT_FALSE(r.setConnection(33, 7));
}

TEST(AMediaRouter, CountsLossAndJitterFromTheHeaders) {
    MediaRouter r(std::chrono::seconds(5));
    r.addCall(11, 1, 22, 2);
    auto t0 = MediaRouter::Clock::now();
    auto base =
        std::chrono::duration_cast<std::chrono::microseconds>(t0.time_since_epoch()).count();
    auto a = SocketAddress::loopbackV4(1000);
    // Packets 0..9 every 20 ms, 3 and 7 lost; arrival exactly on time: no jitter.
    for (uint64_t seq = 0; seq < 10; ++seq) {
        if (seq == 3 || seq == 7) {
            continue;
        }
        auto at = t0 + std::chrono::milliseconds(20 * seq);
        (void)r.route(packet(11, seq, uint64_t(base) + 20000 * seq), &a, 5, at);
    }
    auto s = r.stats(11);
    EXPECT_EQ(s.packets, 8u);
    EXPECT_EQ(s.expected, 10u);
    EXPECT_EQ(s.lost, 2u);
    EXPECT_NEAR(s.jitterUs, 0.0, 1.0);
    // One packet 8 ms late moves the jitter estimate by 8000/16 us.
    (void)r.route(packet(11, 10, uint64_t(base) + 200000), &a, 5,
                  t0 + std::chrono::milliseconds(208));
    EXPECT_NEAR(r.stats(11).jitterUs, 500.0, 1.0);
}

} // namespace
} // namespace voice
