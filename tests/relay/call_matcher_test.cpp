// SPDX-License-Identifier: MIT
// CallMatcher: relay/README.md's matching rules as pure decisions, no sockets.
#include "relay/call_matcher.h"

#include <gtest/gtest.h>

namespace voice {
namespace {

using namespace call_matcher;

CallView ringing(std::string caller, std::string callee) {
    CallView v;
    v.caller = std::move(caller);
    v.callee = std::move(callee);
    return v;
}

CallView answered(std::string caller, std::string callee) {
    CallView v = ringing(std::move(caller), std::move(callee));
    v.answered = true;
    return v;
}

CallRequest call(std::string_view from, std::string_view to, bool online = true,
                 LineState line = LineState::Idle, const CallView* own = nullptr) {
    CallRequest r;
    r.caller = from;
    r.callee = to;
    r.calleeOnline = online;
    r.calleeLine = line;
    r.callerCall = own;
    return r;
}

TEST(CallMatcher, RingsAnIdleRegisteredCallee) {
    EXPECT_EQ(onCall(call("alice", "bob")), CallDecision::Ring);
}

TEST(CallMatcher, OfflineWhenNotRegisteredOrCallingOneself) {
    EXPECT_EQ(onCall(call("alice", "bob", false)), CallDecision::Offline);
    EXPECT_EQ(onCall(call("alice", "alice")), CallDecision::Offline);
}

TEST(CallMatcher, BusyWhenTheCalleeRingsOrTalks) {
    EXPECT_EQ(onCall(call("alice", "bob", true, LineState::Ringing)), CallDecision::Busy);
    EXPECT_EQ(onCall(call("alice", "bob", true, LineState::InCall)), CallDecision::Busy);
    // Offline wins over busy: a line state of a name that is gone means nothing.
    EXPECT_EQ(onCall(call("alice", "bob", false, LineState::InCall)), CallDecision::Offline);
}

TEST(CallMatcher, ACallerInACallCannotCallAnyoneElse) {
    const CallView talking = answered("alice", "carol");
    EXPECT_EQ(onCall(call("alice", "bob", true, LineState::Idle, &talking)),
              CallDecision::AlreadyInCall);
    const CallView ringingOut = ringing("alice", "carol");
    EXPECT_EQ(onCall(call("alice", "carol", true, LineState::Ringing, &ringingOut)),
              CallDecision::AlreadyInCall); // calling the one it already rings: not glare
    const CallView rungByCarol = ringing("carol", "alice");
    EXPECT_EQ(onCall(call("alice", "bob", true, LineState::Idle, &rungByCarol)),
              CallDecision::AlreadyInCall); // rung by someone else
}

TEST(CallMatcher, GlareTheSmallerNameWinsWhicheverCameFirst) {
    // bob rings alice, then alice calls bob: alice is smaller, her call wins.
    const CallView bobRingsAlice = ringing("bob", "alice");
    EXPECT_EQ(onCall(call("alice", "bob", true, LineState::Ringing, &bobRingsAlice)),
              CallDecision::CancelRingingAndRing);
    EXPECT_EQ(glareEnd(), (End{HangupReason::Busy, HangupReason::Busy}));
    // alice rings bob, then bob calls alice: bob is larger, he gets Busy.
    const CallView aliceRingsBob = ringing("alice", "bob");
    EXPECT_EQ(onCall(call("bob", "alice", true, LineState::Ringing, &aliceRingsBob)),
              CallDecision::Busy);
}

TEST(CallMatcher, NoGlareOnceAnsweredOrWithTheCallerGone) {
    const CallView bobTalksToAlice = answered("bob", "alice");
    EXPECT_EQ(onCall(call("alice", "bob", true, LineState::InCall, &bobTalksToAlice)),
              CallDecision::AlreadyInCall);
    const CallView bobRingsAlice = ringing("bob", "alice");
    EXPECT_EQ(onCall(call("alice", "bob", false, LineState::Idle, &bobRingsAlice)),
              CallDecision::AlreadyInCall);
}

TEST(CallMatcher, OnlyTheCalleeAcceptsARingingCall) {
    const CallView r = ringing("alice", "bob");
    EXPECT_EQ(onAccept(&r, Side::Callee), AcceptDecision::Start);
    EXPECT_EQ(onAccept(&r, Side::Caller), AcceptDecision::NotCallee);
    EXPECT_EQ(onAccept(nullptr, Side::Callee), AcceptDecision::UnknownCall);
    const CallView a = answered("alice", "bob");
    EXPECT_EQ(onAccept(&a, Side::Callee), AcceptDecision::NotCallee);
    CallView gone = ringing("alice", "bob");
    gone.callerPresent = false;
    EXPECT_EQ(onAccept(&gone, Side::Callee), AcceptDecision::CallerGone);
    EXPECT_EQ(onAcceptCallerGone(), (End{std::nullopt, HangupReason::PeerLost}));
}

TEST(CallMatcher, RejectTellsOnlyTheCallerDeclined) {
    const CallView r = ringing("alice", "bob");
    EXPECT_EQ(onReject(&r, Side::Callee), (End{HangupReason::Declined, std::nullopt}));
    EXPECT_FALSE(onReject(&r, Side::Caller));
    const CallView a = answered("alice", "bob");
    EXPECT_FALSE(onReject(&a, Side::Callee));
    EXPECT_FALSE(onReject(nullptr, Side::Callee));
}

TEST(CallMatcher, HangupPassesTheReasonToThePeer) {
    const CallView a = answered("alice", "bob");
    EXPECT_EQ(onHangup(&a, Side::Caller, HangupReason::Normal),
              (End{std::nullopt, HangupReason::Normal}));
    EXPECT_EQ(onHangup(&a, Side::Callee, HangupReason::Untrusted),
              (End{HangupReason::Untrusted, std::nullopt}));
    const CallView r = ringing("alice", "bob"); // the caller gives up while it rings
    EXPECT_EQ(onHangup(&r, Side::Caller, HangupReason::Normal),
              (End{std::nullopt, HangupReason::Normal}));
    EXPECT_FALSE(onHangup(nullptr, Side::Caller, HangupReason::Normal));
}

TEST(CallMatcher, RingTimeoutEndsOnlyARingingCall) {
    EXPECT_EQ(onRingTimeout(ringing("alice", "bob")),
              (End{HangupReason::Timeout, HangupReason::Timeout}));
    EXPECT_FALSE(onRingTimeout(answered("alice", "bob")));
}

TEST(CallMatcher, APeerLostWhileRingingEndsTheCall) {
    const Lost caller = onConnectionLost(ringing("alice", "bob"), Side::Caller);
    EXPECT_FALSE(caller.waitForResume);
    EXPECT_EQ(caller.end, (End{std::nullopt, HangupReason::PeerLost}));
    const Lost callee = onConnectionLost(ringing("alice", "bob"), Side::Callee);
    EXPECT_FALSE(callee.waitForResume);
    EXPECT_EQ(callee.end, (End{HangupReason::PeerLost, std::nullopt}));
}

TEST(CallMatcher, APeerLostWhenAnsweredGetsResumeGrace) {
    EXPECT_TRUE(onConnectionLost(answered("alice", "bob"), Side::Caller).waitForResume);
    EXPECT_TRUE(onConnectionLost(answered("alice", "bob"), Side::Callee).waitForResume);
    EXPECT_EQ(onGraceExpired(), (End{HangupReason::PeerLost, HangupReason::PeerLost}));
}

TEST(CallMatcher, ResumeRules) {
    CallView away = answered("alice", "bob");
    away.callerPresent = false;
    ResumeRequest r;
    r.side = Side::Caller;
    r.known = ResumeRequest::Known::Live;
    r.call = &away;
    EXPECT_EQ(onResume(r), ResumeDecision::Resume);
    r.resumerInCall = true;
    EXPECT_EQ(onResume(r), ResumeDecision::BadStateInCall);
    r.resumerInCall = false;
    r.sideTaken = true; // that side is connected: a stolen token is useless
    EXPECT_EQ(onResume(r), ResumeDecision::BadState);
    r.sideTaken = false;
    r.nameMismatch = true;
    EXPECT_EQ(onResume(r), ResumeDecision::BadState);
    r.nameMismatch = false;
    r.sessionInUse = true;
    EXPECT_EQ(onResume(r), ResumeDecision::SessionInUse);
    r.sessionInUse = false;
    const CallView stillRinging = ringing("alice", "bob");
    r.call = &stillRinging;
    EXPECT_EQ(onResume(r), ResumeDecision::BadState);
    r.call = nullptr;
    r.known = ResumeRequest::Known::Ended;
    EXPECT_EQ(onResume(r), ResumeDecision::Ended);
    r.known = ResumeRequest::Known::Unknown; // the relay restarted
    EXPECT_EQ(onResume(r), ResumeDecision::Rebuild);
}

TEST(CallMatcher, AResumeCompletesWhenBothSidesAreBack) {
    CallView v = answered("alice", "bob");
    EXPECT_TRUE(resumeCompletes(v));
    v.calleePresent = false;
    EXPECT_FALSE(resumeCompletes(v));
}

TEST(CallMatcher, ResumesAtTheOtherSidesRelayOnlyForAnAnsweredRecordOfThatName) {
    ClusterResumeView v;
    v.redisAnswered = true;
    v.recordFound = true;
    v.answered = true;
    v.nameMatches = true;
    v.peerOnline = true;
    EXPECT_EQ(onClusterResume(v), ClusterResumeDecision::AskPeerRelay);
    v.peerHere = true;
    EXPECT_EQ(onClusterResume(v), ClusterResumeDecision::PeerHere);
    v.peerHere = false;
    v.peerOnline = false; // the other side is away too: it may come here
    EXPECT_EQ(onClusterResume(v), ClusterResumeDecision::Local);
    v.peerOnline = true;
    v.nameMatches = false;
    EXPECT_EQ(onClusterResume(v), ClusterResumeDecision::Refuse);
    v.nameMatches = true;
    v.answered = false; // still ringing: nothing to resume
    EXPECT_EQ(onClusterResume(v), ClusterResumeDecision::Refuse);
    v.answered = true;
    v.recordFound = false; // a call of one relay (not in Redis): as a single relay does
    EXPECT_EQ(onClusterResume(v), ClusterResumeDecision::Local);
    v.recordFound = true;
    v.redisAnswered = false;
    EXPECT_EQ(onClusterResume(v), ClusterResumeDecision::Local);
}

TEST(CallMatcher, MovesTheTrunkOnlyForTheFarSidesRoleAndSession) {
    MoveRequest r;
    EXPECT_EQ(onMoveRequest(r), MoveDecision::Ended);
    r.known = true;
    EXPECT_EQ(onMoveRequest(r), MoveDecision::Ended); // ringing
    r.answered = true;
    EXPECT_EQ(onMoveRequest(r), MoveDecision::Ignore);
    r.farSideMatches = true;
    EXPECT_EQ(onMoveRequest(r), MoveDecision::Ignore); // another session
    r.sessionMatches = true;
    EXPECT_EQ(onMoveRequest(r), MoveDecision::Move);
    r.farSideMatches = false; // our own side's role: never moved away by a signal
    EXPECT_EQ(onMoveRequest(r), MoveDecision::Ignore);
}

} // namespace
} // namespace voice
