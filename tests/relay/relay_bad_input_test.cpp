// SPDX-License-Identifier: MIT
// voice-relayd under bad input: garbage, bad lengths, slow writers, floods, spoofed media.
#include "crypto/probe_auth.h"
#include "relay_harness.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <gtest/gtest.h>
#include <poll.h>
#include <random>
#include <sstream>
#include <sys/socket.h>
#include <thread>

namespace voice::test {
namespace {

constexpr const char* kConfig = "registration_timeout = 2s\n"
                                "metrics = 127.0.0.1:0\n"
                                "max_connections_per_address = 16\n"
                                "messages_per_second = 50\n"
                                "message_burst = 100\n"
                                "new_names_per_minute = 6\n";

class ARelayUnderBadInput : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(relay.start());
        alice = Client::connect(relay.port());
        bob = Client::connect(relay.port());
        ASSERT_TRUE(alice && bob);
        ASSERT_TRUE(alice->registerOk("alice", aliceId));
        ASSERT_TRUE(bob->registerOk("bob", bobId));
        baselineRss = relay.vmRssKb();
    }

    /// An honest call still gets through, with media both ways.
    void expectHonestClientsWork() {
        ASSERT_TRUE(relay.running());
        msg::Call call;
        call.callee = "bob";
        ASSERT_TRUE(alice->send(call));
        auto ringing = alice->expect<msg::Ringing>();
        ASSERT_TRUE(ringing) << alice->lastUnexpected();
        auto incoming = bob->expect<msg::IncomingCall>();
        ASSERT_TRUE(incoming);
        msg::Accept accept;
        accept.callId = incoming->callId;
        ASSERT_TRUE(bob->send(accept));
        auto a = alice->expect<msg::CallStarted>();
        auto b = bob->expect<msg::CallStarted>();
        ASSERT_TRUE(a && b);
        msg::MediaTunnel t;
        std::vector<uint8_t> payload(120, 3);
        t.packet = mediaPacket(a->sessionId, 1, payload);
        ASSERT_TRUE(alice->send(t));
        auto got = bob->expect<msg::MediaTunnel>();
        ASSERT_TRUE(got);
        EXPECT_EQ(got->packet, t.packet);
        msg::Hangup h;
        h.callId = a->callId;
        ASSERT_TRUE(alice->send(h));
        ASSERT_TRUE(bob->expect<msg::Hangup>());
    }

    void expectBoundedMemory() {
        long rss = relay.vmRssKb();
        EXPECT_GT(rss, 0);
        EXPECT_LT(rss, baselineRss + 64 * 1024)
            << "VmRSS grew from " << baselineRss << " to " << rss;
    }

    RelayProcess relay{kConfig};
    Identity aliceId = Identity::generate().value();
    Identity bobId = Identity::generate().value();
    std::unique_ptr<Client> alice, bob;
    long baselineRss = 0;
};

UniqueFd rawConnect(uint16_t port, const char* from = nullptr) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (from) {
        auto local = SocketAddress::parse(std::string(from) + ":0", true);
        if (!local.ok() || ::bind(fd.get(), local->data(), local->length()) != 0) {
            return {};
        }
    }
    auto addr = SocketAddress::loopbackV4(port);
    if (::connect(fd.get(), addr.data(), addr.length()) != 0) {
        return {};
    }
    return fd;
}

TEST_F(ARelayUnderBadInput, SurvivesRandomBytesInsteadOfTls) {
    std::mt19937 rng(42);
    for (int i = 0; i < 50; ++i) {
        UniqueFd fd = rawConnect(relay.port());
        ASSERT_TRUE(fd.isValid());
        std::vector<uint8_t> junk(1 + rng() % 4000);
        for (auto& b : junk) {
            b = uint8_t(rng());
        }
        (void)::send(fd.get(), junk.data(), junk.size(), MSG_NOSIGNAL);
    }
    expectHonestClientsWork();
    expectBoundedMemory();
}

TEST_F(ARelayUnderBadInput, ClosesOnRandomFramesInsideTls) {
    std::mt19937 rng(7);
    for (int i = 0; i < 20; ++i) {
        auto c = Client::connect(relay.port());
        ASSERT_TRUE(c);
        std::vector<uint8_t> junk(1 + rng() % 3000);
        for (auto& b : junk) {
            b = uint8_t(rng());
        }
        c->sendBytes(junk);
        EXPECT_TRUE(c->waitClosed()) << "connection " << i;
    }
    expectHonestClientsWork();
}

TEST_F(ARelayUnderBadInput, RefusesAnOversizedLengthAtTheHeader) {
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    const uint8_t header[] = {uint8_t(FrameType::Hello), 0, 0xff, 0xff};
    ASSERT_TRUE(c->sendBytes(header));
    auto err = c->expect<msg::Error>();
    ASSERT_TRUE(err) << c->lastUnexpected();
    EXPECT_EQ(err->code, ErrorCode::Protocol);
    EXPECT_TRUE(c->waitClosed());
    expectHonestClientsWork();
}

TEST_F(ARelayUnderBadInput, RefusesAnUndersizedPayload) {
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    msg::Hello hello;
    ASSERT_TRUE(c->send(hello));
    ASSERT_TRUE(c->expect<msg::Hello>());
    ASSERT_TRUE(c->expect<msg::RegisterChallenge>());
    const uint8_t shortRegister[] = {uint8_t(FrameType::Register), 0, 0, 3, 1, 'a', 0};
    ASSERT_TRUE(c->sendBytes(shortRegister));
    auto err = c->expect<msg::Error>();
    ASSERT_TRUE(err);
    EXPECT_EQ(err->code, ErrorCode::Protocol);
    EXPECT_TRUE(c->waitClosed());
}

TEST_F(ARelayUnderBadInput, CleansUpTruncatedFrames) {
    for (int i = 0; i < 10; ++i) {
        auto c = Client::connect(relay.port());
        ASSERT_TRUE(c);
        const uint8_t partial[] = {uint8_t(FrameType::Hello), 0, 0, 40, 0, 1, 5};
        ASSERT_TRUE(c->sendBytes(partial));
    } // closed mid-frame
    EXPECT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_connections") == 2; }));
    expectHonestClientsWork();
}

TEST_F(ARelayUnderBadInput, DropsASlowWriterAtTheRegistrationDeadline) {
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    std::vector<uint8_t> hello;
    msg::Hello h;
    ASSERT_TRUE(msg::appendMessage(hello, h).ok());
    auto start = std::chrono::steady_clock::now();
    bool closed = false;
    // One byte every 300 ms: the whole hello would take longer than the 2 s deadline.
    for (size_t i = 0; i < hello.size() && !closed; ++i) {
        c->sendBytes(std::span(&hello[i], 1));
        closed = c->waitClosed(300ms);
    }
    if (!closed) {
        // Registering takes a Register too, which never comes.
        closed = c->waitClosed(10s);
    }
    EXPECT_TRUE(closed);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
    expectHonestClientsWork();
}

TEST_F(ARelayUnderBadInput, LimitsIdleConnectionsFromOneAddress) {
    std::vector<UniqueFd> idle;
    for (int i = 0; i < 1000; ++i) {
        UniqueFd fd = rawConnect(relay.port(), "127.0.0.2");
        if (fd.isValid()) {
            idle.push_back(std::move(fd));
        }
    }
    EXPECT_TRUE(waitUntil([&] {
        double n = relay.metric("voice_relayd_connections");
        return n >= 0 && n <= 2 + 16;
    }));
    // Each newcomer past the 16 closed either itself (old relays) or an older idle one.
    EXPECT_TRUE(waitUntil([&] {
        return relay.metric("voice_relayd_connections_refused_total") +
                   relay.metric("voice_relayd_connections_evicted_total") >=
               900;
    }));
    expectHonestClientsWork();
    expectBoundedMemory();
    // The ones let in are dropped at the registration deadline.
    EXPECT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_connections") == 2; }));
}

TEST_F(ARelayUnderBadInput, LetsANewClientRegisterFromAnAddressFloodedWithIdleConnections) {
    // alice and bob are registered from 127.0.0.1; a flood of idle
    // connections from the same address (a NAT, a shared host) goes on while
    // carol registers from it too.
    std::atomic<bool> stop{false};
    std::thread flood([&] {
        std::deque<UniqueFd> open;
        for (int i = 0; i < 200; ++i) {
            open.push_back(rawConnect(relay.port(), "127.0.0.1"));
        }
        const auto end = std::chrono::steady_clock::now() + 15s;
        while (!stop && std::chrono::steady_clock::now() < end) {
            open.push_back(rawConnect(relay.port(), "127.0.0.1"));
            if (open.size() > 64) {
                open.pop_front();
            }
            std::this_thread::sleep_for(10ms);
        }
    });
    struct Join {
        std::atomic<bool>& stop;
        std::thread& thread;
        ~Join() {
            stop = true;
            thread.join();
        }
    } join{stop, flood};
    // The address is full: newcomers are refused (old relays) or make room.
    ASSERT_TRUE(waitUntil([&] {
        return relay.metric("voice_relayd_connections_refused_total") +
                   std::max(0.0, relay.metric("voice_relayd_connections_evicted_total")) >
               0;
    }));
    const auto start = std::chrono::steady_clock::now();
    auto carol = Client::connect(relay.port());
    ASSERT_TRUE(carol);
    Identity carolId = Identity::generate().value();
    auto answer = carol->registerAs("carol", carolId);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(answer && std::holds_alternative<msg::Registered>(*answer));
    EXPECT_LT(took, 2s);
    std::printf("carol registered under the flood in %lld ms\n",
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    // Unregistered connections from the address stay bounded all the same.
    const double connections = relay.metric("voice_relayd_connections");
    EXPECT_LE(connections, 3 + 16);
    EXPECT_GT(relay.metric("voice_relayd_connections_evicted_total"), 0);
    expectHonestClientsWork();
}

TEST_F(ARelayUnderBadInput, ClosesAClientThatFloodsMessages) {
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    std::vector<uint8_t> flood;
    msg::Keepalive k;
    for (int i = 0; i < 500; ++i) {
        ASSERT_TRUE(msg::appendMessage(flood, k).ok());
    }
    c->sendBytes(flood);
    bool sawRateLimit = false;
    for (int i = 0; i < 600; ++i) {
        auto m = c->receive(2s);
        if (!m) {
            break;
        }
        if (auto* e = std::get_if<msg::Error>(&*m)) {
            sawRateLimit = e->code == ErrorCode::RateLimited;
            break;
        }
    }
    EXPECT_TRUE(sawRateLimit);
    EXPECT_TRUE(c->waitClosed());
    expectHonestClientsWork();
}

TEST_F(ARelayUnderBadInput, LimitsHowFastOneAddressClaimsNewNames) {
    bool limited = false;
    for (int i = 0; i < 10 && !limited; ++i) {
        auto c = Client::connect(relay.port());
        ASSERT_TRUE(c);
        auto m = c->registerAs("squatter" + std::to_string(i), Identity::generate().value());
        ASSERT_TRUE(m);
        if (auto* r = std::get_if<msg::Refused>(&*m)) {
            EXPECT_EQ(r->reason, RefuseReason::RateLimited);
            limited = true;
        }
    }
    EXPECT_TRUE(limited);
    // Names already bound still register (no new binding needed).
    auto again = Client::connect(relay.port());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->registerOk("alice", aliceId));
}

TEST_F(ARelayUnderBadInput, RefusesRelayOnlyMessagesFromClients) {
    msg::Registered r;
    r.name = "alice";
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->send(r));
    auto err = c->expect<msg::Error>();
    ASSERT_TRUE(err);
    EXPECT_EQ(err->code, ErrorCode::Protocol);
    EXPECT_TRUE(c->waitClosed());
}

TEST_F(ARelayUnderBadInput, DropsUdpJunkAndSpoofedSessionIdsWhileACallFlows) {
    msg::Call call;
    call.callee = "bob";
    ASSERT_TRUE(alice->send(call));
    ASSERT_TRUE(alice->expect<msg::Ringing>());
    auto incoming = bob->expect<msg::IncomingCall>();
    ASSERT_TRUE(incoming);
    msg::Accept accept;
    accept.callId = incoming->callId;
    ASSERT_TRUE(bob->send(accept));
    auto a = alice->expect<msg::CallStarted>();
    auto b = bob->expect<msg::CallStarted>();
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(alice->sendProbe(a->sessionId));
    ASSERT_TRUE(bob->sendProbe(b->sessionId));
    ASSERT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_probes_total") >= 2; }));

    auto attacker = udpBind(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(attacker.ok());
    std::mt19937_64 rng(99);
    const auto to = SocketAddress::loopbackV4(relay.port());
    std::vector<uint8_t> payload(100, 9);
    int junk = 0;
    for (uint64_t seq = 1; seq <= 50; ++seq) {
        for (int i = 0; i < 100; ++i, ++junk) {
            std::vector<uint8_t> d;
            if (i % 2) {
                d.resize(rng() % 1500);
                for (auto& x : d) {
                    x = uint8_t(rng());
                }
            } else {
                d = mediaPacket(rng() | 1, seq, payload); // a guessed session id
            }
            (void)sendTo(attacker->get(), std::as_bytes(std::span(d)), to);
        }
        auto p = mediaPacket(a->sessionId, seq, payload);
        ASSERT_TRUE(alice->sendUdp(p));
        auto got = bob->receiveUdp();
        ASSERT_TRUE(got) << "honest packet " << seq << " lost";
        EXPECT_EQ(*got, p);
    }
    // Nothing the attacker sent reached bob.
    EXPECT_FALSE(bob->receiveUdp(200ms));
    EXPECT_TRUE(waitUntil(
        [&] { return relay.metric("voice_relayd_packets_dropped_total") >= junk * 0.9; }));
    expectBoundedMemory();
}

/// The first sample of a labelled metric whose line starts with `prefix` and holds `label`.
double labelled(RelayProcess& relay, const std::string& prefix, const std::string& label) {
    std::istringstream lines(relay.metrics());
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(prefix, 0) == 0 && line.find(label) != std::string::npos) {
            return std::atof(line.c_str() + line.rfind(' ') + 1);
        }
    }
    return -1;
}

// Issue 16: the session id travels in clear, so anyone who sees one datagram
// of a call knows it. From a third address, for longer than the old 1 s
// address hold, an attacker replays what it captured (alice's audio and her
// probe), bit-flipped copies, a bare probe with her session id, and audio
// with forged sequence numbers. Nothing moves alice's address: bob's media
// keeps reaching her and never the attacker, and her loss count stays clean.
TEST_F(ARelayUnderBadInput, FollowsNoReplayedOrForgedDatagramFromAThirdAddress) {
    msg::Call call;
    call.callee = "bob";
    ASSERT_TRUE(alice->send(call));
    ASSERT_TRUE(alice->expect<msg::Ringing>());
    auto incoming = bob->expect<msg::IncomingCall>();
    ASSERT_TRUE(incoming);
    msg::Accept accept;
    accept.callId = incoming->callId;
    ASSERT_TRUE(bob->send(accept));
    auto a = alice->expect<msg::CallStarted>();
    auto b = bob->expect<msg::CallStarted>();
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(alice->sendProbe(a->sessionId)); // counter 1, timestamp 0: reproducible below
    ASSERT_TRUE(bob->sendProbe(b->sessionId));
    ASSERT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_probes_total") >= 2; }));
    ASSERT_TRUE(alice->routeKey());
    // What the attacker captured: alice's probe and a packet of her audio.
    const auto probe = probe_auth::make(*alice->routeKey(), a->sessionId, 1, 0);
    std::vector<uint8_t> payload(100, 7);
    uint64_t seq = 1;
    const auto audio = mediaPacket(a->sessionId, seq, payload);
    ASSERT_TRUE(alice->sendUdp(audio));
    ASSERT_TRUE(bob->receiveUdp());

    auto attacker = udpBind(*SocketAddress::fromHostPort({"127.0.0.2", 0}));
    ASSERT_TRUE(attacker.ok());
    const auto to = SocketAddress::loopbackV4(relay.port());
    auto shoot = [&](std::span<const uint8_t> d) {
        (void)sendTo(attacker->get(), std::as_bytes(d), to);
    };
    std::mt19937_64 rng(16);
    int delivered = 0, sent = 0;
    const auto end = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < end) {
        shoot(probe);
        shoot(audio);
        auto flipped = probe;
        flipped[rng() % flipped.size()] ^= uint8_t(1u << (rng() % 8));
        shoot(flipped);
        auto flippedAudio = audio;
        flippedAudio[rng() % flippedAudio.size()] ^= uint8_t(1u << (rng() % 8));
        shoot(flippedAudio);
        shoot(mediaPacket(a->sessionId, rng() % 100, {}, MediaKind::Probe)); // bare, 28 bytes
        shoot(mediaPacket(a->sessionId, uint64_t(1) << 40, payload));        // forged sequence
        shoot(mediaPacket(a->sessionId, 1000 + rng() % 1000, payload));
        // Bob keeps talking; alice must hear every packet.
        auto p = mediaPacket(b->sessionId, seq++, payload);
        ASSERT_TRUE(bob->sendUdp(p));
        ++sent;
        if (auto got = alice->receiveUdp(500ms); got && *got == p) {
            ++delivered;
        }
        std::this_thread::sleep_for(10ms);
    }
    // The attacker got nothing; alice got everything; nothing moved.
    pollfd pfd{attacker->get(), POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 300), 0) << "a datagram reached the attacker";
    EXPECT_EQ(delivered, sent);
    EXPECT_EQ(relay.metric("voice_relayd_address_changes_total"), 0);
    EXPECT_GT(relay.metric("voice_relayd_probes_refused_total"), 0);
    EXPECT_GT(relay.metric("voice_relayd_stray_packets_total"), 0);
    // Alice was asked to probe (over TLS), no more than ten times a second.
    const int asked = alice->probeRequests(200ms);
    EXPECT_GE(asked, 1);
    EXPECT_LE(asked, 17);
    // Alice sent 1 packet (seq 1) and lost none of it; the forged ones count for nothing.
    EXPECT_EQ(labelled(relay, "voice_relayd_call_packets_lost{", "from=\"caller\""), 0);
    EXPECT_EQ(labelled(relay, "voice_relayd_call_jitter_seconds{", "from=\"caller\""), 0);
}

} // namespace
} // namespace voice::test

namespace voice::test {
namespace {

TEST(ARelayWithASlowReader, DropsTheReaderInsteadOfBufferingWithoutBound) {
    RelayProcess relay("metrics = 127.0.0.1:0\noutput_buffer_bytes = 4096\n"
                       "messages_per_second = 5000\nmessage_burst = 5000\n");
    ASSERT_TRUE(relay.start());
    auto aliceId = Identity::generate().value();
    auto bobId = Identity::generate().value();
    auto alice = Client::connect(relay.port());
    auto bob = Client::connect(relay.port());
    ASSERT_TRUE(alice && bob);
    ASSERT_TRUE(alice->registerOk("alice", aliceId));
    ASSERT_TRUE(bob->registerOk("bob", bobId));
    msg::Call call;
    call.callee = "bob";
    ASSERT_TRUE(alice->send(call));
    auto ringing = alice->expect<msg::Ringing>();
    ASSERT_TRUE(ringing);
    ASSERT_TRUE(bob->expect<msg::IncomingCall>());
    // Bob stops reading; alice pours handshake payloads at him.
    msg::E2eHandshake hs;
    hs.callId = ringing->callId;
    hs.bytes.assign(kMaxHandshakeBytes, 0x42);
    std::vector<uint8_t> frame;
    ASSERT_TRUE(msg::appendMessage(frame, hs).ok());
    const long rssBefore = relay.vmRssKb();
    bool dropped = false;
    for (int i = 0; i < 4000 && !dropped; ++i) {
        ASSERT_TRUE(alice->sendBytes(frame));
        if (i % 100 == 99) {
            dropped = relay.metric("voice_relayd_slow_readers_dropped_total") >= 1;
        }
    }
    EXPECT_TRUE(
        waitUntil([&] { return relay.metric("voice_relayd_slow_readers_dropped_total") >= 1; }));
    auto h = alice->expect<msg::Hangup>();
    ASSERT_TRUE(h) << alice->lastUnexpected();
    EXPECT_EQ(h->reason, HangupReason::PeerLost);
    EXPECT_LT(relay.vmRssKb(), rssBefore + 32 * 1024);
}

} // namespace
} // namespace voice::test
