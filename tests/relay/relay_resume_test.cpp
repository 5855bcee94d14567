// SPDX-License-Identifier: MIT
// voice-relayd resumes answered calls: after a lost connection and after kill -9 and a restart,
// with the same sessions, no ringing, and only for the call's own parties.
#include "crypto/probe_auth.h"
#include "relay_harness.h"

#include <csignal>
#include <gtest/gtest.h>
#include <poll.h>

namespace voice::test {
namespace {

Identity newIdentity() {
    auto id = Identity::generate();
    EXPECT_TRUE(id.ok());
    return std::move(*id);
}

constexpr const char* kConfig = "resume_grace = 5s\n"
                                "metrics = 127.0.0.1:0\n";

class ARelayResumingCalls : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(relay.start()) << "voice-relayd did not start"; }

    std::unique_ptr<Client> registered(const std::string& name, const Identity& id) {
        auto c = Client::connect(relay.port());
        EXPECT_TRUE(c);
        if (c) {
            EXPECT_TRUE(c->registerOk(name, id)) << name;
        }
        return c;
    }

    struct Side {
        msg::CallStarted started;
        msg::ResumeToken token;
    };

    /// alice calls bob, bob accepts; both get CallStarted and a resume token.
    std::pair<Side, Side> connectCall(Client& caller, Client& callee, const std::string& name) {
        msg::Call call;
        call.callee = name;
        EXPECT_TRUE(caller.send(call));
        auto ringing = caller.expect<msg::Ringing>();
        auto incoming = callee.expect<msg::IncomingCall>();
        EXPECT_TRUE(ringing && incoming);
        if (!ringing || !incoming) {
            return {};
        }
        msg::Accept accept;
        accept.callId = incoming->callId;
        EXPECT_TRUE(callee.send(accept));
        auto a = caller.expect<msg::CallStarted>();
        auto b = callee.expect<msg::CallStarted>();
        auto ta = caller.expectResumeToken();
        auto tb = callee.expectResumeToken();
        EXPECT_TRUE(a && b && ta && tb);
        if (!a || !b || !ta || !tb) {
            return {};
        }
        EXPECT_EQ(ta->callId, a->callId);
        EXPECT_EQ(tb->callId, b->callId);
        EXPECT_NE(ta->token, tb->token);
        return {{*a, *ta}, {*b, *tb}};
    }

    /// Pins the relay to its port, connects a call from alice to bob, kills
    /// the relay with SIGKILL (their connections die with it) and starts it
    /// again; alice and bob are not connected afterwards.
    std::pair<Side, Side> callThenRestartTheRelay() {
        const uint16_t port = relay.port();
        relay.rewriteConfig(std::string(kConfig) + "listen = 127.0.0.1:" + std::to_string(port) +
                            "\n");
        auto alice = registered("alice", aliceId);
        auto bob = registered("bob", bobId);
        auto sides = connectCall(*alice, *bob, "bob");
        relay.sendSignal(SIGKILL);
        EXPECT_TRUE(waitUntil([&] { return !relay.running(); }));
        bob.reset();
        alice.reset();
        EXPECT_TRUE(relay.start());
        return sides;
    }

    static msg::Resume resumeWith(const msg::ResumeToken& t) {
        msg::Resume r;
        r.callId = t.callId;
        r.token = t.token;
        return r;
    }

    /// Media from `from` (session) reaches `to` over UDP, after both taught
    /// the relay their addresses with probes. Polls: the relay may need a
    /// moment to learn an address.
    static bool mediaFlows(Client& from, uint64_t fromSession, Client& to, uint64_t toSession,
                           uint64_t& seq) {
        const std::vector<uint8_t> payload(60, 0x5A);
        const auto end = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < end) {
            from.sendProbe(fromSession);
            to.sendProbe(toSession);
            auto p = mediaPacket(fromSession, ++seq, payload);
            from.sendUdp(p);
            while (auto got = to.receiveUdp(50ms)) {
                if (*got == p) {
                    return true;
                }
            }
        }
        return false;
    }

    /// The first message other than tunnelled media within `timeout` (media
    /// may come through the tunnel until the relay learns a UDP address),
    /// or "" when nothing else came.
    static std::string otherThanMedia(Client& c, std::chrono::milliseconds timeout) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return "";
            }
            auto m = c.receive(left);
            if (!m) {
                return "";
            }
            if (!std::holds_alternative<msg::MediaTunnel>(*m)) {
                return std::string(frameTypeName(msg::messageType(*m)));
            }
        }
    }

    RelayProcess relay{kConfig};
    Identity aliceId = newIdentity();
    Identity bobId = newIdentity();
    Identity carolId = newIdentity();
};

TEST_F(ARelayResumingCalls, ResumesACallAfterKill9AndARestartWithTheSameSessionsAndNoRing) {
    // Restart on the same port: pin it in the configuration.
    const uint16_t port = relay.port();
    relay.rewriteConfig(std::string(kConfig) + "listen = 127.0.0.1:" + std::to_string(port) + "\n");
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    uint64_t seq = 0;
    ASSERT_TRUE(mediaFlows(*alice, a.started.sessionId, *bob, b.started.sessionId, seq));

    relay.sendSignal(SIGKILL);
    ASSERT_TRUE(waitUntil([&] { return !relay.running(); }));
    EXPECT_TRUE(alice->waitClosed());
    EXPECT_TRUE(bob->waitClosed());
    const auto restartedAt = std::chrono::steady_clock::now();
    ASSERT_TRUE(relay.start()) << "voice-relayd did not restart";
    ASSERT_EQ(relay.port(), port);

    // Both come back, register as before and resume with their tokens.
    alice = registered("alice", aliceId);
    bob = registered("bob", bobId);
    ASSERT_TRUE(alice->send(resumeWith(a.token)));
    auto ta = alice->expectResumeToken();
    ASSERT_TRUE(ta) << alice->lastUnexpected();
    EXPECT_EQ(ta->callId, a.started.callId);
    ASSERT_TRUE(bob->send(resumeWith(b.token)));
    auto tb = bob->expectResumeToken();
    ASSERT_TRUE(tb);
    EXPECT_EQ(tb->callId, b.started.callId);
    // The old session ids route again, both ways.
    ASSERT_TRUE(mediaFlows(*alice, a.started.sessionId, *bob, b.started.sessionId, seq));
    ASSERT_TRUE(mediaFlows(*bob, b.started.sessionId, *alice, a.started.sessionId, seq));
    // With new route keys: a probe captured before the restart (any counter)
    // moves nothing now, and alice still gets bob's media, the thief nothing.
    EXPECT_NE(ta->routeKey, a.token.routeKey);
    EXPECT_NE(tb->routeKey, b.token.routeKey);
    auto thief = udpBind(*SocketAddress::fromHostPort({"127.0.0.2", 0}));
    ASSERT_TRUE(thief.ok());
    const auto stale = probe_auth::make(a.token.routeKey, a.started.sessionId, 1u << 30, 0);
    ASSERT_TRUE(
        sendTo(thief->get(), std::as_bytes(std::span(stale)), SocketAddress::loopbackV4(port))
            .ok());
    ASSERT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_probes_refused_total") >= 1; }));
    EXPECT_EQ(relay.metric("voice_relayd_address_changes_total"), 0);
    ASSERT_TRUE(mediaFlows(*bob, b.started.sessionId, *alice, a.started.sessionId, seq));
    pollfd pfd{thief->get(), POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 200), 0) << "a datagram reached the thief";
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - restartedAt)
                        .count();
    std::printf("media routed again %lld ms after the restart began\n", static_cast<long long>(ms));
    // Nothing rang, nothing else was said.
    EXPECT_EQ(otherThanMedia(*alice, 300ms), "");
    EXPECT_EQ(otherThanMedia(*bob, 10ms), "");
    EXPECT_EQ(relay.metric("voice_relayd_resumes_total"), 2);
    // The resumed call is a normal call: a hangup reaches the other side.
    msg::Hangup h;
    h.callId = a.started.callId;
    ASSERT_TRUE(alice->send(h));
    std::optional<msg::Message> m;
    do {
        m = bob->receive();
    } while (m && std::holds_alternative<msg::MediaTunnel>(*m));
    ASSERT_TRUE(m && std::holds_alternative<msg::Hangup>(*m));
    EXPECT_EQ(std::get<msg::Hangup>(*m).reason, HangupReason::Normal);
}

TEST_F(ARelayResumingCalls, KeepsTheCallWhileOnePartyReconnects) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    alice.reset(); // the connection breaks (e.g. an address change)
    alice = registered("alice", aliceId);
    ASSERT_TRUE(alice->send(resumeWith(a.token)));
    auto fresh = alice->expectResumeToken();
    ASSERT_TRUE(fresh);
    EXPECT_NE(fresh->routeKey, a.token.routeKey); // every token comes with a new route key
    EXPECT_EQ(otherThanMedia(*bob, 300ms), "");
    uint64_t seq = 0;
    EXPECT_TRUE(mediaFlows(*alice, a.started.sessionId, *bob, b.started.sessionId, seq));
    EXPECT_TRUE(mediaFlows(*bob, b.started.sessionId, *alice, a.started.sessionId, seq));
}

TEST_F(ARelayResumingCalls, RefusesATokenFromAnotherUserOrForAnotherCall) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    alice.reset();
    // Carol holds alice's token: useless to her.
    auto carol = registered("carol", carolId);
    ASSERT_TRUE(carol->send(resumeWith(a.token)));
    auto e = carol->expect<msg::Error>();
    ASSERT_TRUE(e) << carol->lastUnexpected();
    EXPECT_EQ(e->code, ErrorCode::UnknownCall);
    // Alice's token names her call only.
    alice = registered("alice", aliceId);
    auto wrong = resumeWith(a.token);
    wrong.callId[0] ^= 1;
    ASSERT_TRUE(alice->send(wrong));
    ASSERT_TRUE(alice->expect<msg::Error>());
    // Bob's token is bob's, even in alice's own call.
    ASSERT_TRUE(alice->send(resumeWith(b.token)));
    ASSERT_TRUE(alice->expect<msg::Error>());
    EXPECT_GE(relay.metric("voice_relayd_resumes_refused_total"), 3);
    // None of this disturbed the call: alice's own token still works.
    ASSERT_TRUE(alice->send(resumeWith(a.token)));
    ASSERT_TRUE(alice->expectResumeToken());
    EXPECT_EQ(otherThanMedia(*bob, 200ms), "");
}

TEST_F(ARelayResumingCalls, RefusesAReplayWhileThePartyIsConnectedAndAfterTheCallEnded) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    // Still in the call: a replay on her own connection changes nothing.
    ASSERT_TRUE(alice->send(resumeWith(a.token)));
    auto e = alice->expect<msg::Error>();
    ASSERT_TRUE(e) << alice->lastUnexpected();
    EXPECT_EQ(e->code, ErrorCode::BadState);
    msg::Hangup h;
    h.callId = a.started.callId;
    ASSERT_TRUE(alice->send(h));
    ASSERT_TRUE(bob->expect<msg::Hangup>());
    // After the call ended the token only earns the news.
    ASSERT_TRUE(bob->send(resumeWith(b.token)));
    auto ended = bob->expect<msg::Hangup>();
    ASSERT_TRUE(ended) << bob->lastUnexpected();
    EXPECT_EQ(ended->callId, b.started.callId);
}

TEST_F(ARelayResumingCalls, EndsTheCallWithPeerLostWhenAPartyDoesNotComeBack) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    alice.reset();
    // resume_grace is 5 s: bob hears nothing before, peer-lost after.
    EXPECT_FALSE(bob->receive(1s));
    auto h = bob->expect<msg::Hangup>(15s);
    ASSERT_TRUE(h) << bob->lastUnexpected();
    EXPECT_EQ(h->reason, HangupReason::PeerLost);
    // Coming back late: the relay says how the call ended.
    alice = registered("alice", aliceId);
    ASSERT_TRUE(alice->send(resumeWith(a.token)));
    auto late = alice->expect<msg::Hangup>();
    ASSERT_TRUE(late) << alice->lastUnexpected();
    EXPECT_EQ(late->reason, HangupReason::PeerLost);
}

TEST_F(ARelayResumingCalls, LetsASideResumeAgainWhileTheOtherIsStillAwayAfterARestart) {
    auto [a, b] = callThenRestartTheRelay();
    ASSERT_TRUE(relay.running());
    auto alice = registered("alice", aliceId);
    ASSERT_TRUE(alice->send(resumeWith(a.token)));
    auto fresh = alice->expectResumeToken();
    ASSERT_TRUE(fresh);
    alice.reset(); // flaky network: she drops again before bob is back
    alice = registered("alice", aliceId);
    ASSERT_TRUE(alice->send(resumeWith(*fresh)));
    ASSERT_TRUE(alice->expectResumeToken()) << alice->lastUnexpected();
    auto bob = registered("bob", bobId);
    ASSERT_TRUE(bob->send(resumeWith(b.token)));
    ASSERT_TRUE(bob->expectResumeToken()) << bob->lastUnexpected();
    uint64_t seq = 0;
    EXPECT_TRUE(mediaFlows(*alice, a.started.sessionId, *bob, b.started.sessionId, seq));
    EXPECT_TRUE(mediaFlows(*bob, b.started.sessionId, *alice, a.started.sessionId, seq));
}

TEST_F(ARelayResumingCalls, EndsAResumedCallWhenTheOtherPartyNeverResumesAfterARestart) {
    auto [a, b] = callThenRestartTheRelay();
    ASSERT_TRUE(relay.running());
    auto alice = registered("alice", aliceId);
    ASSERT_TRUE(alice->send(resumeWith(a.token)));
    ASSERT_TRUE(alice->expectResumeToken());
    auto h = alice->expect<msg::Hangup>(15s);
    ASSERT_TRUE(h) << alice->lastUnexpected();
    EXPECT_EQ(h->reason, HangupReason::PeerLost);
}

} // namespace
} // namespace voice::test
