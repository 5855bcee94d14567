// SPDX-License-Identifier: MIT
// The call state model of voiced.
#include "call_state.h"

#include "peer_names.h"

#include <array>
#include <utility>

namespace voice {

namespace {

constexpr std::array<std::pair<CallState, std::string_view>, 4> kStateNames{{
    {CallState::Idle, "idle"},
    {CallState::Calling, "calling"},
    {CallState::Ringing, "ringing"},
    {CallState::InCall, "in-call"},
}};

constexpr std::array<std::pair<EndReason, std::string_view>, 9> kReasonNames{{
    {EndReason::Hangup, "hangup"},
    {EndReason::Declined, "declined"},
    {EndReason::Busy, "busy"},
    {EndReason::Offline, "offline"},
    {EndReason::Unavailable, "unavailable"},
    {EndReason::Timeout, "timeout"},
    {EndReason::PeerLost, "peer-lost"},
    {EndReason::Untrusted, "untrusted"},
    {EndReason::Error, "error"},
}};

} // namespace

std::string_view callStateName(CallState state) {
    for (const auto& [s, name] : kStateNames) {
        if (s == state) {
            return name;
        }
    }
    return "unknown";
}

bool parseCallState(std::string_view text, CallState& state) {
    for (const auto& [s, name] : kStateNames) {
        if (name == text) {
            state = s;
            return true;
        }
    }
    return false;
}

std::string_view endReasonName(EndReason reason) {
    for (const auto& [r, name] : kReasonNames) {
        if (r == reason) {
            return name;
        }
    }
    return "error";
}

bool parseEndReason(std::string_view text, EndReason& reason) {
    for (const auto& [r, name] : kReasonNames) {
        if (name == text) {
            reason = r;
            return true;
        }
    }
    return false;
}

std::string_view callErrorName(CallError error) {
    switch (error) {
    case CallError::None:
        return "none";
    case CallError::InvalidArgument:
        return "invalid-argument";
    case CallError::InvalidState:
        return "invalid-state";
    case CallError::NotRegistered:
        return "not-registered";
    case CallError::Busy:
        return "busy";
    case CallError::Offline:
        return "offline";
    case CallError::Declined:
        return "declined";
    case CallError::Timeout:
        return "timeout";
    case CallError::Untrusted:
        return "untrusted";
    case CallError::Failed:
        return "failed";
    case CallError::RateLimited:
        return "rate-limited";
    }
    return "failed";
}

std::string_view callErrorDbusName(CallError error) {
    switch (error) {
    case CallError::None:
        return "";
    case CallError::InvalidArgument:
        return "InvalidArgument";
    case CallError::InvalidState:
        return "InvalidState";
    case CallError::NotRegistered:
        return "NotRegistered";
    case CallError::Busy:
        return "Busy";
    case CallError::Offline:
        return "Offline";
    case CallError::Declined:
        return "Declined";
    case CallError::Timeout:
        return "Timeout";
    case CallError::Untrusted:
        return "Untrusted";
    case CallError::Failed:
        return "Failed";
    case CallError::RateLimited:
        return "RateLimited";
    }
    return "Failed";
}

CallResult CallResult::fromStatus(const Status& status) {
    switch (status.code()) {
    case Errc::Ok:
        return {};
    case Errc::InvalidArgument:
        return {CallError::InvalidArgument, status.detail()};
    case Errc::Busy:
        return {CallError::Busy, status.detail()};
    case Errc::Timeout:
        return {CallError::Timeout, status.detail()};
    case Errc::Auth:
        return {CallError::Untrusted, status.detail()};
    case Errc::NotFound:
        return {CallError::Offline, status.detail()};
    default:
        return {CallError::Failed, status.toString()};
    }
}

std::string_view callEventName(CallEventKind kind) {
    switch (kind) {
    case CallEventKind::Dial:
        return "dial";
    case CallEventKind::Incoming:
        return "incoming";
    case CallEventKind::Answer:
        return "answer";
    case CallEventKind::Reject:
        return "reject";
    case CallEventKind::Hangup:
        return "hangup";
    case CallEventKind::PeerAnswered:
        return "peer-answered";
    case CallEventKind::Ended:
        return "ended";
    }
    return "unknown";
}

CallTransition CallStateMachine::refuse(CallError error, std::string detail) const {
    CallTransition t;
    t.result = CallResult(error, std::move(detail));
    t.from = state_;
    t.to = state_;
    t.peer = peer_;
    return t;
}

CallTransition CallStateMachine::moveTo(CallState to) {
    CallTransition t;
    t.from = state_;
    t.to = to;
    state_ = to;
    t.peer = peer_;
    return t;
}

CallTransition CallStateMachine::endCall(EndReason reason) {
    CallTransition t = moveTo(CallState::Idle);
    t.ended = reason;
    peer_.clear();
    return t;
}

CallTransition CallStateMachine::apply(const CallEvent& event) {
    const std::string busyWith =
        state_ == CallState::Idle
            ? std::string()
            : std::string(" (") + std::string(callStateName(state_)) + " with " + peer_ + ")";
    switch (event.kind) {
    case CallEventKind::Dial:
        if (!isValidPeerName(event.peer)) {
            return refuse(CallError::InvalidArgument,
                          "invalid peer name " + quoteForMessage(event.peer));
        }
        if (state_ != CallState::Idle) {
            return refuse(CallError::InvalidState, "already in a call" + busyWith);
        }
        if (!registered_) {
            return refuse(CallError::NotRegistered, "not registered at a relay");
        }
        peer_ = event.peer;
        return moveTo(CallState::Calling);

    case CallEventKind::Incoming:
        if (!isValidPeerName(event.peer)) {
            return refuse(CallError::InvalidArgument,
                          "invalid peer name " + quoteForMessage(event.peer));
        }
        if (state_ != CallState::Idle) {
            return refuse(CallError::Busy, "busy" + busyWith);
        }
        peer_ = event.peer;
        return moveTo(CallState::Ringing);

    case CallEventKind::Answer:
        if (state_ != CallState::Ringing) {
            return refuse(CallError::InvalidState,
                          "no call to answer (" + std::string(callStateName(state_)) + ")");
        }
        return moveTo(CallState::InCall);

    case CallEventKind::Reject:
        if (state_ != CallState::Ringing) {
            return refuse(CallError::InvalidState,
                          "no call to reject (" + std::string(callStateName(state_)) + ")");
        }
        return endCall(EndReason::Declined);

    case CallEventKind::Hangup:
        if (state_ == CallState::Idle) {
            return refuse(CallError::InvalidState, "no call to hang up");
        }
        // Hanging up a ringing call is declining it: the caller hears "declined".
        return endCall(state_ == CallState::Ringing ? EndReason::Declined : EndReason::Hangup);

    case CallEventKind::PeerAnswered:
        if (state_ != CallState::Calling) {
            return refuse(CallError::InvalidState,
                          "an answer arrived while " + std::string(callStateName(state_)));
        }
        return moveTo(CallState::InCall);

    case CallEventKind::Ended:
        if (state_ == CallState::Idle) {
            return refuse(CallError::InvalidState, "no call to end");
        }
        return endCall(event.reason);
    }
    return refuse(CallError::Failed, "unknown event");
}

} // namespace voice
