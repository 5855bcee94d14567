// SPDX-License-Identifier: MIT
// voice-relayd in cluster mode (issue 19): a call resumed at another relay of
// the cluster when its relay dies (real relays, a real redis-server).
#include "relay_cluster_fixture.h"

namespace voice::test {
namespace {

TEST_F(ACluster, ResumesACallAtAThirdRelayWhenTheCalleesRelayIsKilled) {
    RelayProcess relay3{config("r3")};
    ASSERT_TRUE(joinThird(relay3));
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto call = answeredCall(relay1, relay2, aliceId, bobId);
    ASSERT_TRUE(call);
    kill9(relay2);
    const auto killed = std::chrono::steady_clock::now();
    call->bob.reset();
    auto bob = resumeAt(relay3, "bob", bobId, call->id, call->bobToken);
    ASSERT_TRUE(bob);
    auto fresh = bob->expectResumeToken();
    ASSERT_TRUE(fresh) << "no ResumeToken at relay 3: " << bob->lastUnexpected();
    EXPECT_NE(fresh->routeKey, call->bobToken.routeKey); // a new route key with every token
    ASSERT_TRUE(bob->sendProbe(call->bobSession));
    ASSERT_TRUE(mediaFlows(*call->alice, call->aliceSession, *bob, call->bobSession))
        << "no media between alice at relay 1 and bob at relay 3";
    std::printf("media back %lld ms after the callee's relay was killed\n",
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - killed)
                    .count());
    EXPECT_GE(relay3.metric("voice_relayd_trunk_packets_received_total"), 1);
    EXPECT_EQ(relay3.metric("voice_relayd_resumes_total"), 1);
    // Nobody was told anything: no ring, no hangup.
    EXPECT_FALSE(call->alice->receive(300ms));
    // Still one call for the cluster: bob is busy for carol, and the hangup
    // travels the new way and clears the record.
    Identity carolId = newIdentity();
    auto carol = present(relay3, "carol", carolId);
    msg::Call toBob;
    toBob.callee = "bob";
    ASSERT_TRUE(carol->send(toBob));
    EXPECT_TRUE(carol->expect<msg::Busy>());
    EXPECT_EQ(hangUp(*bob, *call->alice, call->id), "");
    EXPECT_TRUE(recordGone(call->id));
}

TEST_F(ACluster, ResumesACallAtAThirdRelayWhenTheCallersRelayIsKilled) {
    RelayProcess relay3{config("r3")};
    ASSERT_TRUE(joinThird(relay3));
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto call = answeredCall(relay1, relay2, aliceId, bobId);
    ASSERT_TRUE(call);
    kill9(relay1);
    call->alice.reset();
    // A token of the other side (bob's) is not alice's to use.
    auto alice = resumeAt(relay3, "alice", aliceId, call->id, call->bobToken);
    ASSERT_TRUE(alice);
    auto refused = alice->expect<msg::Error>();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->code, ErrorCode::UnknownCall);
    msg::Resume resume;
    resume.callId = call->id;
    resume.token = call->aliceToken.token;
    ASSERT_TRUE(alice->send(resume));
    // Sent again at once (a client retrying): handled once.
    ASSERT_TRUE(alice->send(resume));
    ASSERT_TRUE(alice->expectResumeToken()) << alice->lastUnexpected();
    ASSERT_TRUE(alice->sendProbe(call->aliceSession));
    ASSERT_TRUE(mediaFlows(*alice, call->aliceSession, *call->bob, call->bobSession))
        << "no media between alice at relay 3 and bob at relay 2";
    auto second = alice->expect<msg::Error>();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->code, ErrorCode::BadState);
    EXPECT_FALSE(call->bob->receive(300ms));
    EXPECT_EQ(hangUp(*call->bob, *alice, call->id), "");
}

TEST_F(ACluster, MakesTheCallLocalWhenTheCalleeResumesAtTheCallersRelay) {
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto call = answeredCall(relay1, relay2, aliceId, bobId);
    ASSERT_TRUE(call);
    kill9(relay2);
    call->bob.reset();
    auto bob = resumeAt(relay1, "bob", bobId, call->id, call->bobToken);
    ASSERT_TRUE(bob);
    ASSERT_TRUE(bob->expectResumeToken()) << bob->lastUnexpected();
    ASSERT_TRUE(bob->sendProbe(call->bobSession));
    // alice's address is learnt again (her media asks her to probe; a test
    // client probes when told to, voiced every 250 ms anyway).
    ASSERT_TRUE(call->alice->sendProbe(call->aliceSession));
    ASSERT_TRUE(mediaFlows(*call->alice, call->aliceSession, *bob, call->bobSession))
        << "no media between alice and bob, both at relay 1";
    EXPECT_FALSE(call->alice->receive(300ms));
    EXPECT_EQ(hangUp(*call->alice, *bob, call->id), "");
    EXPECT_TRUE(recordGone(call->id));
}

TEST_F(ACluster, EndsACallWithPeerLostWhenTheFarSidesRelayDiesAndNobodyResumes) {
    // alice's relay waits resume_grace (2 s here) once relay 2 stopped
    // heartbeating (3 s), then ends her call: not at once, and not never.
    RelayProcess relay3{config("r3") + "resume_grace = 2s\n"};
    ASSERT_TRUE(relay3.start());
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto call = answeredCall(relay3, relay2, aliceId, bobId);
    ASSERT_TRUE(call);
    kill9(relay2);
    const auto killed = std::chrono::steady_clock::now();
    auto ended = call->alice->expect<msg::Hangup>(12s);
    ASSERT_TRUE(ended) << call->alice->lastUnexpected();
    EXPECT_EQ(ended->reason, HangupReason::PeerLost);
    const auto after = std::chrono::steady_clock::now() - killed;
    EXPECT_GE(after, 2s);
    std::printf("call ended %lld ms after the far side's relay was killed\n",
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(after).count());
    EXPECT_TRUE(recordGone(call->id));
}

TEST_F(ACluster, RefusesAResumeTokenAtARelayOfAnotherClusterKey) {
    Identity aliceId = newIdentity(), bobId = newIdentity();
    auto call = answeredCall(relay1, relay2, aliceId, bobId);
    ASSERT_TRUE(call);
    // Same Redis and names, another cluster key: its resume key differs too.
    const std::string otherKey = redis.dir() + "/other.key";
    std::ofstream(otherKey) << std::string(64, 'a') << "\n";
    ::chmod(otherKey.c_str(), 0600);
    std::string cfg = config("r9");
    cfg.replace(cfg.find(redis.dir() + "/cluster.key"), (redis.dir() + "/cluster.key").size(),
                otherKey);
    RelayProcess outsider{cfg};
    ASSERT_TRUE(outsider.start());
    call->bob.reset();
    auto bob = resumeAt(outsider, "bob", bobId, call->id, call->bobToken);
    ASSERT_TRUE(bob);
    auto refused = bob->expect<msg::Error>();
    ASSERT_TRUE(refused) << bob->lastUnexpected();
    EXPECT_EQ(refused->code, ErrorCode::UnknownCall);
    EXPECT_FALSE(bob->expectResumeToken(300ms));
}

} // namespace
} // namespace voice::test
