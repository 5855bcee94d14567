// SPDX-License-Identifier: MIT
// RelayServer: resuming a cross-relay call at another relay of the cluster
// (issue 19). A side whose relay died registers at another one and sends its
// Resume there; that relay finds the call's record in Redis, asks the other
// side's relay (Resume signal) to move the call's trunk to it, and once that
// relay answers (Resumed, with both session ids) builds its side of the call
// with the old session ids. The end-to-end keys never change: no ring, no
// handshake. call_matcher decides (onClusterResume, onMoveRequest).
#include "relay/cluster_matcher.h"
#include "relay/cluster_signals.h"
#include "relay/redis_registry.h"
#include "relay/relay_server_internal.h"

namespace voice {

namespace {
/// How long the resumer's relay waits for the other side's relay to answer
/// (ClusterSignals retries an undelivered signal for 2 s).
constexpr auto kPeerRelayAnswer = std::chrono::seconds(3);
} // namespace

void RelayServer::endOurSide(uint64_t serial, HangupReason reason) {
    auto it = calls_.find(serial);
    if (it == calls_.end()) {
        return;
    }
    const bool remoteCaller = it->second->remoteCaller;
    endCall(serial, remoteCaller ? std::nullopt : std::optional(reason),
            remoteCaller ? std::optional(reason) : std::nullopt);
}

void RelayServer::locateForResume(Connection& c, const msg::Resume& m,
                                  const ResumeTokens::Claim& claim) {
    const uint64_t connection = c.id;
    const bool asCaller = claim.role == CallRole::Caller;
    c.resuming = true;
    matcher_->locate(m.callId, asCaller,
                     [this, connection, m, claim](bool redisAnswered, const auto& record) {
                         Connection* resumer = find(connection);
                         if (!resumer || resumer->state != Connection::State::Registered) {
                             return; // gone meanwhile: nothing to resume for
                         }
                         resumer->resuming = false;
                         call_matcher::ClusterResumeView view;
                         view.redisAnswered = redisAnswered;
                         view.recordFound = record.has_value();
                         std::string relay;
                         if (record) {
                             relay = ClusterMatcher::relayOf(record->otherLocation);
                             view.answered = record->answered;
                             view.nameMatches = record->mine == resumer->name;
                             view.peerOnline = !relay.empty();
                             view.peerHere = relay == cluster_->relayId();
                         }
                         switch (call_matcher::onClusterResume(view)) {
                         case call_matcher::ClusterResumeDecision::Local:
                             handleResume(*resumer, m, true);
                             return;
                         case call_matcher::ClusterResumeDecision::Refuse:
                             refuseResume(*resumer, ErrorCode::UnknownCall,
                                          "no answered call of yours with this id");
                             return;
                         case call_matcher::ClusterResumeDecision::PeerHere:
                             mergeHere(*resumer, m.callId, claim);
                             return;
                         case call_matcher::ClusterResumeDecision::AskPeerRelay:
                             if (resumer->call != 0) {
                                 refuseResume(*resumer, ErrorCode::BadState, "already in a call");
                                 return;
                             }
                             askPeerRelay(*resumer, m.callId, claim, record->other, relay);
                             return;
                         }
                     });
}

void RelayServer::askPeerRelay(Connection& c, const CallId& id, const ResumeTokens::Claim& claim,
                               const std::string& otherName, const std::string& relay) {
    const bool asCaller = claim.role == CallRole::Caller;
    auto call = std::make_unique<CallState>();
    call->serial = nextId_++;
    call->id = id;
    call->active = true;
    call->awaitingPeer = true;
    call->peerRelay = relay;
    call->remoteCaller = !asCaller;
    (asCaller ? call->caller : call->callee) = c.id;
    (asCaller ? call->callerSession : call->calleeSession) = claim.session;
    (asCaller ? call->callerName : call->calleeName) = c.name;
    (asCaller ? call->calleeName : call->callerName) = otherName;
    const uint64_t serial = call->serial;
    // The other relay answers within a few round trips; without an answer
    // the call cannot be had back (that relay died too, or forgot it).
    call->ringTimer = loop_->addTimer(kPeerRelayAnswer, [this, serial] {
        auto it = calls_.find(serial);
        if (it == calls_.end() || !it->second->awaitingPeer) {
            return;
        }
        it->second->ringTimer = 0;
        LOG_INFO("call '%s' -> '%s': relay '%s' did not answer the resume",
                 it->second->callerName.c_str(), it->second->calleeName.c_str(),
                 it->second->peerRelay.c_str());
        endOurSide(serial, HangupReason::PeerLost);
    });
    remoteCalls_[ClusterMatcher::hex(id)] = serial;
    CallState& ref = *call;
    calls_.emplace(serial, std::move(call));
    setCall(c, serial, LineState::InCall);
    LOG_INFO("'%s' resumes its call with '%s' here; asking relay '%s'", c.name.c_str(),
             otherName.c_str(), relay.c_str());
    ClusterSignal s;
    s.kind = ClusterSignal::Kind::Resume;
    (asCaller ? s.callerSession : s.calleeSession) = claim.session;
    s.trunk = advertised_->toString();
    signalPeer(ref, std::move(s));
}

namespace {
/// What call_matcher::onMoveRequest needs of our half of a call whose far
/// side (role resumerIsCaller, holding `session`) resumed elsewhere or here.
template <typename Call>
call_matcher::MoveRequest moveRequestFor(const Call* call, bool resumerIsCaller, uint64_t session) {
    call_matcher::MoveRequest request;
    if (call && !call->awaitingPeer) {
        request.known = true;
        request.answered = call->active;
        request.farSideMatches = call->remoteCaller == resumerIsCaller;
        request.sessionMatches =
            (resumerIsCaller ? call->callerSession : call->calleeSession) == session;
    }
    return request;
}
} // namespace

void RelayServer::mergeHere(Connection& c, const CallId& id, const ResumeTokens::Claim& claim) {
    const bool asCaller = claim.role == CallRole::Caller;
    CallState* call = c.call == 0 ? findRemoteCall(id) : nullptr;
    if (call_matcher::onMoveRequest(moveRequestFor(call, asCaller, claim.session)) !=
        call_matcher::MoveDecision::Move) {
        refuseResume(c, ErrorCode::BadState, "this call cannot be resumed by this connection");
        return;
    }
    // Both halves are here now: one local call. Our side's route key (kept
    // in the call) goes back into the router, its UDP address is learnt
    // again from its next probe (asked for at once by its media).
    const uint64_t mine = asCaller ? call->calleeSession : call->callerSession;
    router_->removeCall(call->callerSession, call->calleeSession);
    remoteCalls_.erase(ClusterMatcher::hex(call->id));
    if (call->peerGraceTimer != 0) {
        loop_->cancelTimer(call->peerGraceTimer);
        call->peerGraceTimer = 0;
    }
    LOG_INFO("call '%s' -> '%s': the far side resumed here (was at relay '%s'); the call is local",
             call->callerName.c_str(), call->calleeName.c_str(), call->peerRelay.c_str());
    call->peerRelay.clear();
    call->peerTrunk.reset();
    call->remoteCaller = false;
    call->clusterRecord = true;
    (asCaller ? call->caller : call->callee) = c.id;
    router_->addCall(call->callerSession, call->caller, call->calleeSession, call->callee);
    router_->setRouteKey(mine, asCaller ? call->calleeRouteKey : call->callerRouteKey);
    call->routed = true;
    setCall(c, call->serial, LineState::InCall);
    ++resumes_;
    sendResumeToken(c, *call, claim.role);
}

void RelayServer::onRemoteResume(const ClusterSignal& s) {
    CallState* call = findRemoteCall(s.call);
    const bool resumerIsCaller = s.callerSession != 0;
    auto trunkAddress = SocketAddress::parse(s.trunk);
    switch (call_matcher::onMoveRequest(moveRequestFor(
        call, resumerIsCaller, resumerIsCaller ? s.callerSession : s.calleeSession))) {
    case call_matcher::MoveDecision::Ended: {
        ClusterSignal h;
        h.kind = ClusterSignal::Kind::Hangup;
        h.reason = HangupReason::PeerLost;
        h.call = s.call;
        signals_->send(s.from, std::move(h));
        return;
    }
    case call_matcher::MoveDecision::Ignore:
        LOG_WARNING("ignored a resume from relay '%s' for another side or session of a call",
                    s.from.c_str());
        return;
    case call_matcher::MoveDecision::Move:
        break;
    }
    if (!trunkAddress.ok()) {
        return; // decode() checked it; never route to nowhere
    }
    if (call->peerRelay != s.from) {
        LOG_INFO("call '%s' -> '%s': the far side resumed at relay '%s' (was at '%s')",
                 call->callerName.c_str(), call->calleeName.c_str(), s.from.c_str(),
                 call->peerRelay.c_str());
    }
    // Signals from the old relay (its hangup after its grace, if it lives)
    // are ignored from now on: they no longer come from call->peerRelay.
    call->peerRelay = s.from;
    if (call->peerGraceTimer != 0) {
        loop_->cancelTimer(call->peerGraceTimer);
        call->peerGraceTimer = 0;
    }
    call->peerTrunk = *trunkAddress;
    const uint64_t far = call->remoteCaller ? call->callerSession : call->calleeSession;
    if (call->routed) {
        router_->setTrunk(far, *trunkAddress);
    }
    ClusterSignal answer;
    answer.kind = ClusterSignal::Kind::Resumed;
    answer.callerSession = call->callerSession;
    answer.calleeSession = call->calleeSession;
    answer.trunk = advertised_->toString();
    signalPeer(*call, std::move(answer)); // idempotent: a repeated resume gets the same answer
}

void RelayServer::onRemoteResumed(CallState& call, const ClusterSignal& s) {
    if (!call.awaitingPeer) {
        return; // answered already
    }
    const bool asCaller = !call.remoteCaller;
    const uint64_t mine = asCaller ? call.callerSession : call.calleeSession;
    const uint64_t far = asCaller ? s.calleeSession : s.callerSession;
    auto trunkAddress = SocketAddress::parse(s.trunk);
    if ((asCaller ? s.callerSession : s.calleeSession) != mine || !trunkAddress.ok()) {
        return; // not our session: the timer ends it
    }
    const uint64_t serial = call.serial;
    if (router_->contains(mine) || router_->contains(far)) {
        // 64-bit random ids colliding: end it rather than cross two calls.
        endCall(serial, HangupReason::Error, HangupReason::Error);
        return;
    }
    loop_->cancelTimer(call.ringTimer);
    call.ringTimer = 0;
    call.awaitingPeer = false;
    call.callerSession = s.callerSession;
    call.calleeSession = s.calleeSession;
    call.peerTrunk = *trunkAddress;
    const uint64_t connection = asCaller ? call.caller : call.callee;
    routeRemote(call, connection); // 0 while our side is away: its next Resume finds the call
    ++resumes_;
    Connection* c = find(connection);
    LOG_INFO("call '%s' -> '%s' resumed across relays (other side at relay '%s')",
             call.callerName.c_str(), call.calleeName.c_str(), call.peerRelay.c_str());
    if (c && call.routed) {
        sendResumeToken(*c, call, asCaller ? CallRole::Caller : CallRole::Callee);
    }
}

void RelayServer::watchPeerRelays() {
    const auto now = Clock::now();
    if (now < nextPeerWatch_) {
        return; // the sweep runs every 100 ms; the heartbeat answers once a second
    }
    nextPeerWatch_ = now + std::chrono::seconds(1);
    for (auto& [serial, call] : calls_) {
        if (!call->remote() || !call->active || call->awaitingPeer || call->peerGraceTimer != 0 ||
            cluster_->relayAlive(call->peerRelay)) {
            continue;
        }
        // Its far side lost its relay: it comes back through a resume at
        // another relay (which moves the call, cancelling this), or the call
        // ends as when a side of a local call does not resume.
        LOG_INFO(
            "call '%s' -> '%s': relay '%s' is gone; waiting %lld ms for the far side to resume",
            call->callerName.c_str(), call->calleeName.c_str(), call->peerRelay.c_str(),
            static_cast<long long>(config_.resumeGrace.count()));
        const uint64_t id = serial;
        call->peerGraceTimer = loop_->addTimer(config_.resumeGrace, [this, id] {
            if (auto it = calls_.find(id); it != calls_.end()) {
                it->second->peerGraceTimer = 0;
                LOG_INFO("call %llu: the far side did not resume in time", (unsigned long long)id);
                endOurSide(id, HangupReason::PeerLost); // nobody to tell over there
            }
        });
    }
}

} // namespace voice
