// SPDX-License-Identifier: MIT
// The call state model of voiced: states, end reasons, errors and the machine that enforces them.
//
// Pure logic, no I/O and no threads of its own: the daemon's control thread
// feeds it events (from the user over D-Bus and from the relay) and acts on
// the transitions it returns. It is not thread-safe; one thread owns it.
//
//            dial            peer answered
//   idle ─────────► calling ─────────────► in-call
//    ▲  ─────────► ringing ─────────────►   │
//    │   incoming            answer         │
//    └──── hangup / reject / end(reason) ───┘   (from any non-idle state)
//
// One call at a time: an incoming call while not idle is refused as Busy and
// leaves the current call alone. Registration at the relay is a separate
// flag: losing it does not end a call (relay restarts are survived), but a
// new call cannot be dialled without it.
#pragma once

#include "core/status.h"

#include <optional>
#include <string>
#include <string_view>

namespace voice {

enum class CallState {
    Idle,    ///< no call
    Calling, ///< we called a peer and wait for it to answer
    Ringing, ///< a peer calls us and waits for the user
    InCall,  ///< both sides accepted; media flows
};
/// "idle", "calling", "ringing", "in-call" (the D-Bus State values).
std::string_view callStateName(CallState state);
bool parseCallState(std::string_view text, CallState& state);

/// Why a call or call attempt ended.
enum class EndReason {
    Hangup,      ///< one side hung up
    Declined,    ///< the called side rejected the call
    Busy,        ///< the called side was already in a call
    Offline,     ///< the called side is not registered at the relay
    Unavailable, ///< the relay cannot reach the called side's state now (cluster)
    Timeout,     ///< nobody answered in time
    PeerLost,    ///< the peer vanished (connection lost) during the call
    Untrusted,   ///< the peer presented a key other than the pinned one
    Error,       ///< anything else (a local failure)
};
/// "hangup", "declined", "busy", "offline", "unavailable", "timeout",
/// "peer-lost", "untrusted", "error" (the D-Bus CallEnded reasons).
std::string_view endReasonName(EndReason reason);
bool parseEndReason(std::string_view text, EndReason& reason);

/// Why a request was refused. Each value except None maps to one D-Bus
/// error org.voiced.Voice1.Error.<callErrorDbusName()>.
enum class CallError {
    None,
    InvalidArgument, ///< a name or fingerprint broke its documented limits
    InvalidState,    ///< the request does not apply in the current state
    NotRegistered,   ///< dialling needs a registration at the relay
    Busy,            ///< the peer (or we) already have a call
    Offline,         ///< the peer is not registered
    Declined,        ///< the peer rejected the call
    Timeout,         ///< a deadline passed
    Untrusted,       ///< the peer's key is not the pinned one
    Failed,          ///< anything else
    RateLimited,     ///< more requests than the relay's message limit allows; try again
};
/// "none", "invalid-argument", "invalid-state", "not-registered", "busy",
/// "offline", "declined", "timeout", "untrusted", "failed", "rate-limited".
std::string_view callErrorName(CallError error);
/// The last component of the D-Bus error name: "InvalidArgument", "Busy", ...
/// ("" for None).
std::string_view callErrorDbusName(CallError error);

/// The outcome of a call-control request: ok, or a CallError with a detail
/// text for people.
class [[nodiscard]] CallResult {
public:
    CallResult() = default;
    CallResult(CallError error, std::string detail) : error_(error), detail_(std::move(detail)) {}

    static CallResult success() { return {}; }
    /// Maps a libvoice Status: Busy, Timeout and InvalidArgument keep their
    /// meaning, Auth becomes Untrusted, NotFound becomes Offline, anything
    /// else Failed. The detail text is kept.
    static CallResult fromStatus(const Status& status);

    bool ok() const { return error_ == CallError::None; }
    explicit operator bool() const { return ok(); }
    CallError error() const { return error_; }
    const std::string& detail() const { return detail_; }

private:
    CallError error_ = CallError::None;
    std::string detail_;
};

/// What happened, as fed to CallStateMachine::apply().
enum class CallEventKind {
    Dial,         ///< the user calls `peer`
    Incoming,     ///< the relay rings us for a call from `peer`
    Answer,       ///< the user answers the ringing call
    Reject,       ///< the user declines the ringing call
    Hangup,       ///< the user ends the call or attempt (in ringing: declines)
    PeerAnswered, ///< the peer we called accepted
    Ended,        ///< the call ended for an outside `reason` (peer hung up, lost, ...)
};
std::string_view callEventName(CallEventKind kind);

struct CallEvent {
    CallEventKind kind;
    std::string peer;                     ///< Dial and Incoming only
    EndReason reason = EndReason::Hangup; ///< Ended only

    static CallEvent dial(std::string peer) { return {CallEventKind::Dial, std::move(peer)}; }
    static CallEvent incoming(std::string peer) {
        return {CallEventKind::Incoming, std::move(peer)};
    }
    static CallEvent of(CallEventKind kind) { return {kind, {}}; }
    static CallEvent ended(EndReason reason) { return {CallEventKind::Ended, {}, reason}; }
};

/// The result of applying one event.
struct CallTransition {
    CallResult result; ///< refused events leave the machine unchanged
    CallState from = CallState::Idle;
    CallState to = CallState::Idle;
    /// The peer of the call the event was about (empty when refused in idle).
    std::string peer;
    /// Set when this event ended a call: the reason to report (CallEnded).
    std::optional<EndReason> ended;

    bool changed() const { return from != to; }
};

class CallStateMachine {
public:
    CallState state() const { return state_; }
    /// The peer of the current call or attempt; empty when idle.
    const std::string& peer() const { return peer_; }

    bool registered() const { return registered_; }
    /// Registration at the relay came or went. Does not touch a call.
    void setRegistered(bool registered) { registered_ = registered; }

    /// Applies one event; see the diagram at the top of this file. Refusals:
    ///   Dial      InvalidArgument (bad name), InvalidState (not idle),
    ///             NotRegistered (idle but not registered)
    ///   Incoming  InvalidArgument (bad name), Busy (not idle)
    ///   Answer, Reject          InvalidState unless ringing
    ///   Hangup, Ended           InvalidState when idle
    ///   PeerAnswered            InvalidState unless calling (a stale message)
    CallTransition apply(const CallEvent& event);

private:
    CallTransition refuse(CallError error, std::string detail) const;
    CallTransition moveTo(CallState to);
    CallTransition endCall(EndReason reason);

    CallState state_ = CallState::Idle;
    std::string peer_;
    bool registered_ = false;
};

} // namespace voice
