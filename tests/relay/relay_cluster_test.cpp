// SPDX-License-Identifier: MIT
// voice-relayd in cluster mode (issue 19): real relays sharing a real redis-server.
#include "relay_cluster_fixture.h"

namespace voice::test {
namespace {

TEST_F(ACluster, GivesEachNameToExactlyOneKeyWhenTwoRelaysAreClaimedAtOnce) {
    constexpr int kNames = 100;
    std::vector<Identity> first, second;
    for (int i = 0; i < kNames; ++i) {
        first.push_back(newIdentity());
        second.push_back(newIdentity());
    }
    // Per name: 0 no answer, 1 registered, 2 refused name-taken, 3 other.
    std::vector<int> result1(kNames), result2(kNames);
    std::vector<std::unique_ptr<Client>> keep1(kNames), keep2(kNames);
    std::atomic<int> ready{0};
    auto claimAll = [&](RelayProcess& relay, std::vector<Identity>& ids, std::vector<int>& result,
                        std::vector<std::unique_ptr<Client>>& keep) {
        ++ready;
        while (ready < 2) {
        }
        for (int i = 0; i < kNames; ++i) {
            auto c = Client::connect(relay.port());
            if (!c) {
                continue;
            }
            auto answer = c->registerAs("user" + std::to_string(i), ids[i]);
            if (!answer) {
                continue;
            }
            if (std::holds_alternative<msg::Registered>(*answer)) {
                result[i] = 1;
                keep[i] = std::move(c); // the winner stays registered
            } else if (auto* r = std::get_if<msg::Refused>(&*answer)) {
                result[i] = r->reason == RefuseReason::NameTaken ? 2 : 3;
            } else {
                result[i] = 3;
            }
        }
    };
    std::thread t1(claimAll, std::ref(relay1), std::ref(first), std::ref(result1), std::ref(keep1));
    std::thread t2(claimAll, std::ref(relay2), std::ref(second), std::ref(result2),
                   std::ref(keep2));
    t1.join();
    t2.join();
    int wins1 = 0, wins2 = 0;
    for (int i = 0; i < kNames; ++i) {
        const std::string name = "user" + std::to_string(i);
        ASSERT_TRUE((result1[i] == 1 && result2[i] == 2) || (result1[i] == 2 && result2[i] == 1))
            << name << ": relay 1 answered " << result1[i] << ", relay 2 " << result2[i];
        const Identity& winner = result1[i] == 1 ? first[i] : second[i];
        EXPECT_EQ(redis.command({"GET", "voice:name:" + name}), hexOf(winner.publicKey())) << name;
        (result1[i] == 1 ? wins1 : wins2)++;
    }
    std::printf("name claims won: relay 1 %d, relay 2 %d\n", wins1, wins2);
    // The owner registers through the other relay too; the loser's key stays out there as well.
    const bool firstWon = result1[0] == 1;
    keep1[0].reset();
    keep2[0].reset();
    auto again = Client::connect((firstWon ? relay2 : relay1).port());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->registerOk("user0", firstWon ? first[0] : second[0]));
    auto loser = Client::connect((firstWon ? relay1 : relay2).port());
    ASSERT_TRUE(loser);
    auto answer = loser->registerAs("user0", firstWon ? second[0] : first[0]);
    ASSERT_TRUE(answer && std::holds_alternative<msg::Refused>(*answer));
    EXPECT_EQ(std::get<msg::Refused>(*answer).reason, RefuseReason::NameTaken);
}

TEST_F(ACluster, KeepsAUsersLocationAliveAndDropsItWithin3sOfItsRelaysCrash) {
    Identity aliceId = newIdentity();
    auto alice = registered(relay1, "alice", aliceId);
    auto location = [&] { return redis.command({"GET", "voice:loc:alice"}); };
    ASSERT_TRUE(waitUntil([&] { return location().rfind("r1 ", 0) == 0; })) << location();
    // Longer than the 3 s TTL: only the heartbeat keeps it.
    std::this_thread::sleep_for(4s);
    EXPECT_EQ(location().rfind("r1 ", 0), 0u) << location();
    ::kill(relay1.pid(), SIGKILL);
    const auto killed = std::chrono::steady_clock::now();
    // TTL 3 s (the deadline leaves room for a loaded machine).
    ASSERT_TRUE(waitUntil([&] { return location() == "(nil)"; }, 6s)) << location();
    const auto gone = std::chrono::steady_clock::now() - killed;
    std::printf("location gone %lld ms after the relay's kill\n",
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(gone).count());
}

TEST_F(ACluster, ClosesTheOldConnectionOfAUserWhoMovedAndKeepsTheNewLocation) {
    Identity aliceId = newIdentity();
    auto onRelay1 = present(relay1, "alice", aliceId);
    auto onRelay2 = registered(relay2, "alice", aliceId);
    auto location = [&] { return redis.command({"GET", "voice:loc:alice"}); };
    ASSERT_TRUE(waitUntil([&] { return location().rfind("r2 ", 0) == 0; })) << location();
    // The newest registration wins across relays: relay 1 closes the old one.
    auto replaced = onRelay1->expect<msg::Error>();
    ASSERT_TRUE(replaced) << onRelay1->lastUnexpected();
    EXPECT_EQ(replaced->code, ErrorCode::Replaced);
    EXPECT_TRUE(onRelay1->waitClosed());
    onRelay1.reset();
    ASSERT_TRUE(waitUntil([&] { return relay1.metric("voice_relayd_clients") == 0; }));
    // Relay 1's compare-and-delete ran before its next metrics answer; a
    // heartbeat of relay 1 would not bring its old location back either.
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(location().rfind("r2 ", 0), 0u) << location();
    onRelay2.reset();
    EXPECT_TRUE(waitUntil([&] { return location() == "(nil)"; }, 5s)) << location();
}

TEST_F(ACluster, RefusesNewNamesButNotKnownOnesWhileRedisIsDown) {
    Identity aliceId = newIdentity(), bobId = newIdentity(), carolId = newIdentity();
    Identity daveId = newIdentity();
    { auto alice = registered(relay1, "alice", aliceId); }
    auto carol = present(relay1, "carol", carolId);
    auto dave = present(relay2, "dave", daveId);
    redis.kill();
    ASSERT_TRUE(waitUntil([&] { return relay1.metric("voice_relayd_cluster_redis_up") == 0; }));
    // A call to another relay's user fails fast, named unavailable (not offline).
    msg::Call toDave;
    toDave.callee = "dave";
    const auto dialled = std::chrono::steady_clock::now();
    ASSERT_TRUE(carol->send(toDave));
    auto unavailable = carol->expect<msg::Unavailable>();
    ASSERT_TRUE(unavailable) << carol->lastUnexpected();
    EXPECT_EQ(unavailable->callee, "dave");
    std::printf("unavailable answered %lld ms after the call with Redis down\n",
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - dialled)
                    .count());
    auto bob = Client::connect(relay1.port());
    ASSERT_TRUE(bob);
    auto answer = bob->registerAs("bob", bobId);
    ASSERT_TRUE(answer && std::holds_alternative<msg::Refused>(*answer));
    EXPECT_EQ(std::get<msg::Refused>(*answer).reason, RefuseReason::ServerFull);
    EXPECT_NE(std::get<msg::Refused>(*answer).text.find("unavailable"), std::string::npos);
    // alice's binding was seen by relay 1: she registers again without Redis.
    auto alice = Client::connect(relay1.port());
    ASSERT_TRUE(alice);
    EXPECT_TRUE(alice->registerOk("alice", aliceId));
    // Calls within one relay need no Redis.
    msg::Call toCarol;
    toCarol.callee = "carol";
    ASSERT_TRUE(alice->send(toCarol));
    EXPECT_TRUE(alice->expect<msg::Ringing>()) << alice->lastUnexpected();
    EXPECT_TRUE(carol->expect<msg::IncomingCall>()) << carol->lastUnexpected();
    // Redis back (empty: no append-only file here): the relay reconnects and re-asserts alice.
    ASSERT_TRUE(redis.start()) << redis.error();
    EXPECT_TRUE(waitUntil([&] {
        return redis.command({"GET", "voice:loc:alice"}).rfind("r1 ", 0) == 0;
    })) << "relay 1 did not re-assert alice's location";
}

TEST_F(ACluster, ConnectsACallBetweenRelaysPassingHandshakesAndTheHangup) {
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto alice = present(relay1, "alice", aliceId);
    auto bob = present(relay2, "bob", bobId);
    auto id = ring(*alice, *bob, "bob", aliceId, bobId);
    ASSERT_TRUE(id);
    msg::Accept accept;
    accept.callId = *id;
    ASSERT_TRUE(bob->send(accept));
    auto a = alice->expect<msg::CallStarted>();
    auto b = bob->expect<msg::CallStarted>();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->role, CallRole::Caller);
    EXPECT_EQ(b->role, CallRole::Callee);
    msg::E2eHandshake hs;
    hs.callId = *id;
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
    // Both lines are busy for a third party on either relay.
    Identity carolId = newIdentity();
    auto carol = present(relay1, "carol", carolId);
    msg::Call call;
    call.callee = "bob";
    ASSERT_TRUE(carol->send(call));
    EXPECT_TRUE(carol->expect<msg::Busy>());
    ASSERT_EQ(hangUp(*bob, *alice, *id), "");
    // Free again: alice calls bob once more, and this time hangs up herself.
    auto again = ring(*alice, *bob, "bob", aliceId, bobId);
    ASSERT_TRUE(again);
    EXPECT_EQ(hangUp(*alice, *bob, *again), "");
}

TEST_F(ACluster, RingsThroughARelayRestartedUnderTheSameId) {
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto alice = present(relay1, "alice", aliceId);
    auto bob = present(relay2, "bob", bobId);
    // relay 1 remembers relay 2's signals (request ids) from this call.
    auto first = ring(*alice, *bob, "bob", aliceId, bobId);
    ASSERT_TRUE(first);
    ASSERT_EQ(hangUp(*alice, *bob, *first), "");
    // relay 2 dies and comes back as r2: its signals must not be taken for
    // the old process's retries (they were, before request ids started at
    // a random number: the caller never heard Ringing).
    bob.reset();
    ::kill(relay2.pid(), SIGKILL);
    ::waitpid(relay2.pid(), nullptr, 0);
    ASSERT_TRUE(relay2.start()) << "relay 2 did not restart";
    ASSERT_TRUE(waitUntil([&] { return relay1.metric("voice_relayd_cluster_relays") == 2; }));
    bob = present(relay2, "bob", bobId);
    ASSERT_TRUE(waitUntil([&] {
        return redis.command({"GET", "voice:loc:bob"}).rfind("r2 ", 0) == 0;
    }));
    auto second = ring(*alice, *bob, "bob", aliceId, bobId);
    ASSERT_TRUE(second) << "no Ringing from the restarted relay";
    EXPECT_EQ(hangUp(*alice, *bob, *second), "") << "the hangup did not reach the restarted relay";
}

TEST_F(ACluster, ForwardsMediaBetweenRelaysOverTheTrunkAndDropsForgedTrunkPackets) {
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto alice = present(relay1, "alice", aliceId);
    auto bob = present(relay2, "bob", bobId);
    auto id = ring(*alice, *bob, "bob", aliceId, bobId);
    ASSERT_TRUE(id);
    msg::Accept accept;
    accept.callId = *id;
    ASSERT_TRUE(bob->send(accept));
    auto a = alice->expect<msg::CallStarted>();
    auto b = bob->expect<msg::CallStarted>();
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->sessionId, b->sessionId);
    ASSERT_TRUE(alice->sendProbe(a->sessionId));
    ASSERT_TRUE(bob->sendProbe(b->sessionId));
    ASSERT_TRUE(waitUntil([&] {
        return relay1.metric("voice_relayd_probes_total") >= 1 &&
               relay2.metric("voice_relayd_probes_total") >= 1;
    }));
    std::vector<uint8_t> payload(130);
    for (size_t i = 0; i < payload.size(); ++i) {
        payload[i] = uint8_t(i * 7);
    }
    for (uint64_t seq = 1; seq <= 20; ++seq) {
        auto pa = mediaPacket(a->sessionId, seq, payload);
        ASSERT_TRUE(alice->sendUdp(pa));
        auto got = bob->receiveUdp();
        ASSERT_TRUE(got) << "packet " << seq << " alice->bob";
        EXPECT_EQ(*got, pa);
        auto pb = mediaPacket(b->sessionId, seq, payload);
        ASSERT_TRUE(bob->sendUdp(pb));
        got = alice->receiveUdp();
        ASSERT_TRUE(got) << "packet " << seq << " bob->alice";
        EXPECT_EQ(*got, pb);
    }
    EXPECT_GE(relay1.metric("voice_relayd_trunk_packets_sent_total"), 20);
    EXPECT_GE(relay2.metric("voice_relayd_trunk_packets_received_total"), 20);
    // Forged trunk datagrams for alice's session to bob's relay: under a key
    // outside the cluster, and under the right key from an address that is
    // not relay 1's. Neither reaches bob.
    std::array<uint8_t, 32> clusterKey{};
    for (size_t i = 0; i < 32; ++i) {
        clusterKey[i] = uint8_t((i % 16) * 0x11);
    }
    const trunk::Key wrong{1};
    const trunk::Key right = trunk::deriveKey(clusterKey);
    auto forged = mediaPacket(a->sessionId, 500, payload);
    UniqueFd outsider(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(outsider);
    const double rejectedBefore = relay2.metric("voice_relayd_trunk_packets_rejected_total");
    trunk::Sender outsiderSender(12345);
    std::vector<uint8_t> underRightKey;
    for (const trunk::Key* key : {&wrong, &right}) {
        std::vector<uint8_t> datagram(forged.size() + trunk::kOverhead);
        ASSERT_EQ(trunk::seal(*key, outsiderSender, forged, datagram), datagram.size());
        if (key == &right) {
            underRightKey = datagram;
        }
        auto sent = sendTo(outsider.get(), std::as_bytes(std::span(datagram)),
                           SocketAddress::loopbackV4(relay2.port()));
        ASSERT_TRUE(sent.ok() && *sent);
    }
    ASSERT_TRUE(waitUntil([&] {
        return relay2.metric("voice_relayd_trunk_packets_rejected_total") >= rejectedBefore + 2;
    }));
    // The same datagram under the right key again: its tag still verifies,
    // and the replay window drops it before the router looks at it.
    EXPECT_EQ(relay2.metric("voice_relayd_trunk_packets_replayed_total"), 0);
    auto replayed = sendTo(outsider.get(), std::as_bytes(std::span(underRightKey)),
                           SocketAddress::loopbackV4(relay2.port()));
    ASSERT_TRUE(replayed.ok() && *replayed);
    ASSERT_TRUE(
        waitUntil([&] { return relay2.metric("voice_relayd_trunk_packets_replayed_total") == 1; }));
    EXPECT_EQ(relay2.metric("voice_relayd_trunk_senders"), 2); // relay 1 and the outsider
    EXPECT_FALSE(bob->receiveUdp(300ms));
    // The trunk still carries the real call.
    auto pa = mediaPacket(a->sessionId, 21, payload);
    ASSERT_TRUE(alice->sendUdp(pa));
    auto got = bob->receiveUdp();
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, pa);
}

TEST_F(ACluster, AnswersOfflineBusyDeclinedAndTimeoutAcrossRelays) {
    Identity aliceId = newIdentity(), bobId = newIdentity(), carolId = newIdentity();
    auto alice = present(relay1, "alice", aliceId);
    msg::Call call;
    call.callee = "nobody";
    ASSERT_TRUE(alice->send(call));
    EXPECT_TRUE(alice->expect<msg::Offline>());

    auto bob = present(relay2, "bob", bobId);
    auto carol = present(relay2, "carol", carolId);
    // bob is in a call on his own relay: busy for alice, and bob sees nothing.
    call.callee = "carol";
    ASSERT_TRUE(bob->send(call));
    ASSERT_TRUE(bob->expect<msg::Ringing>());
    ASSERT_TRUE(carol->expect<msg::IncomingCall>());
    call.callee = "bob";
    ASSERT_TRUE(alice->send(call));
    EXPECT_TRUE(alice->expect<msg::Busy>()) << alice->lastUnexpected();
    EXPECT_FALSE(bob->receive(300ms));
    auto local = carol->receive(10ms); // nothing more for carol either
    EXPECT_FALSE(local);
    // The local call times out; bob rings for alice and declines.
    ASSERT_TRUE(bob->expect<msg::Hangup>(5s));
    ASSERT_TRUE(carol->expect<msg::Hangup>(5s));
    auto id = ring(*alice, *bob, "bob", aliceId, bobId);
    ASSERT_TRUE(id);
    msg::Reject reject;
    reject.callId = *id;
    ASSERT_TRUE(bob->send(reject));
    auto declined = alice->expect<msg::Hangup>();
    ASSERT_TRUE(declined);
    EXPECT_EQ(declined->reason, HangupReason::Declined);
    // Nobody answers: both get timeout after ring_timeout.
    id = ring(*alice, *bob, "bob", aliceId, bobId);
    ASSERT_TRUE(id);
    auto t1 = alice->expect<msg::Hangup>(5s);
    auto t2 = bob->expect<msg::Hangup>(5s);
    ASSERT_TRUE(t1 && t2);
    EXPECT_EQ(t1->reason, HangupReason::Timeout);
    EXPECT_EQ(t2->reason, HangupReason::Timeout);
}

TEST_F(ACluster, ResolvesGlareAcrossRelaysForTheSmallerName) {
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto alice = present(relay1, "alice", aliceId);
    auto bob = present(relay2, "bob", bobId);
    // bob rings alice first; then alice calls bob: bob's call ends busy, hers rings.
    auto first = ring(*bob, *alice, "alice", bobId, aliceId);
    ASSERT_TRUE(first);
    msg::Call call;
    call.callee = "bob";
    ASSERT_TRUE(alice->send(call));
    // alice: Hangup{busy} for bob's call, then Ringing for hers (either order of arrival).
    auto h1 = alice->expect<msg::Hangup>();
    ASSERT_TRUE(h1) << alice->lastUnexpected();
    EXPECT_EQ(h1->reason, HangupReason::Busy);
    EXPECT_TRUE(alice->expect<msg::Ringing>()) << alice->lastUnexpected();
    auto h2 = bob->expect<msg::Hangup>();
    ASSERT_TRUE(h2) << bob->lastUnexpected();
    EXPECT_EQ(h2->reason, HangupReason::Busy);
    auto incoming = bob->expect<msg::IncomingCall>();
    ASSERT_TRUE(incoming) << bob->lastUnexpected();
    EXPECT_EQ(incoming->caller, "alice");
    // bob (the larger name) calling alice back now is busy.
    call.callee = "alice";
    ASSERT_TRUE(bob->send(call));
    EXPECT_TRUE(bob->expect<msg::Busy>()) << bob->lastUnexpected();
}

TEST_F(ACluster, ResubscribesAfterItsPubSubConnectionIsCut) {
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto alice = present(relay1, "alice", aliceId);
    auto bob = present(relay2, "bob", bobId);
    auto subscribers = [&](const char* relay) {
        std::string r = redis.command({"PUBSUB", "NUMSUB", std::string("voice:sig:") + relay});
        return r.substr(r.find('\n') + 1);
    };
    ASSERT_TRUE(waitUntil([&] { return subscribers("r1") == "1" && subscribers("r2") == "1"; }));
    const auto cut = std::chrono::steady_clock::now();
    EXPECT_EQ(redis.command({"CLIENT", "KILL", "TYPE", "pubsub"}), "2");
    ASSERT_TRUE(waitUntil([&] { return subscribers("r1") == "1" && subscribers("r2") == "1"; }))
        << "the relays did not resubscribe";
    std::printf("both relays resubscribed %lld ms after CLIENT KILL TYPE pubsub\n",
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - cut)
                    .count());
    // Calls across relays work again.
    EXPECT_TRUE(ring(*alice, *bob, "bob", aliceId, bobId));
}

// Not a pass/fail check: prints the call set-up figures of issue 19's bench
// (dial -> Ringing, dial -> CallStarted, same relay vs across relays, and
// Redis commands per call) so a run shows them.
TEST_F(ACluster, PrintsCallSetupTimesSameRelayAndAcrossRelays) {
    Identity aliceId = newIdentity(), bobId = newIdentity(), carolId = newIdentity();
    auto alice = present(relay1, "alice", aliceId);
    auto carol = present(relay1, "carol", carolId); // same relay as alice
    auto bob = present(relay2, "bob", bobId);       // the other relay
    // Redis's own count includes the commands its Lua scripts run; the
    // relays' count is what they send (round trips); PUBLISH calls are the
    // pub/sub messages.
    auto commands = [&] {
        std::string info = redis.command({"INFO", "stats"});
        auto at = info.find("total_commands_processed:");
        return at == std::string::npos ? 0L : std::atol(info.c_str() + at + 25);
    };
    auto sent = [&] {
        return relay1.metric("voice_relayd_cluster_redis_commands_total") +
               relay2.metric("voice_relayd_cluster_redis_commands_total");
    };
    auto publishes = [&] {
        std::string info = redis.command({"INFO", "commandstats"});
        auto at = info.find("cmdstat_publish:calls=");
        return at == std::string::npos ? 0L : std::atol(info.c_str() + at + 22);
    };
    constexpr int kCalls = 30;
    for (auto [callee, calleeName] :
         {std::pair{carol.get(), "carol"}, std::pair{bob.get(), "bob"}}) {
        std::vector<double> ringing, answered;
        const long before = commands();
        const double sentBefore = sent();
        const long publishedBefore = publishes();
        for (int i = 0; i < kCalls; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            msg::Call call;
            call.callee = calleeName;
            ASSERT_TRUE(alice->send(call));
            auto incoming = callee->expect<msg::IncomingCall>();
            ASSERT_TRUE(incoming);
            msg::Accept accept;
            accept.callId = incoming->callId;
            ASSERT_TRUE(callee->send(accept));
            ASSERT_TRUE(alice->expect<msg::Ringing>());
            const auto t1 = std::chrono::steady_clock::now();
            ASSERT_TRUE(alice->expect<msg::CallStarted>());
            const auto t2 = std::chrono::steady_clock::now();
            ASSERT_TRUE(callee->expect<msg::CallStarted>());
            ringing.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            answered.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
            msg::Hangup h;
            h.callId = incoming->callId;
            ASSERT_TRUE(alice->send(h));
            ASSERT_TRUE(callee->expect<msg::Hangup>());
        }
        const long used = commands() - before;
        const double sentPerCall = (sent() - sentBefore) / kCalls;
        const double publishedPerCall = double(publishes() - publishedBefore) / kCalls;
        std::sort(ringing.begin(), ringing.end());
        std::sort(answered.begin(), answered.end());
        auto pct = [](const std::vector<double>& v, double p) {
            return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
        };
        std::printf("bench %s: dial->ringing p50 %.2f ms p99 %.2f ms, dial->answered p50 %.2f ms "
                    "p99 %.2f ms (answer sent at IncomingCall); per call: redis commands sent by "
                    "the relays %.1f (of them PUBLISH %.1f), processed by redis %.1f (with the "
                    "scripts' own)\n",
                    std::string(calleeName) == "bob" ? "cross-relay" : "same-relay",
                    pct(ringing, 0.5), pct(ringing, 0.99), pct(answered, 0.5), pct(answered, 0.99),
                    sentPerCall, publishedPerCall, double(used) / kCalls);
    }
}

// Issue 19: a call in progress through a relay that is killed comes back
// at another relay of the cluster with the same session ids (no ring, no
// new end-to-end handshake): the side that lost its relay registers at a
// third relay and resumes there with its token; the other side's relay moves
// the call's trunk to it.

} // namespace
} // namespace voice::test
