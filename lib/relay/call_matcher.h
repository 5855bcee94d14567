// SPDX-License-Identifier: MIT
// CallMatcher: the relay's call-matching rules as pure decisions (STYLE.md 23).
#pragma once

#include "relay/registry.h"
#include "wire/messages.h"

#include <optional>
#include <string>
#include <string_view>

namespace voice {

/// Takes one event plus what the registry and the call table say, returns
/// what to do. No sockets, timers or registry writes: RelayServer (and a
/// cluster's call-signal transport later) carries the inputs and executes
/// the decisions, so single-relay and cluster modes share these rules.
/// The rules are relay/README.md "Protocol flow", 5, 6, 9 and 10.
namespace call_matcher {

enum class Side { Caller, Callee };

/// A call as the rules see it.
struct CallView {
    std::string caller; // names
    std::string callee;
    bool answered = false;
    bool callerPresent = true; // connected (an answered call may wait for a side to resume)
    bool calleePresent = true;
};

/// Ends a call: the Hangup reason each side gets (nullopt: that side is told nothing).
struct End {
    std::optional<HangupReason> toCaller;
    std::optional<HangupReason> toCallee;
    bool operator==(const End&) const = default;
};

// --- Call{callee} -----------------------------------------------------------

struct CallRequest {
    std::string_view caller;
    std::string_view callee;
    bool calleeOnline = false; // registered (on this relay or, later, the cluster)
    LineState calleeLine = LineState::Idle;
    const CallView* callerCall = nullptr; // the caller's own call (ringing or answered), if any
};

enum class CallDecision {
    Ring,          // Ringing to the caller, IncomingCall to the callee, ring timer
    Busy,          // Busy to the caller; the callee sees nothing
    Offline,       // Offline to the caller (not registered, or calling oneself)
    AlreadyInCall, // Error{bad-state} to the caller
    /// Glare won by the caller (the smaller name): the call ringing the caller
    /// ends with Hangup{busy} to both (glareEnd()), then the new call rings.
    CancelRingingAndRing,
};

CallDecision onCall(const CallRequest& request);
/// How the ringing call loses to a glare (CancelRingingAndRing).
inline End glareEnd() {
    return {HangupReason::Busy, HangupReason::Busy};
}

// --- Accept, Reject, Hangup ------------------------------------------------

enum class AcceptDecision {
    UnknownCall, // no such call: Error{unknown-call}
    NotCallee,   // answered already, or not the callee: Error{bad-state}
    CallerGone,  // the caller's connection is gone: end with onAcceptCallerGone()
    Start,       // CallStarted to both, sessions, resume tokens
};
/// `call`: the accepting side's call with the id it names (nullptr: none).
AcceptDecision onAccept(const CallView* call, Side from);
inline End onAcceptCallerGone() {
    return {std::nullopt, HangupReason::PeerLost};
}

/// Reject: only the callee of a ringing call (nullopt: Error{unknown-call}).
std::optional<End> onReject(const CallView* call, Side from);
/// Hangup{reason}: the peer gets the reason (nullopt: no such call, Error{unknown-call}).
std::optional<End> onHangup(const CallView* call, Side from, HangupReason reason);

// --- Timers and lost connections ---------------------------------------------

/// ring_timeout fired: a call still ringing ends with Hangup{timeout} to both.
std::optional<End> onRingTimeout(const CallView& call);

/// A side's connection closed, reset or went idle.
struct Lost {
    /// The call survives: the side is detached and resume_grace starts.
    bool waitForResume = false;
    /// Otherwise (a ringing call) it ends like this.
    End end;
};
Lost onConnectionLost(const CallView& call, Side side);
/// resume_grace ran out with a side still away.
inline End onGraceExpired() {
    return {HangupReason::PeerLost, HangupReason::PeerLost};
}

// --- Resume{id, token} (after the token verified) ---------------------------

struct ResumeRequest {
    Side side;                  // the token's role
    bool resumerInCall = false; // the resuming connection has a call already
    enum class Known { Live, Ended, Unknown } known = Known::Unknown;
    const CallView* call = nullptr; // the live call (known == Live)
    bool sideTaken = false;         // that side is connected already
    bool sessionMismatch = false;   // the call knows another session id for that side
    bool nameMismatch = false;      // the call knows another name for that side
    bool sessionInUse = false;      // a call rebuilt after a restart: the id is taken
};

enum class ResumeDecision {
    BadStateInCall, // Error{bad-state, "already in a call"}
    Ended,          // Hangup{the reason it ended}
    Rebuild,        // unknown call (the relay restarted): rebuild it, then ask again
    BadState,       // Error{bad-state}: not this connection's to resume
    SessionInUse,   // Error{bad-state, "session id in use"}
    Resume,         // back in the call; fresh ResumeToken
};
ResumeDecision onResume(const ResumeRequest& request);
/// After a Resume: true when both sides are connected again (the grace
/// timer stops), false while the other side is still away (grace runs).
bool resumeCompletes(const CallView& call);

// --- Resume across relays (cluster mode, issue 19) --------------------------

/// A verified Resume for a call this relay does not know, with what the
/// cluster's call record (Redis) says of it.
struct ClusterResumeView {
    bool redisAnswered = false; // Redis answered the lookup
    bool recordFound = false;   // voice:call:ID exists
    bool answered = false;      // its state is answered
    bool nameMatches = false;   // it names the resumer on the token's side
    bool peerOnline = false;    // the other side has a location
    bool peerHere = false;      // ... and it is this relay
};

enum class ClusterResumeDecision {
    /// No record (a call between two users of one relay, which restarted or
    /// died: both resume here), the other side is away too, or Redis is
    /// down: rebuild the call here as a single relay does (onResume).
    Local,
    /// Ringing still, or the record names someone else on that side:
    /// Error{unknown-call}.
    Refuse,
    /// The other side is at another relay: ask it (Resume signal) to move the
    /// call's trunk here; the side is back once it answers (Resumed).
    AskPeerRelay,
    /// The other side is at this relay (its call still points at the dead
    /// one): the two halves become one local call (onMoveRequest decides as
    /// for a Resume signal).
    PeerHere,
};
ClusterResumeDecision onClusterResume(const ClusterResumeView& view);

/// A Resume signal at the other side's relay: `resumer` resumed call `id`
/// at the sending relay.
struct MoveRequest {
    bool known = false;          // a live call with that id whose far side is on another relay
    bool answered = false;       // answered (a ringing call is not resumed)
    bool farSideMatches = false; // the resumer's role is the far side's
    bool sessionMatches = false; // and its session id is the far side's
};

enum class MoveDecision {
    /// Not a live cross-relay call here (ended, or never): Hangup{peer-lost}
    /// back, so the resumer is told at once.
    Ended,
    /// Not the far side's (wrong role or session): ignored (the resumer's
    /// relay gives up after its timeout).
    Ignore,
    /// Move the far side's trunk route to the sender and answer Resumed
    /// (again, for a repeated signal: idempotent).
    Move,
};
MoveDecision onMoveRequest(const MoveRequest& request);

} // namespace call_matcher
} // namespace voice
