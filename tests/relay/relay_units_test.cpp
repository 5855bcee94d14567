// SPDX-License-Identifier: MIT
// The relay's parts without a process: configuration, name bindings, junk filter
// (the media router has media_router_test.cpp).
#include "relay/cluster_signals.h"
#include "relay/junk_filter.h"
#include "relay/name_bindings.h"
#include "relay/relay_config.h"
#include "relay/trunk.h"
#include "relay/trunk_replay.h"

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

TEST(ARelayConfig, ReadsTheClusterKeysAndNeedsThemTogether) {
    const std::string cluster = "redis = unix:/run/redis/redis-server.sock\nrelay_id = relay-1\n"
                                "advertise = 192.0.2.1:7000\ncluster_key_file = /etc/k\n";
    auto c = RelayConfig::parse(cluster, "r");
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(*c->redis, "unix:/run/redis/redis-server.sock");
    EXPECT_EQ(c->relayId, "relay-1");
    EXPECT_EQ(c->advertise->port, 7000);
    EXPECT_EQ(*c->clusterKeyFile, "/etc/k");
    EXPECT_TRUE(RelayConfig::parse("redis = 10.0.0.5:6379\nrelay_id = b\nadvertise = "
                                   "10.0.0.2:7000\ncluster_key_file = /k\n",
                                   "r")
                    .ok());
    // Single-relay mode by default.
    EXPECT_FALSE(RelayConfig::parse("", "r")->redis);
    auto missing = RelayConfig::parse("redis = unix:/r.sock\nrelay_id = a\n", "r");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().detail().find("'advertise' is required"), std::string::npos);
    EXPECT_FALSE(RelayConfig::parse("relay_id = a\n", "r").ok()); // without redis
    EXPECT_FALSE(RelayConfig::parse("redis = unix:relative\n", "r").ok());
    EXPECT_FALSE(RelayConfig::parse("redis = host\n", "r").ok());
    EXPECT_FALSE(RelayConfig::parse("redis = host:99999\n", "r").ok());
    EXPECT_FALSE(
        RelayConfig::parse(
            "redis = unix:/r\nrelay_id = Bad_Id\nadvertise = h:1\ncluster_key_file = /k\n", "r")
            .ok());
}

TEST(AClusterSignal, RoundTripsAndRefusesMalformedText) {
    ClusterSignal s;
    s.kind = ClusterSignal::Kind::Ring;
    s.request = 42;
    s.from = "relay-1";
    s.call[0] = 0xab;
    s.caller = "alice";
    s.callee = "bob";
    s.key[31] = 7;
    auto back = ClusterSignal::decode(s.encode());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->encode(), s.encode());
    EXPECT_EQ(back->key, s.key);
    EXPECT_EQ(back->caller, "alice");
    ClusterSignal h;
    h.kind = ClusterSignal::Kind::Handshake;
    h.from = "r2";
    h.payload = {1, 2, 3, 0xff};
    back = ClusterSignal::decode(h.encode());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->payload, h.payload);
    const std::string c = " c=" + std::string(32, '0');
    EXPECT_FALSE(ClusterSignal::decode(""));
    EXPECT_FALSE(ClusterSignal::decode("k=ring r=1 f=r1" + c));   // no names, no key
    EXPECT_FALSE(ClusterSignal::decode("k=accept r=1 f=R1" + c)); // bad relay id
    EXPECT_FALSE(ClusterSignal::decode("k=accept r=1 r=2 f=r1" + c));
    EXPECT_FALSE(ClusterSignal::decode("k=hangup r=1 f=r1 n=9" + c));
    EXPECT_FALSE(ClusterSignal::decode("k=accept r=1 f=r1 x=1" + c));
    EXPECT_FALSE(ClusterSignal::decode("k=handshake r=1 f=r1 p=abc" + c));
    EXPECT_FALSE(ClusterSignal::decode(
        "k=handshake r=1 f=r1 p=" + std::string(2 * ClusterSignal::kMaxPayload + 2, 'a') + c));
    EXPECT_FALSE(ClusterSignal::decode("k=accept r=1 f=r1" + c)); // no sessions
    EXPECT_TRUE(ClusterSignal::decode("k=accept r=1 f=r1 s=5 t=6" + c));
    EXPECT_TRUE(
        ClusterSignal::decode("k=ringing r=1 f=r1 u=127.0.0.2:7000 y=" + std::string(64, 'a') + c));
    EXPECT_FALSE(
        ClusterSignal::decode("k=ringing r=1 f=r1 u=nohost y=" + std::string(64, 'a') + c));
}

TEST(AClusterSignal, CarriesAResumeWithTheResumersRoleAndTheAnswerWithBothSessions) {
    ClusterSignal r;
    r.kind = ClusterSignal::Kind::Resume;
    r.from = "r3";
    r.call[5] = 1;
    r.calleeSession = 77;
    r.trunk = "127.0.0.3:7000";
    auto back = ClusterSignal::decode(r.encode());
    ASSERT_TRUE(back) << r.encode();
    EXPECT_EQ(back->callerSession, 0u);
    EXPECT_EQ(back->calleeSession, 77u);
    EXPECT_EQ(back->trunk, r.trunk);
    ClusterSignal a;
    a.kind = ClusterSignal::Kind::Resumed;
    a.from = "r1";
    a.callerSession = 5;
    a.calleeSession = 77;
    a.trunk = "127.0.0.1:7000";
    back = ClusterSignal::decode(a.encode());
    ASSERT_TRUE(back) << a.encode();
    EXPECT_EQ(back->encode(), a.encode());
    const std::string c = " c=" + std::string(32, '0');
    // A resume names exactly one side, and both need a trunk address.
    EXPECT_FALSE(ClusterSignal::decode("k=resume r=1 f=r3 s=5 t=6 u=127.0.0.3:1" + c));
    EXPECT_FALSE(ClusterSignal::decode("k=resume r=1 f=r3 u=127.0.0.3:1" + c));
    EXPECT_FALSE(ClusterSignal::decode("k=resume r=1 f=r3 t=6" + c));
    EXPECT_FALSE(ClusterSignal::decode("k=resumed r=1 f=r1 s=5 u=127.0.0.1:1" + c));
    EXPECT_FALSE(ClusterSignal::decode("k=resumed r=1 f=r1 s=5 t=6" + c));
    EXPECT_TRUE(ClusterSignal::decode("k=resumed r=1 f=r1 s=5 t=6 u=127.0.0.1:1" + c));
    EXPECT_FALSE(ClusterSignal::decode("k=accept r=1 f=r1 s=5 t=6 u=127.0.0.1:1" + c));
}

trunk::Key testTrunkKey() {
    std::array<uint8_t, 32> clusterKey{};
    clusterKey[0] = 9;
    return trunk::deriveKey(clusterKey);
}

std::vector<uint8_t> testPacket() {
    std::vector<uint8_t> packet(100);
    for (size_t i = 0; i < packet.size(); ++i) {
        packet[i] = uint8_t(i * 3 + 1);
    }
    return packet;
}

TEST(ATrunkDatagram, OpensOnlyUnderTheClusterKeyAndUntouched) {
    std::array<uint8_t, 32> clusterKey{};
    clusterKey[0] = 9;
    const trunk::Key key = trunk::deriveKey(clusterKey);
    EXPECT_NE(key, clusterKey); // the cluster key itself never MACs packets
    const std::vector<uint8_t> packet = testPacket();
    trunk::Sender sender(0x0102030405060708ull, 41);
    std::vector<uint8_t> datagram(packet.size() + trunk::kOverhead);
    ASSERT_EQ(trunk::seal(key, sender, packet, datagram), datagram.size());
    EXPECT_TRUE(trunk::looksLikeTrunk(datagram));
    auto inner = trunk::open(key, datagram);
    ASSERT_TRUE(inner);
    EXPECT_TRUE(
        std::equal(inner->packet.begin(), inner->packet.end(), packet.begin(), packet.end()));
    EXPECT_EQ(inner->epoch, 0x0102030405060708ull);
    EXPECT_EQ(inner->sequence, 41u);
    // Another key, any flipped bit (epoch and sequence included), a cut tail: dropped.
    trunk::Key other = key;
    other[5] ^= 1;
    EXPECT_FALSE(trunk::open(other, datagram));
    for (size_t i = 0; i < datagram.size(); ++i) {
        auto bad = datagram;
        bad[i] ^= 0x10;
        EXPECT_FALSE(trunk::open(key, bad)) << "byte " << i;
    }
    EXPECT_FALSE(trunk::open(key, std::span(datagram).first(datagram.size() - 1)));
    EXPECT_FALSE(trunk::open(key, std::span(datagram).first(trunk::kOverhead)));
    std::vector<uint8_t> small(packet.size());
    EXPECT_EQ(trunk::seal(key, sender, packet, small), 0u);
}

TEST(ATrunkMac, KeepsItsKeyAcrossDatagramsAndRefusesWhatAnotherKeySealed) {
    // A media thread's Mac serves every datagram it seals or opens: each tag
    // must be the one a fresh HMAC under the key gives (trunk::open(Key)),
    // whatever the datagram before it was, a bad one included.
    const trunk::Key key = testTrunkKey();
    trunk::Key other = key;
    other[0] ^= 1;
    trunk::Mac mac(key), otherMac(other);
    ASSERT_TRUE(mac.ok() && otherMac.ok());
    trunk::Sender sender(3);
    std::vector<uint8_t> packet = testPacket();
    for (uint8_t i = 0; i < 5; ++i) {
        packet[0] = i;
        std::vector<uint8_t> datagram(packet.size() + trunk::kOverhead);
        ASSERT_EQ(trunk::seal(mac, sender, packet, datagram), datagram.size());
        auto fresh = trunk::open(key, datagram);
        ASSERT_TRUE(fresh);
        EXPECT_EQ(fresh->sequence, i);
        EXPECT_TRUE(trunk::open(mac, datagram));
        EXPECT_FALSE(trunk::open(otherMac, datagram));
        datagram[20] ^= 1;
        EXPECT_FALSE(trunk::open(mac, datagram));
    }
}

TEST(ATrunkSender, NumbersItsDatagramsUpwardsUnderARandomEpoch) {
    const trunk::Key key = testTrunkKey();
    const std::vector<uint8_t> packet = testPacket();
    auto e1 = trunk::randomEpoch();
    auto e2 = trunk::randomEpoch();
    ASSERT_TRUE(e1.ok() && e2.ok());
    EXPECT_NE(*e1, *e2); // a restarted relay is a new sender
    trunk::Sender sender(*e1);
    std::vector<uint8_t> datagram(packet.size() + trunk::kOverhead);
    for (uint64_t expected = 0; expected < 3; ++expected) {
        ASSERT_NE(trunk::seal(key, sender, packet, datagram), 0u);
        auto opened = trunk::open(key, datagram);
        ASSERT_TRUE(opened);
        EXPECT_EQ(opened->epoch, *e1);
        EXPECT_EQ(opened->sequence, expected);
    }
}

TEST(ATrunkReplayGuard, DropsAReplayedDatagramAndCountsIt) {
    const trunk::Key key = testTrunkKey();
    trunk::Sender sender(7);
    std::vector<uint8_t> datagram(testPacket().size() + trunk::kOverhead);
    ASSERT_NE(trunk::seal(key, sender, testPacket(), datagram), 0u);
    trunk::ReplayGuard guard;
    auto opened = trunk::open(key, datagram);
    ASSERT_TRUE(opened);
    EXPECT_EQ(guard.accept(opened->epoch, opened->sequence), trunk::Verdict::Fresh);
    // The captured datagram sent again still verifies, and is dropped.
    for (int i = 0; i < 3; ++i) {
        auto again = trunk::open(key, datagram);
        ASSERT_TRUE(again);
        EXPECT_EQ(guard.accept(again->epoch, again->sequence), trunk::Verdict::Duplicate);
    }
    EXPECT_EQ(guard.duplicates.load(), 3u);
    EXPECT_EQ(guard.tooOld.load(), 0u);
}

TEST(ATrunkReplayGuard, AcceptsReorderedDatagramsInsideTheWindowOnce) {
    trunk::ReplayGuard guard;
    constexpr uint64_t kTop = 5000;
    ASSERT_EQ(guard.accept(1, kTop), trunk::Verdict::Fresh);
    // Late ones down to the window's lower edge come through once each.
    for (uint64_t back : {1ull, 2ull, 63ull, 64ull, 65ull, 500ull, 1023ull}) {
        EXPECT_EQ(guard.accept(1, kTop - back), trunk::Verdict::Fresh) << back;
        EXPECT_EQ(guard.accept(1, kTop - back), trunk::Verdict::Duplicate) << back;
    }
    // A jump forward, then what it skipped, arriving in any order.
    EXPECT_EQ(guard.accept(1, kTop + 700), trunk::Verdict::Fresh);
    for (uint64_t s = kTop + 699; s > kTop; s -= 7) {
        EXPECT_EQ(guard.accept(1, s), trunk::Verdict::Fresh) << s;
    }
    for (uint64_t s = kTop + 699; s > kTop; s -= 7) {
        EXPECT_EQ(guard.accept(1, s), trunk::Verdict::Duplicate) << s;
    }
    // Numbers the window kept across the jump are still remembered.
    EXPECT_EQ(guard.accept(1, kTop), trunk::Verdict::Duplicate);
    EXPECT_EQ(guard.accept(1, kTop - 1), trunk::Verdict::Duplicate);
}

TEST(ATrunkReplayGuard, DropsWhatIsOlderThanTheWindow) {
    trunk::ReplayGuard guard;
    ASSERT_EQ(guard.accept(1, 10000), trunk::Verdict::Fresh);
    EXPECT_EQ(guard.accept(1, 10000 - trunk::ReplayWindow::kSize), trunk::Verdict::TooOld);
    EXPECT_EQ(guard.accept(1, 0), trunk::Verdict::TooOld);
    EXPECT_EQ(guard.tooOld.load(), 2u);
    // A far jump forgets everything below the new window, seen or not.
    ASSERT_EQ(guard.accept(1, 1'000'000), trunk::Verdict::Fresh);
    EXPECT_EQ(guard.accept(1, 10000), trunk::Verdict::TooOld);
    EXPECT_EQ(guard.accept(1, 1'000'000 - 1023), trunk::Verdict::Fresh);
    // Every number in a long in-order run, then each replayed: all dropped.
    for (uint64_t s = 1'000'001; s < 1'004'000; ++s) {
        ASSERT_EQ(guard.accept(1, s), trunk::Verdict::Fresh) << s;
    }
    for (uint64_t s = 1'000'001; s < 1'004'000; ++s) {
        ASSERT_NE(guard.accept(1, s), trunk::Verdict::Fresh) << s;
    }
}

TEST(ATrunkReplayGuard, AcceptsARestartedRelaysNewEpochFromZero) {
    trunk::ReplayGuard guard;
    for (uint64_t s = 0; s < 3000; ++s) {
        ASSERT_EQ(guard.accept(0xaaaa, s), trunk::Verdict::Fresh);
    }
    // The same relay restarted: a new epoch counts from 0 again, and its
    // numbers are fresh even though the old epoch used them.
    for (uint64_t s = 0; s < 100; ++s) {
        EXPECT_EQ(guard.accept(0xbbbb, s), trunk::Verdict::Fresh) << s;
    }
    EXPECT_EQ(guard.senders(), 2u);
    // The old epoch's datagrams replayed now are still dropped.
    EXPECT_EQ(guard.accept(0xaaaa, 2999), trunk::Verdict::Duplicate);
    EXPECT_EQ(guard.accept(0xaaaa, 5), trunk::Verdict::TooOld);
}

TEST(ATrunkReplayGuard, TracksAtMostItsCapOfSendersForgettingTheLongestQuiet) {
    trunk::ReplayGuard guard;
    const size_t cap = trunk::ReplayGuard::kMaxSenders;
    for (uint64_t epoch = 1; epoch <= cap; ++epoch) {
        ASSERT_EQ(guard.accept(epoch, 10), trunk::Verdict::Fresh);
    }
    // Epoch 1 keeps sending; epoch 2 is now the longest quiet.
    ASSERT_EQ(guard.accept(1, 11), trunk::Verdict::Fresh);
    for (uint64_t epoch = cap + 1; epoch <= cap + 10; ++epoch) {
        EXPECT_EQ(guard.accept(epoch, 0), trunk::Verdict::Fresh);
    }
    EXPECT_EQ(guard.senders(), cap);
    EXPECT_EQ(guard.sendersForgotten.load(), 10u);
    // The live sender kept its window.
    EXPECT_EQ(guard.accept(1, 11), trunk::Verdict::Duplicate);
    EXPECT_EQ(guard.accept(1, 10), trunk::Verdict::Duplicate);
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

TEST(AJunkFilter, LimitsASourceOverItsBudgetAndNotTheOthers) {
    JunkFilter::Limits limits;
    limits.ratePerSecond = 100;
    limits.burst = 50;
    limits.penalty = std::chrono::seconds(10);
    JunkFilter f(limits);
    auto now = JunkFilter::Clock::now();
    auto flooder = SocketAddress::loopbackV4(1000);
    auto other = SocketAddress::fromHostPort({"127.0.0.2", 1000});
    ASSERT_TRUE(other.ok());
    EXPECT_TRUE(f.admit(flooder, now));
    int started = 0;
    for (int i = 0; i < 50; ++i) {
        started += f.rejected(flooder, now);
    }
    EXPECT_EQ(started, 0); // within the burst
    EXPECT_TRUE(f.rejected(flooder, now));
    EXPECT_EQ(f.limitsStarted(), 1u);
    // Another port of the same address is the same source; another address is not.
    EXPECT_FALSE(f.admit(SocketAddress::loopbackV4(1001), now));
    EXPECT_TRUE(f.admit(*other, now));
    EXPECT_EQ(f.droppedUnread(), 1u);
    // The penalty ends, with a full budget again.
    now += std::chrono::seconds(10);
    EXPECT_TRUE(f.admit(flooder, now));
    EXPECT_FALSE(f.rejected(flooder, now));
}

TEST(AJunkFilter, RefillsAtItsRateAndKeepsItsTableBounded) {
    JunkFilter::Limits limits;
    limits.ratePerSecond = 100;
    limits.burst = 10;
    limits.maxSources = 8;
    JunkFilter f(limits);
    auto now = JunkFilter::Clock::now();
    auto a = SocketAddress::loopbackV4(1);
    // 100/s sustained never limits.
    for (int i = 0; i < 1000; ++i) {
        now += std::chrono::milliseconds(10);
        EXPECT_FALSE(f.rejected(a, now));
    }
    for (int i = 0; i < 100; ++i) {
        auto s = SocketAddress::fromHostPort({"10.0.0." + std::to_string(i), 5});
        ASSERT_TRUE(s.ok());
        f.rejected(*s, now);
    }
    EXPECT_LE(f.sources(), 8u);
}

} // namespace
} // namespace voice
