// SPDX-License-Identifier: MIT
// MediaRouter: forwarding, paths, statistics, and addresses that only authenticated probes move.
#include "crypto/probe_auth.h"
#include "relay/media_router.h"
#include "wire/media_header.h"

#include <gtest/gtest.h>

namespace voice {
namespace {

using Kind = MediaRouter::Delivery::Kind;
using namespace std::chrono_literals;

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

MediaRouter::RouteKey keyOf(uint8_t fill) {
    MediaRouter::RouteKey k;
    k.fill(fill);
    return k;
}

std::vector<uint8_t> probe(const MediaRouter::RouteKey& key, uint64_t session, uint64_t counter) {
    auto p = probe_auth::make(key, session, counter, 0);
    return {p.begin(), p.end()};
}

/// A call 11 (connection 1) <-> 22 (connection 2) whose sides have route keys 0xaa and 0xbb.
struct ACall : ::testing::Test {
    MediaRouter r{std::chrono::seconds(5)};
    MediaRouter::RouteKey ka = keyOf(0xaa), kb = keyOf(0xbb);
    SocketAddress a = SocketAddress::loopbackV4(1000);
    SocketAddress b = SocketAddress::loopbackV4(2000);
    SocketAddress attacker = SocketAddress::loopbackV4(6666);
    MediaRouter::Clock::time_point now = MediaRouter::Clock::now();
    void SetUp() override {
        r.addCall(11, 1, 22, 2);
        ASSERT_TRUE(r.setRouteKey(11, ka));
        ASSERT_TRUE(r.setRouteKey(22, kb));
    }
    /// Both sides probe from a and b (echoed: no media reached them yet).
    void probeBoth() {
        ASSERT_EQ(r.route(probe(ka, 11, 1), &a, 5, now).kind, Kind::Udp);
        ASSERT_EQ(r.route(probe(kb, 22, 1), &b, 6, now).kind, Kind::Udp);
        ASSERT_EQ(r.probes.load(), 2u);
    }
    /// Where a packet of bob's goes now (alice's address).
    Kind bobToAlice(SocketAddress* to = nullptr, uint64_t seq = 100) {
        auto d = r.route(packet(22, seq, 0), &b, 6, now);
        if (to) {
            *to = d.to;
        }
        return d.kind;
    }
};

TEST_F(ACall, LearnsAddressesFromProbesAndRoutesToThePeer) {
    // Nobody probed: UDP media of a side with no address is dropped, not learned from.
    auto d = r.route(packet(11, 0, 0), &a, 5, now);
    EXPECT_EQ(d.kind, Kind::Drop);
    EXPECT_EQ(r.strayPackets.load(), 1u);
    // A probe is learned from, and echoed while no media reaches its side.
    d = r.route(probe(kb, 22, 1), &b, 6, now);
    EXPECT_EQ(d.kind, Kind::Udp);
    EXPECT_EQ(d.to, b);
    EXPECT_FALSE(d.rejected);
    // Alice has no address yet: bob's packet goes through alice's tunnel.
    d = r.route(packet(22, 0, 0), &b, 6, now);
    EXPECT_EQ(d.kind, Kind::Tunnel);
    EXPECT_EQ(d.connection, 1u);
    ASSERT_FALSE(r.route(probe(ka, 11, 1), &a, 5, now).rejected);
    d = r.route(packet(11, 1, 20000), &a, 5, now);
    ASSERT_EQ(d.kind, Kind::Udp);
    EXPECT_EQ(d.to, b);
    EXPECT_EQ(d.fd, 6);
    // A stale address falls back to the tunnel.
    d = r.route(packet(11, 2, 40000), &a, 5, now + 6s);
    EXPECT_EQ(d.kind, Kind::Tunnel);
    // Unknown ids are dropped and counted.
    const uint64_t dropped = r.droppedPackets.load();
    d = r.route(packet(33, 0, 0), &a, 5, now);
    EXPECT_EQ(d.kind, Kind::Drop);
    EXPECT_TRUE(d.rejected);
    EXPECT_EQ(r.droppedPackets.load(), dropped + 1);
    r.removeCall(11, 22);
    EXPECT_EQ(r.sessions(), 0u);
}

TEST_F(ACall, TunnelsToASideThatTunnelsUntilItsUdpWorksAgain) {
    probeBoth();
    // Bob's UDP is blocked: his media now comes through his control connection.
    auto d = r.route(packet(22, 1, 20000), nullptr, -1, now + 20ms);
    EXPECT_EQ(d.kind, Kind::Udp); // to alice, whose UDP works
    d = r.route(packet(11, 1, 20000), &a, 5, now + 30ms);
    ASSERT_EQ(d.kind, Kind::Tunnel); // at once, though b is fresh
    EXPECT_EQ(d.connection, 2u);
    // A replayed probe of his does not bring UDP back, nor is it echoed.
    d = r.route(probe(kb, 22, 1), &b, 6, now + 35ms);
    EXPECT_EQ(d.kind, Kind::Drop);
    EXPECT_EQ(r.probesEchoed.load(), 2u); // probeBoth's
    // A fresh probe of his gets through: it is echoed to him, and UDP is back.
    d = r.route(probe(kb, 22, 2), &b, 6, now + 40ms);
    ASSERT_EQ(d.kind, Kind::Udp);
    EXPECT_EQ(d.to, b);
    EXPECT_EQ(r.probesEchoed.load(), 3u);
    r.route(packet(22, 2, 40000), &b, 6, now + 50ms);
    d = r.route(packet(11, 2, 40000), &a, 5, now + 60ms);
    ASSERT_EQ(d.kind, Kind::Udp);
    EXPECT_EQ(d.to, b);
}

TEST_F(ACall, EchoesAProbeOnlyWhenNoMediaReachedItsSideLately) {
    probeBoth();
    EXPECT_EQ(r.probesEchoed.load(), 2u);
    // Alice's media reaches bob over UDP: his next probe teaches, no echo.
    ASSERT_EQ(r.route(packet(11, 1, 0), &a, 5, now + 10ms).kind, Kind::Udp);
    auto d = r.route(probe(kb, 22, 2), &b, 6, now + 60ms);
    EXPECT_EQ(d.kind, Kind::Drop);
    EXPECT_FALSE(d.rejected);
    EXPECT_EQ(r.probesEchoed.load(), 2u);
    // Alice goes quiet (her device still opening, a stall): bob's UDP path
    // must not look blocked to him, so his probe comes back.
    d = r.route(probe(kb, 22, 3), &b, 6, now + 10ms + MediaRouter::kQuietPathEcho);
    ASSERT_EQ(d.kind, Kind::Udp);
    EXPECT_EQ(d.to, b);
    EXPECT_EQ(r.probesEchoed.load(), 3u);
    // An echo counts as something sent: a side probing fast gets at most one
    // echo per kQuietPathEcho.
    d = r.route(probe(kb, 22, 4), &b, 6, now + 20ms + MediaRouter::kQuietPathEcho);
    EXPECT_EQ(d.kind, Kind::Drop);
    EXPECT_EQ(r.probesEchoed.load(), 3u);
}

TEST_F(ACall, FollowsAValidFreshProbeToANewAddressAtOnce) {
    probeBoth();
    auto a2 = SocketAddress::loopbackV4(1001);
    // NAT rebinding: alice's media from her new port is dropped until she probes from it.
    EXPECT_EQ(r.route(packet(11, 5, 0), &a2, 5, now).kind, Kind::Drop);
    auto d = r.route(probe(ka, 11, 2), &a2, 5, now + 10ms);
    EXPECT_TRUE(d.moved);
    EXPECT_EQ(r.addressChanges.load(), 1u);
    SocketAddress to;
    ASSERT_EQ(bobToAlice(&to), Kind::Udp);
    EXPECT_EQ(to, a2);
    EXPECT_EQ(r.route(packet(11, 6, 0), &a2, 5, now).kind, Kind::Udp);
    // And back again within milliseconds (no hold: every move is proven).
    EXPECT_TRUE(r.route(probe(ka, 11, 3), &a, 5, now + 20ms).moved);
    ASSERT_EQ(bobToAlice(&to), Kind::Udp);
    EXPECT_EQ(to, a);
}

TEST_F(ACall, NeverMovesAnAddressWithoutAValidFreshProbe) {
    probeBoth();
    const auto sa = r.stats(11);
    const auto sb = r.stats(22);
    auto real = probe(ka, 11, 2);
    ASSERT_EQ(r.route(real, &a, 5, now).kind, Kind::Drop);
    std::vector<std::vector<uint8_t>> attacks;
    attacks.push_back(real);                               // a replayed valid probe
    attacks.push_back(probe(ka, 11, 1));                   // an older one
    attacks.push_back(packet(11, 0, 0, MediaKind::Probe)); // a bare probe, session id only
    attacks.push_back({real.begin(), real.begin() + MediaHeader::kSize}); // its header alone
    attacks.push_back(probe(kb, 11, 99));                                 // the other side's key
    attacks.push_back(probe(keyOf(0), 11, 99));                           // a guessed key
    for (size_t bit = 0; bit < real.size() * 8; ++bit) {                  // every bit flipped
        auto flipped = real;
        flipped[bit / 8] ^= uint8_t(1u << (bit % 8));
        attacks.push_back(flipped);
    }
    for (uint64_t seq : {0ull, 50ull, 101ull, 1ull << 40, ~0ull}) { // forged audio sequences
        attacks.push_back(packet(11, seq, 123456789));
    }
    auto longer = real;
    longer.push_back(0);
    attacks.push_back(longer);
    for (const auto& p : attacks) {
        for (int fd = 5; fd <= 6; ++fd) {
            auto d = r.route(p, &attacker, fd, now + 10ms);
            EXPECT_EQ(d.kind, Kind::Drop);
            EXPECT_FALSE(d.moved);
        }
    }
    EXPECT_EQ(r.addressChanges.load(), 0u);
    EXPECT_EQ(r.forwardedPackets.load(), 0u);
    EXPECT_EQ(r.probes.load(), 3u); // the two of probeBoth() and `real`
    EXPECT_GT(r.probesRefused.load(), 100u);
    EXPECT_GT(r.strayPackets.load(), 0u);
    // Bob's packets still go to alice, and nothing was counted for her.
    SocketAddress to;
    ASSERT_EQ(bobToAlice(&to), Kind::Udp);
    EXPECT_EQ(to, a);
    EXPECT_EQ(r.stats(11).packets, sa.packets);
    EXPECT_EQ(r.stats(11).expected, sa.expected);
    EXPECT_EQ(r.stats(11).jitterUs, sa.jitterUs);
    EXPECT_EQ(r.stats(22).packets, sb.packets + 1);
}

TEST_F(ACall, AsksASideWhoseMediaCameFromANewAddressToProbeAtMostTenTimesASecond) {
    probeBoth();
    auto a2 = SocketAddress::loopbackV4(1001);
    auto d = r.route(packet(11, 5, 0), &a2, 5, now);
    EXPECT_EQ(d.kind, Kind::Drop);
    EXPECT_TRUE(d.askProbe);
    EXPECT_EQ(d.connection, 1u); // alice's control connection, not bob's
    EXPECT_FALSE(r.route(packet(11, 6, 0), &a2, 5, now + 50ms).askProbe);
    EXPECT_TRUE(r.route(packet(11, 7, 0), &attacker, 5, now + 100ms).askProbe);
    EXPECT_EQ(r.probeRequests.load(), 2u);
    // Media from her current address asks nothing.
    EXPECT_FALSE(r.route(packet(11, 8, 0), &a, 5, now + 300ms).askProbe);
}

TEST_F(ACall, RefusesProbesUnderAReplacedKeyAndStartsTheCounterOverWithANewOne) {
    probeBoth();
    auto old = probe(ka, 11, 7);
    // Alice resumed: a new key. A probe captured under the old one is useless.
    auto ka2 = keyOf(0xcc);
    ASSERT_TRUE(r.setRouteKey(11, ka2));
    EXPECT_EQ(r.route(old, &attacker, 5, now).kind, Kind::Drop);
    SocketAddress to;
    ASSERT_EQ(bobToAlice(&to), Kind::Udp);
    EXPECT_EQ(to, a); // the address stays across a resume
    EXPECT_FALSE(r.route(probe(ka2, 11, 1), &a, 5, now).rejected);
    EXPECT_TRUE(r.route(probe(ka2, 11, 1), &a, 5, now).rejected); // counters only go up
    EXPECT_FALSE(r.setRouteKey(33, ka2));
}

TEST_F(ACall, RefusesProbesBeforeTheSideHasAKey) {
    r.addCall(33, 3, 44, 4);
    auto d = r.route(probe(ka, 33, 1), &a, 5, now);
    EXPECT_TRUE(d.rejected);
    EXPECT_EQ(r.probesRefused.load(), 1u);
    EXPECT_EQ(r.route(packet(33, 1, 0), &a, 5, now).kind, Kind::Drop);
}

TEST(AMediaRouter, TunnelsToTheConnectionASessionResumedOn) {
    MediaRouter r(std::chrono::seconds(5));
    r.addCall(11, 1, 22, 2);
    EXPECT_TRUE(r.contains(22));
    EXPECT_FALSE(r.contains(33));
    // Bob's control connection broke; he resumed on connection 7.
    ASSERT_TRUE(r.setConnection(22, 7));
    auto d = r.route(packet(11, 0, 0), nullptr, -1, MediaRouter::Clock::now());
    EXPECT_EQ(d.kind, Kind::Tunnel);
    EXPECT_EQ(d.connection, 7u);
    EXPECT_FALSE(r.setConnection(33, 7));
}

TEST_F(ACall, CountsLossAndJitterFromTheHeaders) {
    probeBoth();
    auto t0 = now;
    auto base =
        std::chrono::duration_cast<std::chrono::microseconds>(t0.time_since_epoch()).count();
    // Packets 0..9 every 20 ms, 3 and 7 lost; arrival exactly on time: no jitter.
    for (uint64_t seq = 0; seq < 10; ++seq) {
        if (seq == 3 || seq == 7) {
            continue;
        }
        auto at = t0 + std::chrono::milliseconds(20 * seq);
        (void)r.route(packet(11, seq, uint64_t(base) + 20000 * seq), &a, 5, at);
        // The same sequence numbers, forged from elsewhere, count for nothing.
        (void)r.route(packet(11, seq + 1000, 0), &attacker, 5, at);
    }
    auto s = r.stats(11);
    EXPECT_EQ(s.packets, 8u);
    EXPECT_EQ(s.expected, 10u);
    EXPECT_EQ(s.lost, 2u);
    EXPECT_NEAR(s.jitterUs, 0.0, 1.0);
    // One packet 8 ms late moves the jitter estimate by 8000/16 us.
    (void)r.route(packet(11, 10, uint64_t(base) + 200000), &a, 5, t0 + 208ms);
    EXPECT_NEAR(r.stats(11).jitterUs, 500.0, 1.0);
}

} // namespace
} // namespace voice
