// SPDX-License-Identifier: MIT
// voice-relayd as a real process on loopback: registration, matching, media, faults, lifecycle.
#include "relay_harness.h"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/wait.h>

namespace voice::test {
namespace {

Identity newIdentity() {
    auto id = Identity::generate();
    EXPECT_TRUE(id.ok());
    return std::move(*id);
}

constexpr const char* kFastConfig = "ring_timeout = 1500ms\n"
                                    "resume_grace = 1s\n"
                                    "registration_timeout = 2s\n"
                                    "metrics = 127.0.0.1:0\n";

class ARelay : public ::testing::Test {
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

    /// alice calls bob, bob accepts; returns the two CallStarted.
    std::pair<msg::CallStarted, msg::CallStarted> connectCall(Client& caller, Client& callee,
                                                              const std::string& calleeName) {
        msg::Call call;
        call.callee = calleeName;
        EXPECT_TRUE(caller.send(call));
        auto ringing = caller.expect<msg::Ringing>();
        auto incoming = callee.expect<msg::IncomingCall>();
        EXPECT_TRUE(ringing && incoming);
        if (!ringing || !incoming) {
            return {};
        }
        EXPECT_EQ(ringing->callId, incoming->callId);
        msg::Accept accept;
        accept.callId = incoming->callId;
        EXPECT_TRUE(callee.send(accept));
        auto a = caller.expect<msg::CallStarted>();
        auto b = callee.expect<msg::CallStarted>();
        EXPECT_TRUE(a && b);
        if (!a || !b) {
            return {};
        }
        EXPECT_EQ(a->role, CallRole::Caller);
        EXPECT_EQ(b->role, CallRole::Callee);
        EXPECT_NE(a->sessionId, b->sessionId);
        return {*a, *b};
    }

    RelayProcess relay{kFastConfig};
    Identity aliceId = newIdentity();
    Identity bobId = newIdentity();
    Identity carolId = newIdentity();
};

TEST_F(ARelay, TellsSystemdItIsReadyAndReportsItsPort) {
    auto n = relay.notifications();
    EXPECT_NE(std::find(n.begin(), n.end(), "READY=1"), n.end());
    EXPECT_NE(relay.port(), 0);
}

TEST_F(ARelay, RegistersAClientThatProvesItsKey) {
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    auto answer = c->registerAs("alice", aliceId);
    ASSERT_TRUE(answer);
    auto* r = std::get_if<msg::Registered>(&*answer);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "alice");
    EXPECT_EQ(r->udpPort, relay.port());
}

TEST_F(ARelay, RefusesASignatureOverTheWrongChallenge) {
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    msg::Hello hello;
    ASSERT_TRUE(c->send(hello));
    ASSERT_TRUE(c->expect<msg::Hello>());
    ASSERT_TRUE(c->expect<msg::RegisterChallenge>());
    msg::Register reg;
    reg.name = "alice";
    reg.identityKey = aliceId.publicKey();
    RegisterNonce other{};
    reg.signature = *aliceId.sign(registerSignedBytes(other, "alice"));
    ASSERT_TRUE(c->send(reg));
    auto refused = c->expect<msg::Refused>();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->reason, RefuseReason::BadSignature);
    EXPECT_TRUE(c->waitClosed());
}

TEST_F(ARelay, RefusesAWrongKeyForATakenName) {
    auto alice = registered("alice", aliceId);
    auto mallory = Client::connect(relay.port());
    ASSERT_TRUE(mallory);
    auto answer = mallory->registerAs("alice", carolId);
    ASSERT_TRUE(answer);
    auto* refused = std::get_if<msg::Refused>(&*answer);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->reason, RefuseReason::NameTaken);
    EXPECT_NE(refused->text.find("another identity key"), std::string::npos);
    // The real alice is undisturbed.
    msg::Keepalive k;
    k.token = 7;
    ASSERT_TRUE(alice->send(k));
    msg::Call call;
    call.callee = "nobody";
    ASSERT_TRUE(alice->send(call));
    EXPECT_TRUE(alice->expect<msg::Offline>());
}

TEST_F(ARelay, KeepsNameBindingsAcrossARestart) {
    { auto alice = registered("alice", aliceId); }
    EXPECT_EQ(relay.terminate(), 0);
    ASSERT_TRUE(relay.start());
    auto mallory = Client::connect(relay.port());
    ASSERT_TRUE(mallory);
    auto answer = mallory->registerAs("alice", carolId);
    ASSERT_TRUE(answer && std::holds_alternative<msg::Refused>(*answer));
    auto alice = Client::connect(relay.port());
    ASSERT_TRUE(alice);
    EXPECT_TRUE(alice->registerOk("alice", aliceId));
}

TEST_F(ARelay, ReplacesTheOldConnectionWhenTheSameKeyRegistersAgain) {
    auto old = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    connectCall(*old, *bob, "bob");
    auto fresh = registered("alice", aliceId);
    auto err = old->expect<msg::Error>();
    ASSERT_TRUE(err) << old->lastUnexpected();
    // A reason of its own, so the replaced device knows not to take the name back.
    EXPECT_EQ(err->code, ErrorCode::Replaced);
    EXPECT_TRUE(old->waitClosed());
    auto hangup = bob->expect<msg::Hangup>();
    ASSERT_TRUE(hangup);
    EXPECT_EQ(hangup->reason, HangupReason::PeerLost);
    // The new connection owns the name: bob can call it.
    msg::Call call;
    call.callee = "alice";
    ASSERT_TRUE(bob->send(call));
    EXPECT_TRUE(bob->expect<msg::Ringing>());
    EXPECT_TRUE(fresh->expect<msg::IncomingCall>());
}

TEST_F(ARelay, ConnectsACallAndForwardsMediaOverUdpBothWays) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    // Each side teaches the relay its address with a probe.
    ASSERT_TRUE(alice->sendProbe(a.sessionId));
    ASSERT_TRUE(bob->sendProbe(b.sessionId));
    ASSERT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_probes_total") >= 2; }));
    std::vector<uint8_t> payload(130);
    for (size_t i = 0; i < payload.size(); ++i) {
        payload[i] = uint8_t(i * 7);
    }
    for (uint64_t seq = 1; seq <= 20; ++seq) {
        auto pa = mediaPacket(a.sessionId, seq, payload);
        ASSERT_TRUE(alice->sendUdp(pa));
        auto got = bob->receiveUdp();
        ASSERT_TRUE(got) << "packet " << seq << " alice->bob";
        EXPECT_EQ(*got, pa);
        auto pb = mediaPacket(b.sessionId, seq, payload);
        ASSERT_TRUE(bob->sendUdp(pb));
        got = alice->receiveUdp();
        ASSERT_TRUE(got) << "packet " << seq << " bob->alice";
        EXPECT_EQ(*got, pb);
    }
    EXPECT_GE(relay.metric("voice_relayd_packets_forwarded_total"), 40);
    std::string m = relay.metrics();
    EXPECT_NE(m.find("voice_relayd_call_packets_lost{"), std::string::npos);
    // Hang up: bob learns it, and media stops flowing.
    msg::Hangup h;
    h.callId = a.callId;
    ASSERT_TRUE(alice->send(h));
    auto hb = bob->expect<msg::Hangup>();
    ASSERT_TRUE(hb);
    EXPECT_EQ(hb->reason, HangupReason::Normal);
    ASSERT_TRUE(alice->sendUdp(mediaPacket(a.sessionId, 99, payload)));
    EXPECT_FALSE(bob->receiveUdp(300ms));
}

TEST_F(ARelay, TunnelsMediaThroughTheControlConnectionWithoutUdp) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    std::vector<uint8_t> payload(150, 0x5a);
    // Neither side has a UDP path: tunnel -> tunnel.
    msg::MediaTunnel t;
    t.packet = mediaPacket(a.sessionId, 1, payload);
    ASSERT_TRUE(alice->send(t));
    auto got = bob->expect<msg::MediaTunnel>();
    ASSERT_TRUE(got) << bob->lastUnexpected();
    EXPECT_EQ(got->packet, t.packet);
    // Bob now has UDP: alice's tunnelled packets reach him by UDP, and his
    // UDP packets reach alice (no UDP) through her tunnel.
    ASSERT_TRUE(bob->sendProbe(b.sessionId));
    ASSERT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_probes_total") >= 1; }));
    t.packet = mediaPacket(a.sessionId, 2, payload);
    ASSERT_TRUE(alice->send(t));
    auto udp = bob->receiveUdp();
    ASSERT_TRUE(udp);
    EXPECT_EQ(*udp, t.packet);
    auto pb = mediaPacket(b.sessionId, 1, payload);
    ASSERT_TRUE(bob->sendUdp(pb));
    auto back = alice->expect<msg::MediaTunnel>();
    ASSERT_TRUE(back) << alice->lastUnexpected();
    EXPECT_EQ(back->packet, pb);
}

TEST_F(ARelay, PassesHandshakePayloadsThroughUntouched) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    msg::E2eHandshake hs;
    hs.callId = a.callId;
    for (int i = 0; i < 300; ++i) {
        hs.bytes.push_back(uint8_t(i * 13 + 1));
    }
    ASSERT_TRUE(alice->send(hs));
    auto got = bob->expect<msg::E2eHandshake>();
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, hs);
    hs.bytes.assign(64, 0xee);
    ASSERT_TRUE(bob->send(hs));
    got = alice->expect<msg::E2eHandshake>();
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, hs);
}

TEST_F(ARelay, AnswersBusyWithoutDisturbingTheOngoingCall) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    auto carol = registered("carol", carolId);
    auto [a, b] = connectCall(*alice, *bob, "bob");
    ASSERT_TRUE(alice->sendProbe(a.sessionId));
    ASSERT_TRUE(bob->sendProbe(b.sessionId));
    ASSERT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_probes_total") >= 2; }));
    std::vector<uint8_t> payload(100, 1);
    for (uint64_t seq = 1; seq <= 30; ++seq) {
        auto p = mediaPacket(a.sessionId, seq, payload);
        ASSERT_TRUE(alice->sendUdp(p));
        if (seq == 10) {
            msg::Call call;
            call.callee = "bob";
            ASSERT_TRUE(carol->send(call));
            auto busy = carol->expect<msg::Busy>();
            ASSERT_TRUE(busy);
            EXPECT_EQ(busy->callee, "bob");
            call.callee = "alice";
            ASSERT_TRUE(carol->send(call));
            EXPECT_TRUE(carol->expect<msg::Busy>());
        }
        auto got = bob->receiveUdp();
        ASSERT_TRUE(got) << "packet " << seq << " lost";
        EXPECT_EQ(*got, p);
    }
    // Bob saw nothing of carol's attempts on his control connection.
    EXPECT_FALSE(bob->receive(300ms));
    EXPECT_EQ(relay.metric("voice_relayd_calls_rejected_busy_total"), 2);
}

TEST_F(ARelay, AnswersOfflineForUnknownAndDepartedNames) {
    auto alice = registered("alice", aliceId);
    msg::Call call;
    call.callee = "nobody";
    ASSERT_TRUE(alice->send(call));
    EXPECT_TRUE(alice->expect<msg::Offline>());
    { auto bob = registered("bob", bobId); }
    call.callee = "bob";
    ASSERT_TRUE(waitUntil([&] {
        alice->send(call);
        auto m = alice->receive();
        return m && std::holds_alternative<msg::Offline>(*m);
    }));
}

TEST_F(ARelay, ResolvesGlareInFavourOfTheSmallerName) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    // Bob's call reaches the relay first; alice's crosses it.
    msg::Call toAlice;
    toAlice.callee = "alice";
    ASSERT_TRUE(bob->send(toAlice));
    auto bobRinging = bob->expect<msg::Ringing>();
    ASSERT_TRUE(bobRinging);
    msg::Call toBob;
    toBob.callee = "bob";
    ASSERT_TRUE(alice->send(toBob));
    // Alice got bob's IncomingCall first, then its cancellation, then her own Ringing.
    auto incoming = alice->expect<msg::IncomingCall>();
    ASSERT_TRUE(incoming);
    auto cancelled = alice->expect<msg::Hangup>();
    ASSERT_TRUE(cancelled);
    EXPECT_EQ(cancelled->callId, incoming->callId);
    auto aliceRinging = alice->expect<msg::Ringing>();
    ASSERT_TRUE(aliceRinging);
    auto bobLost = bob->expect<msg::Hangup>();
    ASSERT_TRUE(bobLost);
    EXPECT_EQ(bobLost->callId, bobRinging->callId);
    EXPECT_EQ(bobLost->reason, HangupReason::Busy);
    auto bobIncoming = bob->expect<msg::IncomingCall>();
    ASSERT_TRUE(bobIncoming);
    EXPECT_EQ(bobIncoming->caller, "alice");
    // The other order: alice's call is ringing, bob's crossing call is busy.
    msg::Hangup h;
    h.callId = aliceRinging->callId;
    ASSERT_TRUE(alice->send(h));
    ASSERT_TRUE(bob->expect<msg::Hangup>());
    ASSERT_TRUE(alice->send(toBob));
    ASSERT_TRUE(alice->expect<msg::Ringing>());
    ASSERT_TRUE(bob->expect<msg::IncomingCall>());
    ASSERT_TRUE(bob->send(toAlice));
    EXPECT_TRUE(bob->expect<msg::Busy>());
}

TEST_F(ARelay, EndsARingingCallAfterTheTimeout) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    msg::Call call;
    call.callee = "bob";
    ASSERT_TRUE(alice->send(call));
    ASSERT_TRUE(alice->expect<msg::Ringing>());
    ASSERT_TRUE(bob->expect<msg::IncomingCall>());
    auto a = alice->expect<msg::Hangup>(10s);
    auto b = bob->expect<msg::Hangup>(10s);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->reason, HangupReason::Timeout);
    EXPECT_EQ(b->reason, HangupReason::Timeout);
}

TEST_F(ARelay, TellsTheCallerWhenTheCalleeDeclines) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    msg::Call call;
    call.callee = "bob";
    ASSERT_TRUE(alice->send(call));
    ASSERT_TRUE(alice->expect<msg::Ringing>());
    auto incoming = bob->expect<msg::IncomingCall>();
    ASSERT_TRUE(incoming);
    msg::Reject reject;
    reject.callId = incoming->callId;
    ASSERT_TRUE(bob->send(reject));
    auto h = alice->expect<msg::Hangup>();
    ASSERT_TRUE(h);
    EXPECT_EQ(h->reason, HangupReason::Declined);
}

TEST_F(ARelay, EndsTheCallWithPeerLostWhenOneSideDisconnects) {
    auto alice = registered("alice", aliceId);
    auto bob = registered("bob", bobId);
    connectCall(*alice, *bob, "bob");
    alice.reset(); // the socket closes without a goodbye
    auto h = bob->expect<msg::Hangup>();
    ASSERT_TRUE(h);
    EXPECT_EQ(h->reason, HangupReason::PeerLost);
    // Bob is idle again and can take a new call.
    auto carol = registered("carol", carolId);
    msg::Call call;
    call.callee = "bob";
    ASSERT_TRUE(carol->send(call));
    EXPECT_TRUE(carol->expect<msg::Ringing>());
}

TEST_F(ARelay, ExitsCleanlyOnSigtermAfterTellingClients) {
    auto alice = registered("alice", aliceId);
    relay.sendSignal(SIGTERM);
    auto err = alice->expect<msg::Error>();
    ASSERT_TRUE(err);
    EXPECT_NE(err->text.find("shutting down"), std::string::npos);
    EXPECT_TRUE(alice->waitClosed());
    EXPECT_EQ(relay.terminate(), 0);
    auto n = relay.notifications();
    EXPECT_NE(std::find(n.begin(), n.end(), "STOPPING=1"), n.end());
}

TEST(ARelayWithAnAllowlist, AdmitsOnlyListedNamesWithTheirKeys) {
    auto alice = Identity::generate();
    auto bob = Identity::generate();
    ASSERT_TRUE(alice.ok() && bob.ok());
    RelayProcess relay;
    std::string hex;
    for (uint8_t b : alice->publicKey()) {
        char buf[3];
        std::snprintf(buf, sizeof buf, "%02x", b);
        hex += buf;
    }
    std::ofstream(relay.dir() + "/allow") << "alice " << hex << "\n";
    relay.rewriteConfig("allowlist = " + relay.dir() + "/allow\n");
    ASSERT_TRUE(relay.start());
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    auto m = c->registerAs("bob", *bob);
    ASSERT_TRUE(m && std::holds_alternative<msg::Refused>(*m));
    EXPECT_EQ(std::get<msg::Refused>(*m).reason, RefuseReason::NotAllowed);
    c = Client::connect(relay.port());
    m = c->registerAs("alice", *bob);
    ASSERT_TRUE(m && std::holds_alternative<msg::Refused>(*m));
    EXPECT_EQ(std::get<msg::Refused>(*m).reason, RefuseReason::NameTaken);
    c = Client::connect(relay.port());
    EXPECT_TRUE(c->registerOk("alice", *alice));
    // SIGHUP reloads the allowlist: bob is admitted once listed.
    hex.clear();
    for (uint8_t b : bob->publicKey()) {
        char buf[3];
        std::snprintf(buf, sizeof buf, "%02x", b);
        hex += buf;
    }
    std::ofstream(relay.dir() + "/allow", std::ios::app) << "bob " << hex << "\n";
    relay.sendSignal(SIGHUP);
    EXPECT_TRUE(waitUntil([&] {
        auto b = Client::connect(relay.port());
        return b && b->registerOk("bob", *bob);
    }));
}

TEST(ARelayWithAnAllowlist, RefusesToStartWhenTheAllowlistIsMissing) {
    const char* binary = std::getenv("VOICE_RELAYD");
    ASSERT_TRUE(binary);
    RelayProcess scratch; // only for its directory
    const std::string dir = scratch.dir();
    std::ofstream(dir + "/missing.conf") << "allowlist = " << dir << "/no-such-allowlist\n";
    // timeout(1): a relay that starts anyway must not hang the test (exit 124).
    const std::string cmd = "timeout 10 " + std::string(binary) + " --config " + dir +
                            "/missing.conf --listen 127.0.0.1:0 --state-dir " + dir + "/state 2>" +
                            dir + "/err";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_NE(WEXITSTATUS(status), 0);
    EXPECT_NE(WEXITSTATUS(status), 124) << "the relay started without its allowlist";
    std::ifstream err(dir + "/err");
    std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("allowlist"), std::string::npos) << text;
    EXPECT_NE(text.find("no-such-allowlist"), std::string::npos) << text;
}

TEST(ARelayWithAnAllowlist, KeepsTheOldListWhenItVanishesBeforeAReload) {
    auto alice = Identity::generate();
    ASSERT_TRUE(alice.ok());
    RelayProcess relay;
    std::string hex;
    for (uint8_t b : alice->publicKey()) {
        char buf[3];
        std::snprintf(buf, sizeof buf, "%02x", b);
        hex += buf;
    }
    std::ofstream(relay.dir() + "/allow") << "alice " << hex << "\n";
    relay.rewriteConfig("allowlist = " + relay.dir() + "/allow\n");
    ASSERT_TRUE(relay.start());
    ASSERT_EQ(::unlink((relay.dir() + "/allow").c_str()), 0);
    relay.sendSignal(SIGHUP);
    // The reload is done when the relay says READY=1 again.
    EXPECT_TRUE(waitUntil([&] {
        auto n = relay.notifications();
        return std::count(n.begin(), n.end(), "READY=1") >= 2;
    }));
    ASSERT_TRUE(relay.running());
    auto c = Client::connect(relay.port());
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->registerOk("alice", *alice));
}

TEST(ARelayCommandLine, PrintsVersionAndRejectsUnknownOptions) {
    const char* binary = std::getenv("VOICE_RELAYD");
    ASSERT_TRUE(binary);
    EXPECT_EQ(std::system((std::string(binary) + " --version >/dev/null").c_str()), 0);
    EXPECT_EQ(std::system((std::string(binary) + " --help >/dev/null").c_str()), 0);
    EXPECT_NE(std::system((std::string(binary) + " --bogus 2>/dev/null").c_str()), 0);
    EXPECT_NE(
        std::system((std::string(binary) + " --config /nonexistent/x.conf 2>/dev/null").c_str()),
        0);
}

} // namespace
} // namespace voice::test

namespace voice::test {
namespace {

TEST(ARelayUnderSystemd, FeedsTheWatchdogWhileItsLoopsTurn) {
    RelayProcess relay;
    relay.setEnv("WATCHDOG_USEC", "400000");
    ASSERT_TRUE(relay.start());
    EXPECT_TRUE(waitUntil([&] {
        auto n = relay.notifications();
        return std::count(n.begin(), n.end(), "WATCHDOG=1") >= 2;
    }));
}

TEST(ARelayUnderSystemd, ServesOnSocketsPassedBySocketActivation) {
    auto tcp = tcpListen(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(tcp.ok());
    const uint16_t port = localAddress(tcp->get())->port();
    auto udp = udpBind(SocketAddress::loopbackV4(port));
    ASSERT_TRUE(udp.ok()) << udp.status().toString();
    RelayProcess relay;
    relay.passSockets({tcp->get(), udp->get()});
    ASSERT_TRUE(relay.start());
    EXPECT_EQ(relay.port(), port);
    tcp->reset();
    udp->reset(); // the relay holds its own copies now
    auto aliceId = Identity::generate().value();
    auto bobId = Identity::generate().value();
    auto alice = Client::connect(port);
    auto bob = Client::connect(port);
    ASSERT_TRUE(alice && bob);
    ASSERT_TRUE(alice->registerOk("alice", aliceId));
    ASSERT_TRUE(bob->registerOk("bob", bobId));
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
    std::vector<uint8_t> payload(64, 2);
    ASSERT_TRUE(waitUntil([&] {
        auto p = mediaPacket(a->sessionId, 1, payload);
        alice->sendUdp(p);
        auto got = bob->receiveUdp(200ms);
        return got && *got == p;
    }));
}

} // namespace
} // namespace voice::test

namespace voice::test {
namespace {

TEST(ARelayOnIpv6, ServesIpv4ClientsOnADualStackSocket) {
    RelayProcess relay("listen = [::]:0\n");
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
    std::vector<uint8_t> payload(80, 4);
    EXPECT_TRUE(waitUntil([&] {
        auto p = mediaPacket(a->sessionId, 1, payload);
        alice->sendUdp(p);
        auto got = bob->receiveUdp(200ms);
        return got && *got == p;
    }));
}

} // namespace
} // namespace voice::test
