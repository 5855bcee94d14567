// SPDX-License-Identifier: MIT
// Tests of the call state model: every state x event, names, and one-call-at-a-time.
#include "call_state.h"

#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <vector>

using voice::CallError;
using voice::CallEvent;
using voice::CallEventKind;
using voice::CallResult;
using voice::CallState;
using voice::CallStateMachine;
using voice::EndReason;

namespace {

constexpr CallState kStates[] = {CallState::Idle, CallState::Calling, CallState::Ringing,
                                 CallState::InCall};
constexpr EndReason kReasons[] = {EndReason::Hangup,    EndReason::Declined, EndReason::Busy,
                                  EndReason::Offline,   EndReason::Timeout,  EndReason::PeerLost,
                                  EndReason::Untrusted, EndReason::Error};

// A registered machine in `state`, with "bob" as the peer unless idle.
CallStateMachine machineIn(CallState state) {
    CallStateMachine m;
    m.setRegistered(true);
    switch (state) {
    case CallState::Idle:
        break;
    case CallState::Calling:
        EXPECT_TRUE(m.apply(CallEvent::dial("bob")).result.ok());
        break;
    case CallState::Ringing:
        EXPECT_TRUE(m.apply(CallEvent::incoming("bob")).result.ok());
        break;
    case CallState::InCall:
        EXPECT_TRUE(m.apply(CallEvent::incoming("bob")).result.ok());
        EXPECT_TRUE(m.apply(CallEvent::of(CallEventKind::Answer)).result.ok());
        break;
    }
    EXPECT_EQ(m.state(), state);
    return m;
}

struct Row {
    CallState from;
    CallEvent event;
    CallError error;                // None: accepted
    CallState to;                   // state afterwards
    std::optional<EndReason> ended; // set when the event ended the call
};

std::vector<Row> table() {
    using S = CallState;
    using E = CallError;
    const CallEvent dial = CallEvent::dial("carol");
    const CallEvent incoming = CallEvent::incoming("carol");
    const CallEvent answer = CallEvent::of(CallEventKind::Answer);
    const CallEvent reject = CallEvent::of(CallEventKind::Reject);
    const CallEvent hangup = CallEvent::of(CallEventKind::Hangup);
    const CallEvent answered = CallEvent::of(CallEventKind::PeerAnswered);
    std::vector<Row> rows = {
        // idle
        {S::Idle, dial, E::None, S::Calling, std::nullopt},
        {S::Idle, incoming, E::None, S::Ringing, std::nullopt},
        {S::Idle, answer, E::InvalidState, S::Idle, std::nullopt},
        {S::Idle, reject, E::InvalidState, S::Idle, std::nullopt},
        {S::Idle, hangup, E::InvalidState, S::Idle, std::nullopt},
        {S::Idle, answered, E::InvalidState, S::Idle, std::nullopt},
        // calling
        {S::Calling, dial, E::InvalidState, S::Calling, std::nullopt},
        {S::Calling, incoming, E::Busy, S::Calling, std::nullopt},
        {S::Calling, answer, E::InvalidState, S::Calling, std::nullopt},
        {S::Calling, reject, E::InvalidState, S::Calling, std::nullopt},
        {S::Calling, hangup, E::None, S::Idle, EndReason::Hangup},
        {S::Calling, answered, E::None, S::InCall, std::nullopt},
        // ringing
        {S::Ringing, dial, E::InvalidState, S::Ringing, std::nullopt},
        {S::Ringing, incoming, E::Busy, S::Ringing, std::nullopt},
        {S::Ringing, answer, E::None, S::InCall, std::nullopt},
        {S::Ringing, reject, E::None, S::Idle, EndReason::Declined},
        {S::Ringing, hangup, E::None, S::Idle, EndReason::Declined},
        {S::Ringing, answered, E::InvalidState, S::Ringing, std::nullopt},
        // in-call
        {S::InCall, dial, E::InvalidState, S::InCall, std::nullopt},
        {S::InCall, incoming, E::Busy, S::InCall, std::nullopt},
        {S::InCall, answer, E::InvalidState, S::InCall, std::nullopt},
        {S::InCall, reject, E::InvalidState, S::InCall, std::nullopt},
        {S::InCall, hangup, E::None, S::Idle, EndReason::Hangup},
        {S::InCall, answered, E::InvalidState, S::InCall, std::nullopt},
    };
    // Ended(reason): any non-idle state goes idle with that reason.
    for (CallState s : kStates) {
        for (EndReason r : kReasons) {
            if (s == S::Idle) {
                rows.push_back({s, CallEvent::ended(r), E::InvalidState, S::Idle, std::nullopt});
            } else {
                rows.push_back({s, CallEvent::ended(r), E::None, S::Idle, r});
            }
        }
    }
    return rows;
}

} // namespace

TEST(ACallStateMachine, FollowsTheTableForEveryStateAndEvent) {
    const auto rows = table();
    // 4 states x 6 user/relay events + 4 states x 8 end reasons.
    ASSERT_EQ(rows.size(), 4u * 6u + 4u * 8u);
    for (const Row& row : rows) {
        SCOPED_TRACE(std::string(voice::callStateName(row.from)) + " + " +
                     std::string(voice::callEventName(row.event.kind)));
        CallStateMachine m = machineIn(row.from);
        const std::string peerBefore = m.peer();
        const auto t = m.apply(row.event);
        EXPECT_EQ(t.result.error(), row.error) << t.result.detail();
        EXPECT_EQ(t.from, row.from);
        EXPECT_EQ(t.to, row.to);
        EXPECT_EQ(m.state(), row.to);
        EXPECT_EQ(t.ended, row.ended);
        if (!t.result.ok()) {
            EXPECT_FALSE(t.result.detail().empty());
            EXPECT_EQ(m.peer(), peerBefore) << "a refused event must not touch the call";
        }
        if (row.to == CallState::Idle) {
            EXPECT_TRUE(m.peer().empty());
        } else if (row.from == CallState::Idle && t.result.ok()) {
            EXPECT_EQ(m.peer(), "carol");
        } else {
            EXPECT_EQ(m.peer(), "bob");
        }
        if (t.ended) {
            EXPECT_EQ(t.peer, "bob") << "the ended call's peer is reported";
        }
    }
}

TEST(ACallStateMachine, RefusesToDialWhenNotRegistered) {
    CallStateMachine m;
    const auto t = m.apply(CallEvent::dial("bob"));
    EXPECT_EQ(t.result.error(), CallError::NotRegistered);
    EXPECT_EQ(m.state(), CallState::Idle);
}

TEST(ACallStateMachine, AcceptsAnIncomingCallWhileRegistrationIsDown) {
    CallStateMachine m;
    EXPECT_TRUE(m.apply(CallEvent::incoming("bob")).result.ok());
    EXPECT_EQ(m.state(), CallState::Ringing);
}

TEST(ACallStateMachine, KeepsTheCallWhenRegistrationIsLost) {
    CallStateMachine m = machineIn(CallState::InCall);
    m.setRegistered(false);
    EXPECT_EQ(m.state(), CallState::InCall);
    EXPECT_EQ(m.peer(), "bob");
}

TEST(ACallStateMachine, RefusesInvalidPeerNamesWithoutChangingState) {
    for (const char* bad :
         {"", "Bob", "bob smith", "a/b", "bob\n", "0123456789012345678901234567890123"}) {
        CallStateMachine m;
        m.setRegistered(true);
        EXPECT_EQ(m.apply(CallEvent::dial(bad)).result.error(), CallError::InvalidArgument) << bad;
        EXPECT_EQ(m.apply(CallEvent::incoming(bad)).result.error(), CallError::InvalidArgument)
            << bad;
        EXPECT_EQ(m.state(), CallState::Idle);
    }
}

TEST(ACallStateMachine, RefusesASecondIncomingCallAsBusyAndKeepsTheFirst) {
    CallStateMachine m = machineIn(CallState::InCall);
    const auto t = m.apply(CallEvent::incoming("mallory"));
    EXPECT_EQ(t.result.error(), CallError::Busy);
    EXPECT_FALSE(t.ended.has_value());
    EXPECT_EQ(m.peer(), "bob");
}

TEST(ACallStateMachine, CanCallAgainAfterACallEnded) {
    CallStateMachine m = machineIn(CallState::InCall);
    ASSERT_TRUE(m.apply(CallEvent::of(CallEventKind::Hangup)).result.ok());
    ASSERT_TRUE(m.apply(CallEvent::dial("carol")).result.ok());
    EXPECT_EQ(m.peer(), "carol");
    EXPECT_EQ(m.state(), CallState::Calling);
}

TEST(CallStateNames, RoundTripAndMatchTheDbusValues) {
    const char* expected[] = {"idle", "calling", "ringing", "in-call"};
    int i = 0;
    for (CallState s : kStates) {
        EXPECT_EQ(voice::callStateName(s), expected[i++]);
        CallState parsed{};
        ASSERT_TRUE(voice::parseCallState(voice::callStateName(s), parsed));
        EXPECT_EQ(parsed, s);
    }
    CallState ignored{};
    EXPECT_FALSE(voice::parseCallState("registering", ignored));
}

TEST(EndReasonNames, RoundTripAndMatchTheDbusValues) {
    const char* expected[] = {"hangup",  "declined",  "busy",      "offline",
                              "timeout", "peer-lost", "untrusted", "error"};
    int i = 0;
    for (EndReason r : kReasons) {
        EXPECT_EQ(voice::endReasonName(r), expected[i++]);
        EndReason parsed{};
        ASSERT_TRUE(voice::parseEndReason(voice::endReasonName(r), parsed));
        EXPECT_EQ(parsed, r);
    }
    EndReason ignored{};
    EXPECT_FALSE(voice::parseEndReason("Hangup", ignored));
}

TEST(ACallResult, MapsLibvoiceStatusCodesToCallErrors) {
    using voice::Errc;
    using voice::Status;
    EXPECT_TRUE(CallResult::fromStatus(Status()).ok());
    EXPECT_EQ(CallResult::fromStatus(Status(Errc::Busy, "x")).error(), CallError::Busy);
    EXPECT_EQ(CallResult::fromStatus(Status(Errc::Timeout, "x")).error(), CallError::Timeout);
    EXPECT_EQ(CallResult::fromStatus(Status(Errc::Auth, "x")).error(), CallError::Untrusted);
    EXPECT_EQ(CallResult::fromStatus(Status(Errc::NotFound, "x")).error(), CallError::Offline);
    EXPECT_EQ(CallResult::fromStatus(Status(Errc::InvalidArgument, "x")).error(),
              CallError::InvalidArgument);
    const auto io = CallResult::fromStatus(Status(Errc::Io, "socket: refused"));
    EXPECT_EQ(io.error(), CallError::Failed);
    EXPECT_NE(io.detail().find("socket: refused"), std::string::npos);
}

TEST(CallErrorNames, GiveEveryErrorADbusName) {
    for (CallError e :
         {CallError::InvalidArgument, CallError::InvalidState, CallError::NotRegistered,
          CallError::Busy, CallError::Offline, CallError::Declined, CallError::Timeout,
          CallError::Untrusted, CallError::Failed}) {
        EXPECT_FALSE(voice::callErrorDbusName(e).empty());
        EXPECT_NE(voice::callErrorName(e), "none");
    }
    EXPECT_TRUE(voice::callErrorDbusName(CallError::None).empty());
}
