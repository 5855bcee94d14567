// SPDX-License-Identifier: MIT
// RelayServer's calls: carries call_matcher's decisions out (Ringing,
// CallStarted, Hangup, timers, sessions in the MediaRouter, resume tokens),
// leaving a call when a connection closes, and what passes between the two
// sides of a call over TLS (E2eHandshake, MediaTunnel).
#include "core/log.h"
#include "relay/cluster_matcher.h"
#include "relay/cluster_signals.h"
#include "relay/relay_server.h"
#include "relay/relay_server_internal.h"
#include "relay/trunk.h"
#include "wire/media_header.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace voice {

namespace {
/// A resume token is good for this long after it was (re)issued; every
/// accepted Resume hands out a fresh one.
constexpr auto kResumeTokenLifetime = std::chrono::hours(24);
constexpr size_t kMaxEndedCalls = 4096;
} // namespace

// ---------------------------------------------------------------------------
// Leaving: a closing connection's part in the registry and its call

call_matcher::CallView RelayServer::viewOf(const CallState& call) {
    call_matcher::CallView v;
    v.caller = call.callerName;
    v.callee = call.calleeName;
    v.answered = call.active;
    v.callerPresent =
        (call.remote() && call.remoteCaller) || (call.caller != 0 && find(call.caller) != nullptr);
    v.calleePresent =
        (call.remote() && !call.remoteCaller) || (call.callee != 0 && find(call.callee) != nullptr);
    return v;
}

call_matcher::Side RelayServer::sideOf(const CallState& call, const Connection& c) {
    return call.caller == c.id ? call_matcher::Side::Caller : call_matcher::Side::Callee;
}

void RelayServer::setCall(Connection& c, uint64_t serial, LineState line) {
    c.call = serial;
    if (c.state == Connection::State::Registered) {
        registry_->setLine(c.name, c.id, line);
    }
}

void RelayServer::leave(Connection& c) {
    if (c.call != 0) {
        auto it = calls_.find(c.call);
        if (it != calls_.end()) {
            const auto lost =
                call_matcher::onConnectionLost(viewOf(*it->second), sideOf(*it->second, c));
            if (lost.waitForResume) {
                // An answered call survives its party's connection for a while:
                // the party reconnects and resumes it, here, on a restarted
                // relay when this is a shutdown (so nobody is told anything
                // then), or at another relay of the cluster.
                detachFromCall(c, *it->second);
            } else {
                endCall(c.call, lost.end.toCaller, lost.end.toCallee);
            }
        }
    }
    if (c.state == Connection::State::Registered) {
        registry_->setOffline(c.name, c.id);
    }
}

// ---------------------------------------------------------------------------
// Calls

void RelayServer::handleCall(Connection& c, const msg::Call& m) {
    auto calleeId = registry_->connectionOf(m.callee);
    Connection* callee = calleeId ? find(*calleeId) : nullptr;
    if (callee && callee->state != Connection::State::Registered) {
        callee = nullptr;
    }
    if (c.call != 0 && calls_.count(c.call) == 0) {
        setCall(
            c, 0,
            LineState::Idle); // cannot happen (endCall clears both sides); never trust it blindly
    }
    if (!callee && cluster_ && (c.call == 0 || calls_.find(c.call)->second->remote())) {
        clusterCall(c, m); // the callee may be on another relay: Redis decides
        return;
    }
    std::optional<call_matcher::CallView> mine;
    if (c.call != 0) {
        mine = viewOf(*calls_.find(c.call)->second);
    }
    call_matcher::CallRequest request;
    request.caller = c.name;
    request.callee = m.callee;
    request.calleeOnline = callee != nullptr;
    request.calleeLine = registry_->line(m.callee);
    request.callerCall = mine ? &*mine : nullptr;
    switch (call_matcher::onCall(request)) {
    case call_matcher::CallDecision::AlreadyInCall: {
        msg::Error e;
        e.code = ErrorCode::BadState;
        e.text = "already in a call";
        send(c, e);
        return;
    }
    case call_matcher::CallDecision::CancelRingingAndRing: {
        const call_matcher::End end = call_matcher::glareEnd();
        endCall(c.call, end.toCaller, end.toCallee);
        startCall(c, *callee);
        return;
    }
    case call_matcher::CallDecision::Offline: {
        ++rejectedOffline_;
        msg::Offline o;
        o.callee = m.callee;
        send(c, o);
        return;
    }
    case call_matcher::CallDecision::Busy: {
        ++rejectedBusy_;
        msg::Busy busy;
        busy.callee = m.callee;
        send(c, busy);
        return;
    }
    case call_matcher::CallDecision::Ring:
        startCall(c, *callee);
        return;
    }
}

void RelayServer::startCall(Connection& caller, Connection& callee) {
    auto call = std::make_unique<CallState>();
    call->serial = nextId_++;
    randomBytes(call->id);
    call->caller = caller.id;
    call->callee = callee.id;
    call->callerName = caller.name;
    call->calleeName = callee.name;
    const uint64_t serial = call->serial;
    call->ringTimer = loop_->addTimer(config_.ringTimeout, [this, serial] {
        auto it = calls_.find(serial);
        if (it == calls_.end()) {
            return;
        }
        if (auto end = call_matcher::onRingTimeout(viewOf(*it->second))) {
            it->second->ringTimer = 0;
            ++timeouts_;
            endCall(serial, end->toCaller, end->toCallee);
        }
    });
    setCall(caller, serial, LineState::Ringing);
    setCall(callee, serial, LineState::Ringing);
    ++callsTotal_;
    msg::Ringing ringing;
    ringing.callId = call->id;
    ringing.callee = callee.name;
    ringing.calleeKey = callee.key;
    msg::IncomingCall incoming;
    incoming.callId = call->id;
    incoming.caller = caller.name;
    incoming.callerKey = caller.key;
    calls_.emplace(serial, std::move(call));
    LOG_INFO("'%s' calls '%s'", caller.name.c_str(), callee.name.c_str());
    send(caller, ringing);
    send(callee, incoming);
}

void RelayServer::endCall(uint64_t serial, std::optional<HangupReason> toCaller,
                          std::optional<HangupReason> toCallee) {
    auto it = calls_.find(serial);
    if (it == calls_.end()) {
        return;
    }
    std::unique_ptr<CallState> call = std::move(it->second);
    calls_.erase(it);
    if (call->ringTimer != 0) {
        loop_->cancelTimer(call->ringTimer);
    }
    for (EventLoop::TimerId timer : {call->graceTimer, call->peerGraceTimer}) {
        if (timer != 0) {
            loop_->cancelTimer(timer);
        }
    }
    if (call->active) {
        // Remember how it ended: a party that was away learns why when it
        // comes back, and a replayed token cannot bring the call back.
        HangupReason why = HangupReason::Normal;
        if (call->caller == 0) {
            why = toCaller.value_or(HangupReason::PeerLost);
        } else if (call->callee == 0) {
            why = toCallee.value_or(HangupReason::PeerLost);
        }
        endedCalls_.emplace_back(call->id, why);
        if (endedCalls_.size() > kMaxEndedCalls) {
            endedCalls_.pop_front();
        }
    }
    if (call->remote()) {
        const auto toRemote = call->remoteCaller ? toCaller : toCallee;
        if (toRemote) {
            ClusterSignal s;
            s.kind = ClusterSignal::Kind::Hangup;
            s.reason = *toRemote;
            signalPeer(*call, std::move(s));
        }
        remoteCalls_.erase(ClusterMatcher::hex(call->id));
    }
    if (call->remote() || call->clusterRecord) {
        endInCluster(call->id, 60);
    }
    if (call->routed) {
        auto a = router_->stats(call->callerSession);
        auto b = router_->stats(call->calleeSession);
        router_->removeCall(call->callerSession, call->calleeSession);
        LOG_INFO("call '%s' -> '%s' ended; caller sent %llu packets (lost %llu, jitter %.1f ms), "
                 "callee sent %llu (lost %llu, jitter %.1f ms)",
                 call->callerName.c_str(), call->calleeName.c_str(), (unsigned long long)a.packets,
                 (unsigned long long)a.lost, a.jitterUs / 1000.0, (unsigned long long)b.packets,
                 (unsigned long long)b.lost, b.jitterUs / 1000.0);
    }
    auto notify = [&](uint64_t connId, std::optional<HangupReason> reason) {
        Connection* c = find(connId);
        if (!c || c->call != serial) {
            return;
        }
        setCall(*c, 0, LineState::Idle);
        if (reason && c->state != Connection::State::Closing) {
            msg::Hangup h;
            h.callId = call->id;
            h.reason = *reason;
            send(*c, h);
        }
    };
    notify(call->caller, toCaller);
    notify(call->callee, toCallee);
}

void RelayServer::handleAccept(Connection& c, const msg::Accept& m) {
    auto it = calls_.find(c.call);
    const bool known = it != calls_.end() && it->second->id == m.callId;
    std::optional<call_matcher::CallView> view;
    if (known) {
        view = viewOf(*it->second);
    }
    const auto from = known && it->second->callee == c.id ? call_matcher::Side::Callee
                                                          : call_matcher::Side::Caller;
    switch (call_matcher::onAccept(view ? &*view : nullptr, from)) {
    case call_matcher::AcceptDecision::UnknownCall: {
        msg::Error e;
        e.code = ErrorCode::UnknownCall;
        e.text = "no such call";
        send(c, e);
        return;
    }
    case call_matcher::AcceptDecision::NotCallee: {
        msg::Error e;
        e.code = ErrorCode::BadState;
        e.text = "only the callee of a ringing call can accept it";
        send(c, e);
        return;
    }
    case call_matcher::AcceptDecision::CallerGone: {
        const call_matcher::End end = call_matcher::onAcceptCallerGone();
        endCall(it->second->serial, end.toCaller, end.toCallee);
        return;
    }
    case call_matcher::AcceptDecision::Start:
        break;
    }
    CallState& call = *it->second;
    if (call.remote()) {
        acceptRemote(c, call);
        return;
    }
    Connection* caller = find(call.caller);
    loop_->cancelTimer(call.ringTimer);
    call.ringTimer = 0;
    call.active = true;
    registry_->setLine(caller->name, caller->id, LineState::InCall);
    registry_->setLine(c.name, c.id, LineState::InCall);
    call.callerSession = router_->unusedSessionId();
    do {
        call.calleeSession = router_->unusedSessionId();
    } while (call.calleeSession == call.callerSession);
    router_->addCall(call.callerSession, call.caller, call.calleeSession, call.callee);
    call.routed = true;
    ++callsAnswered_;
    msg::CallStarted forCaller;
    forCaller.callId = call.id;
    forCaller.sessionId = call.callerSession;
    forCaller.role = CallRole::Caller;
    msg::CallStarted forCallee = forCaller;
    forCallee.sessionId = call.calleeSession;
    forCallee.role = CallRole::Callee;
    LOG_INFO("'%s' answered '%s'", call.calleeName.c_str(), call.callerName.c_str());
    send(*caller, forCaller);
    send(c, forCallee);
    sendResumeToken(*caller, call, CallRole::Caller);
    sendResumeToken(c, call, CallRole::Callee);
}

void RelayServer::sendResumeToken(Connection& c, CallState& call, CallRole role) {
    msg::ResumeToken t;
    t.callId = call.id;
    const bool caller = role == CallRole::Caller;
    const uint64_t session = caller ? call.callerSession : call.calleeSession;
    t.token = resumeTokens_->issue(call.id, role, session, c.name, c.key,
                                   std::chrono::system_clock::now() + kResumeTokenLifetime);
    // A fresh route key with every token: probes MACed under an older key
    // (captured before a resume or a restart) no longer move anything.
    MediaRouter::RouteKey& key = caller ? call.callerRouteKey : call.calleeRouteKey;
    while (RAND_bytes(key.data(), int(key.size())) != 1) {
        // the DRBG does not fail once seeded; never hand out a weak key
    }
    if (call.routed) {
        router_->setRouteKey(session, key);
    }
    t.routeKey = key;
    send(c, t);
    OPENSSL_cleanse(t.routeKey.data(), t.routeKey.size());
}

void RelayServer::requestProbe(uint64_t connection) {
    Connection* c = find(connection);
    if (!c || c->state != Connection::State::Registered) {
        return;
    }
    auto it = calls_.find(c->call);
    if (it == calls_.end() || !it->second->routed) {
        return;
    }
    msg::ProbeRequest r;
    r.callId = it->second->id;
    send(*c, r);
}

void RelayServer::startGraceTimer(CallState& call) {
    if (call.graceTimer != 0) {
        return;
    }
    const uint64_t serial = call.serial;
    call.graceTimer = loop_->addTimer(config_.resumeGrace, [this, serial] {
        auto it = calls_.find(serial);
        if (it == calls_.end()) {
            return;
        }
        it->second->graceTimer = 0;
        LOG_INFO("call '%s' -> '%s': a party did not resume in time",
                 it->second->callerName.c_str(), it->second->calleeName.c_str());
        const call_matcher::End end = call_matcher::onGraceExpired();
        endCall(serial, end.toCaller, end.toCallee);
    });
}

void RelayServer::detachFromCall(Connection& c, CallState& call) {
    if (call.caller == c.id) {
        call.caller = 0;
    } else if (call.callee == c.id) {
        call.callee = 0;
    }
    setCall(c, 0, LineState::Idle);
    // Also when nobody is left (a call rebuilt after a restart whose only
    // resumed side dropped again): the grace timer bounds how long it stays.
    LOG_INFO("'%s' lost its connection in a call; waiting %lld ms for it to resume", c.name.c_str(),
             static_cast<long long>(config_.resumeGrace.count()));
    startGraceTimer(call);
}

void RelayServer::refuseResume(Connection& c, ErrorCode code, std::string text) {
    ++resumesRefused_;
    LOG_INFO("refused resume from '%s': %s", c.name.c_str(), text.c_str());
    msg::Error e;
    e.code = code;
    e.text = std::move(text);
    send(c, e);
}

void RelayServer::handleResume(Connection& c, const msg::Resume& m, bool clusterChecked) {
    auto refuseResume = [&](ErrorCode code, std::string text) {
        this->refuseResume(c, code, std::move(text));
    };
    if (c.resuming) {
        refuseResume(ErrorCode::BadState, "a resume is under way");
        return;
    }
    auto claim =
        resumeTokens_->verify(m.callId, m.token, c.name, c.key, std::chrono::system_clock::now());
    if (!claim.ok()) {
        refuseResume(ErrorCode::UnknownCall, claim.status().detail());
        return;
    }
    const bool asCaller = claim->role == CallRole::Caller;
    auto findCall = [&]() -> CallState* {
        for (auto& [serial, existing] : calls_) {
            if (CRYPTO_memcmp(existing->id.data(), m.callId.data(), m.callId.size()) == 0) {
                return existing.get();
            }
        }
        return nullptr;
    };
    CallState* call = c.call != 0 ? nullptr : findCall();
    std::optional<HangupReason> endedWith;
    if (c.call == 0 && !call) {
        for (auto& [id, reason] : endedCalls_) {
            if (id == m.callId) {
                endedWith = reason;
                break;
            }
        }
    }
    if (call && call->remote() && call->remoteCaller == asCaller) {
        // The far side of a cross-relay call, back at this (its peer's)
        // relay after its own died: the call becomes local here.
        mergeHere(c, m.callId, *claim);
        return;
    }
    if (cluster_ && !clusterChecked && c.call == 0 && !call && !endedWith) {
        // Not a call of this relay: its record in Redis says where the other
        // side is (its own relay may have died and the resumer moved here).
        locateForResume(c, m, *claim);
        return;
    }
    while (true) {
        call_matcher::ResumeRequest request;
        request.side = asCaller ? call_matcher::Side::Caller : call_matcher::Side::Callee;
        request.resumerInCall = c.call != 0;
        request.known = call        ? call_matcher::ResumeRequest::Known::Live
                        : endedWith ? call_matcher::ResumeRequest::Known::Ended
                                    : call_matcher::ResumeRequest::Known::Unknown;
        std::optional<call_matcher::CallView> view;
        if (call) {
            view = viewOf(*call);
            const uint64_t slot = asCaller ? call->caller : call->callee;
            const uint64_t session = asCaller ? call->callerSession : call->calleeSession;
            const std::string& name = asCaller ? call->callerName : call->calleeName;
            const uint64_t other = asCaller ? call->calleeSession : call->callerSession;
            request.call = &*view;
            request.sideTaken = slot != 0;
            request.sessionMismatch = session != 0 && session != claim->session;
            request.nameMismatch = !name.empty() && name != c.name;
            request.sessionInUse =
                session == 0 && (claim->session == other || router_->contains(claim->session));
        }
        switch (call_matcher::onResume(request)) {
        case call_matcher::ResumeDecision::BadStateInCall:
            refuseResume(ErrorCode::BadState, "already in a call");
            return;
        case call_matcher::ResumeDecision::Ended: {
            ++resumesRefused_;
            msg::Hangup h;
            h.callId = m.callId;
            h.reason = *endedWith;
            send(c, h);
            return;
        }
        case call_matcher::ResumeDecision::Rebuild: {
            // Unknown call with a valid token: this relay restarted. Rebuild the
            // call from what the token vouches for; the other side fills in its
            // half when it resumes too.
            auto fresh = std::make_unique<CallState>();
            fresh->serial = nextId_++;
            fresh->id = m.callId;
            fresh->active = true;
            call = fresh.get();
            calls_.emplace(call->serial, std::move(fresh));
            startGraceTimer(*call);
            continue;
        }
        case call_matcher::ResumeDecision::BadState:
            refuseResume(ErrorCode::BadState, "this call cannot be resumed by this connection");
            return;
        case call_matcher::ResumeDecision::SessionInUse:
            refuseResume(ErrorCode::BadState, "session id in use");
            return;
        case call_matcher::ResumeDecision::Resume:
            break;
        }
        break;
    }
    uint64_t& slot = asCaller ? call->caller : call->callee;
    uint64_t& session = asCaller ? call->callerSession : call->calleeSession;
    std::string& name = asCaller ? call->callerName : call->calleeName;
    slot = c.id;
    session = claim->session;
    name = c.name;
    setCall(c, call->serial, LineState::InCall);
    if (call->routed) {
        router_->setConnection(session, c.id);
    } else if (call->callerSession != 0 && call->calleeSession != 0) {
        router_->addCall(call->callerSession, call->caller, call->calleeSession, call->callee);
        call->routed = true;
        // The side that resumed first got its key before the router knew it.
        if (asCaller) {
            router_->setRouteKey(call->calleeSession, call->calleeRouteKey);
        } else {
            router_->setRouteKey(call->callerSession, call->callerRouteKey);
        }
    }
    if (call_matcher::resumeCompletes(viewOf(*call))) {
        if (call->graceTimer != 0) {
            loop_->cancelTimer(call->graceTimer);
            call->graceTimer = 0;
        }
        LOG_INFO("call '%s' -> '%s' resumed", call->callerName.c_str(), call->calleeName.c_str());
    } else {
        LOG_INFO("'%s' resumed its call; waiting for the other side", c.name.c_str());
        startGraceTimer(*call);
    }
    ++resumes_;
    sendResumeToken(c, *call, claim->role);
}

void RelayServer::handleReject(Connection& c, const msg::Reject& m) {
    auto it = calls_.find(c.call);
    std::optional<call_matcher::End> end;
    if (it != calls_.end() && it->second->id == m.callId) {
        const auto view = viewOf(*it->second);
        end = call_matcher::onReject(&view, sideOf(*it->second, c));
    }
    if (!end) {
        msg::Error e;
        e.code = ErrorCode::UnknownCall;
        e.text = "no ringing call with this id";
        send(c, e);
        return;
    }
    endCall(c.call, end->toCaller, end->toCallee);
}

void RelayServer::handleHangup(Connection& c, const msg::Hangup& m) {
    auto it = calls_.find(c.call);
    std::optional<call_matcher::End> end;
    if (it != calls_.end() && it->second->id == m.callId) {
        const auto view = viewOf(*it->second);
        end = call_matcher::onHangup(&view, sideOf(*it->second, c), m.reason);
    }
    if (!end) {
        // A hangup racing the call's end is normal; say so quietly.
        msg::Error e;
        e.code = ErrorCode::UnknownCall;
        e.text = "no such call";
        send(c, e);
        return;
    }
    endCall(c.call, end->toCaller, end->toCallee);
}

void RelayServer::handleHandshake(Connection& c, const Frame& frame) {
    // Check the call id (the first 16 bytes) and pass the frame on byte for byte.
    auto it = calls_.find(c.call);
    if (frame.payload.size() < 16 + 2 || it == calls_.end() ||
        !std::equal(it->second->id.begin(), it->second->id.end(), frame.payload.begin())) {
        msg::Error e;
        e.code = ErrorCode::UnknownCall;
        e.text = "handshake for no call of yours";
        send(c, e);
        return;
    }
    auto decoded = msg::E2eHandshake::decode(frame.payload);
    if (!decoded.ok()) {
        ++protocolErrors_;
        sendErrorAndClose(c, ErrorCode::Protocol, decoded.status().detail());
        return;
    }
    const CallState& call = *it->second;
    if (call.remote()) {
        ClusterSignal s;
        s.kind = ClusterSignal::Kind::Handshake;
        s.payload.assign(frame.payload.begin(), frame.payload.end());
        signalPeer(call, std::move(s));
        return;
    }
    Connection* peer = find(call.caller == c.id ? call.callee : call.caller);
    if (!peer) {
        return;
    }
    std::vector<uint8_t> out;
    if (appendFrame(out, FrameType::E2eHandshake, frame.payload).ok()) {
        sendRaw(*peer, out);
    }
}

void RelayServer::handleTunnel(Connection& c, const Frame& frame) {
    auto it = calls_.find(c.call);
    if (it == calls_.end() || !it->second->active) {
        return; // media after a hangup: drop silently
    }
    auto header = MediaHeader::decode(frame.payload);
    const uint64_t mine =
        it->second->caller == c.id ? it->second->callerSession : it->second->calleeSession;
    if (!header.ok() || header->sessionId != mine) {
        router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    router_->tunnelledPackets.fetch_add(1, std::memory_order_relaxed);
    auto d = router_->route(frame.payload, nullptr, -1, Clock::now());
    if (d.kind == MediaRouter::Delivery::Kind::Trunk) {
        std::array<uint8_t, MediaHeader::kMaxDatagram + trunk::kOverhead> sealed;
        const size_t n =
            trunkMac_ ? trunk::seal(*trunkMac_, *trunkSender_, frame.payload, sealed) : 0;
        auto sent = n ? sendTo(d.fd, std::as_bytes(std::span(sealed.data(), n)), d.to)
                      : Result<bool>(false);
        if (!sent.ok() || !*sent) {
            router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        }
    } else if (d.kind == MediaRouter::Delivery::Kind::Udp) {
        auto sent = sendTo(d.fd, std::as_bytes(frame.payload), d.to);
        if (!sent.ok() || !*sent) {
            router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        }
    } else if (d.kind == MediaRouter::Delivery::Kind::Tunnel) {
        deliverTunnel(d.connection, frame.payload);
    }
}

void RelayServer::deliverTunnel(uint64_t connection, std::span<const uint8_t> packet) {
    Connection* c = find(connection);
    if (!c || c->state != Connection::State::Registered) {
        router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // Media is expendable: never let it fill a slow reader's buffer past
    // half, so control messages still fit.
    if (c->tls->pendingOutput() > config_.outputBufferBytes / 2) {
        router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    std::vector<uint8_t> out;
    if (appendFrame(out, FrameType::MediaTunnel, packet).ok()) {
        sendRaw(*c, out);
    }
}

} // namespace voice
