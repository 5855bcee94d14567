// SPDX-License-Identifier: MIT
// CallMatcher: call matching as pure decisions.
#include "relay/call_matcher.h"

namespace voice::call_matcher {

CallDecision onCall(const CallRequest& r) {
    if (r.callerCall) {
        // Glare: the caller is being rung by the very client it now calls.
        // Either way round, the second Call comes from the callee of the
        // first. The call from the lexicographically smaller name wins,
        // whichever reached the relay first; the loser is answered Busy.
        const CallView& mine = *r.callerCall;
        const bool glare = r.calleeOnline && !mine.answered && mine.callee == r.caller &&
                           mine.caller == r.callee && r.callee != r.caller;
        if (!glare) {
            return CallDecision::AlreadyInCall;
        }
        return r.caller < r.callee ? CallDecision::CancelRingingAndRing : CallDecision::Busy;
    }
    if (!r.calleeOnline || r.callee == r.caller) {
        return CallDecision::Offline;
    }
    if (r.calleeLine != LineState::Idle) {
        return CallDecision::Busy; // ringing or in a call: the callee hears nothing
    }
    return CallDecision::Ring;
}

AcceptDecision onAccept(const CallView* call, Side from) {
    if (!call) {
        return AcceptDecision::UnknownCall;
    }
    if (call->answered || from != Side::Callee) {
        return AcceptDecision::NotCallee;
    }
    if (!call->callerPresent) {
        return AcceptDecision::CallerGone;
    }
    return AcceptDecision::Start;
}

std::optional<End> onReject(const CallView* call, Side from) {
    if (!call || call->answered || from != Side::Callee) {
        return std::nullopt;
    }
    return End{HangupReason::Declined, std::nullopt};
}

std::optional<End> onHangup(const CallView* call, Side from, HangupReason reason) {
    if (!call) {
        return std::nullopt;
    }
    if (from == Side::Caller) {
        return End{std::nullopt, reason};
    }
    return End{reason, std::nullopt};
}

std::optional<End> onRingTimeout(const CallView& call) {
    if (call.answered) {
        return std::nullopt;
    }
    return End{HangupReason::Timeout, HangupReason::Timeout};
}

Lost onConnectionLost(const CallView& call, Side side) {
    if (call.answered) {
        return {true, {}};
    }
    if (side == Side::Caller) {
        return {false, {std::nullopt, HangupReason::PeerLost}};
    }
    return {false, {HangupReason::PeerLost, std::nullopt}};
}

ResumeDecision onResume(const ResumeRequest& r) {
    if (r.resumerInCall) {
        return ResumeDecision::BadStateInCall;
    }
    switch (r.known) {
    case ResumeRequest::Known::Ended:
        return ResumeDecision::Ended;
    case ResumeRequest::Known::Unknown:
        return ResumeDecision::Rebuild;
    case ResumeRequest::Known::Live:
        break;
    }
    if (!r.call || !r.call->answered || r.sideTaken || r.sessionMismatch || r.nameMismatch) {
        return ResumeDecision::BadState;
    }
    if (r.sessionInUse) {
        return ResumeDecision::SessionInUse;
    }
    return ResumeDecision::Resume;
}

bool resumeCompletes(const CallView& call) {
    return call.callerPresent && call.calleePresent;
}

ClusterResumeDecision onClusterResume(const ClusterResumeView& v) {
    if (!v.redisAnswered || !v.recordFound) {
        return ClusterResumeDecision::Local;
    }
    if (!v.answered || !v.nameMatches) {
        return ClusterResumeDecision::Refuse;
    }
    if (!v.peerOnline) {
        return ClusterResumeDecision::Local;
    }
    return v.peerHere ? ClusterResumeDecision::PeerHere : ClusterResumeDecision::AskPeerRelay;
}

MoveDecision onMoveRequest(const MoveRequest& r) {
    if (!r.known || !r.answered) {
        return MoveDecision::Ended;
    }
    if (!r.farSideMatches || !r.sessionMatches) {
        return MoveDecision::Ignore;
    }
    return MoveDecision::Move;
}

} // namespace voice::call_matcher
