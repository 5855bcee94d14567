// SPDX-License-Identifier: MIT
// RelayServer's calls across relays (issue 19): matching in Redis
// (ClusterMatcher), ring/ringing/accept/hangup/handshake between the two
// relays over pub/sub (ClusterSignals). Each relay keeps a CallState for its
// own side; call_matcher's rules run as for a local call, with the far side
// counted as present.
#include "relay/cluster_matcher.h"
#include "relay/cluster_signals.h"
#include "relay/redis_registry.h"
#include "relay/relay_server_internal.h"

namespace voice {

RelayServer::CallState* RelayServer::findRemoteCall(const CallId& id) {
    auto it = remoteCalls_.find(ClusterMatcher::hex(id));
    if (it == remoteCalls_.end()) {
        return nullptr;
    }
    auto call = calls_.find(it->second);
    return call == calls_.end() ? nullptr : call->second.get();
}

void RelayServer::endInCluster(const CallId& id, int attemptsLeft) {
    // Retried while Redis does not answer (up to a minute): an answered
    // call's record has no TTL, and a stale one would only be cleared once a
    // party goes offline.
    matcher_->end(id, [this, id, attemptsLeft](bool done) {
        (void)done;
        if (!cluster_->redisUp() && attemptsLeft > 1) {
            loop_->addTimer(std::chrono::seconds(1),
                            [this, id, attemptsLeft] { endInCluster(id, attemptsLeft - 1); });
        }
    });
}

void RelayServer::signalPeer(const CallState& call, ClusterSignal s) {
    s.call = call.id;
    signals_->send(call.peerRelay, std::move(s));
}

void RelayServer::clusterCall(Connection& c, const msg::Call& m) {
    CallId id;
    randomBytes(id);
    const uint64_t connection = c.id;
    const std::string callee = m.callee;
    matcher_->match(c.name, callee, id, [this, connection, callee, id](const auto& match) {
        Connection* caller = find(connection);
        if (!caller || caller->state != Connection::State::Registered) {
            if (match && (match->decision == call_matcher::CallDecision::Ring ||
                          match->decision == call_matcher::CallDecision::CancelRingingAndRing)) {
                endInCluster(id, 60);
            }
            return;
        }
        if (!match) {
            // Redis did not answer: nobody can say where the callee is.
            ++rejectedUnavailable_;
            msg::Unavailable u;
            u.callee = callee;
            send(*caller, u);
            return;
        }
        switch (match->decision) {
        case call_matcher::CallDecision::AlreadyInCall: {
            msg::Error e;
            e.code = ErrorCode::BadState;
            e.text = "already in a call";
            send(*caller, e);
            return;
        }
        case call_matcher::CallDecision::Offline: {
            ++rejectedOffline_;
            msg::Offline o;
            o.callee = callee;
            send(*caller, o);
            return;
        }
        case call_matcher::CallDecision::Busy: {
            ++rejectedBusy_;
            msg::Busy busy;
            busy.callee = callee;
            send(*caller, busy);
            return;
        }
        case call_matcher::CallDecision::CancelRingingAndRing:
            if (caller->call != 0) {
                const call_matcher::End end = call_matcher::glareEnd();
                endCall(caller->call, end.toCaller, end.toCallee);
            }
            [[fallthrough]];
        case call_matcher::CallDecision::Ring: {
            const std::string relay = ClusterMatcher::relayOf(match->calleeLocation);
            if (relay.empty() || relay == cluster_->relayId() || caller->call != 0) {
                // Moved here meanwhile, or a race with a local call: try again later.
                endInCluster(id, 60);
                ++rejectedOffline_;
                msg::Offline o;
                o.callee = callee;
                send(*caller, o);
                return;
            }
            ringRemote(*caller, callee, id, relay);
            return;
        }
        }
    });
}

void RelayServer::ringRemote(Connection& caller, const std::string& callee, const CallId& id,
                             const std::string& relay) {
    auto call = std::make_unique<CallState>();
    call->serial = nextId_++;
    call->id = id;
    call->caller = caller.id;
    call->callerName = caller.name;
    call->calleeName = callee;
    call->peerRelay = relay;
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
    ++callsTotal_;
    remoteCalls_[ClusterMatcher::hex(id)] = serial;
    ClusterSignal ring;
    ring.kind = ClusterSignal::Kind::Ring;
    ring.caller = caller.name;
    ring.callee = callee;
    ring.key = caller.key;
    ring.trunk = advertised_->toString();
    CallState& ref = *call;
    calls_.emplace(serial, std::move(call));
    LOG_INFO("'%s' calls '%s' on relay '%s'", caller.name.c_str(), callee.c_str(), relay.c_str());
    signalPeer(ref, std::move(ring));
}

void RelayServer::onRemoteRing(const ClusterSignal& s) {
    auto answer = [&](ClusterSignal::Kind kind) {
        ClusterSignal reply;
        reply.kind = kind;
        reply.call = s.call;
        signals_->send(s.from, std::move(reply));
    };
    if (CallState* existing = findRemoteCall(s.call)) {
        (void)existing; // a repeated ring: it rings already
        return;
    }
    auto id = registry_->connectionOf(s.callee);
    Connection* callee = id ? find(*id) : nullptr;
    if (!callee || callee->state != Connection::State::Registered) {
        endInCluster(s.call, 60);
        answer(ClusterSignal::Kind::Offline);
        return;
    }
    if (callee->call != 0) {
        // Busy here (a call on this relay the cluster had not seen yet).
        endInCluster(s.call, 60);
        answer(ClusterSignal::Kind::Busy);
        return;
    }
    auto call = std::make_unique<CallState>();
    call->serial = nextId_++;
    call->id = s.call;
    call->callee = callee->id;
    call->callerName = s.caller;
    call->calleeName = callee->name;
    call->peerRelay = s.from;
    call->remoteCaller = true;
    if (auto trunkAddress = SocketAddress::parse(s.trunk); trunkAddress.ok()) {
        call->peerTrunk = *trunkAddress;
    }
    const uint64_t serial = call->serial;
    // The caller's relay times the ring; this one ends it a little later by
    // itself in case that relay died (no ghost call).
    call->ringTimer =
        loop_->addTimer(config_.ringTimeout + std::chrono::seconds(2), [this, serial] {
            auto it = calls_.find(serial);
            if (it != calls_.end() && !it->second->active) {
                it->second->ringTimer = 0;
                endCall(serial, HangupReason::Timeout, HangupReason::Timeout);
            }
        });
    setCall(*callee, serial, LineState::Ringing);
    remoteCalls_[ClusterMatcher::hex(s.call)] = serial;
    calls_.emplace(serial, std::move(call));
    msg::IncomingCall incoming;
    incoming.callId = s.call;
    incoming.caller = s.caller;
    incoming.callerKey = s.key;
    LOG_INFO("'%s' on relay '%s' calls '%s'", s.caller.c_str(), s.from.c_str(),
             callee->name.c_str());
    send(*callee, incoming);
    ClusterSignal ringing;
    ringing.kind = ClusterSignal::Kind::Ringing;
    ringing.call = s.call;
    ringing.key = callee->key;
    ringing.trunk = advertised_->toString();
    signals_->send(s.from, std::move(ringing));
}

void RelayServer::acceptRemote(Connection& c, CallState& ringing) {
    const uint64_t serial = ringing.serial;
    const uint64_t connection = c.id;
    const CallId id = ringing.id;
    matcher_->accept(id, c.name, [this, serial, connection, id](bool ok) {
        auto it = calls_.find(serial);
        Connection* callee = find(connection);
        if (it == calls_.end() || it->second->active || !callee || callee->call != serial) {
            return; // ended meanwhile
        }
        CallState& call = *it->second;
        if (!ok) {
            // Timed out (or Redis is gone): nobody can be sure of the other side.
            endCall(serial, HangupReason::Timeout, HangupReason::Timeout);
            return;
        }
        loop_->cancelTimer(call.ringTimer);
        call.ringTimer = 0;
        call.active = true;
        registry_->setLine(callee->name, callee->id, LineState::InCall);
        // This relay picks both session ids; the caller's relay takes them.
        call.calleeSession = router_->unusedSessionId();
        do {
            call.callerSession = router_->unusedSessionId();
        } while (call.callerSession == call.calleeSession);
        routeRemote(call, callee->id);
        ++callsAnswered_;
        ClusterSignal accept;
        accept.kind = ClusterSignal::Kind::Accept;
        accept.callerSession = call.callerSession;
        accept.calleeSession = call.calleeSession;
        signalPeer(call, std::move(accept));
        msg::CallStarted started;
        started.callId = id;
        started.sessionId = call.calleeSession;
        started.role = CallRole::Callee;
        LOG_INFO("'%s' answered '%s' (relay '%s')", call.calleeName.c_str(),
                 call.callerName.c_str(), call.peerRelay.c_str());
        send(*callee, started);
        if (call.routed) {
            sendResumeToken(*callee, call, CallRole::Callee);
        }
    });
}

void RelayServer::routeRemote(CallState& call, uint64_t mine) {
    if (!call.peerTrunk || mediaThreads_.empty() || mediaThreads_.front()->sockets.empty()) {
        LOG_WARNING("call '%s' -> '%s': no trunk to relay '%s'; no media", call.callerName.c_str(),
                    call.calleeName.c_str(), call.peerRelay.c_str());
        return;
    }
    const bool caller = !call.remoteCaller;
    router_->addRemoteCall(caller ? call.callerSession : call.calleeSession, mine,
                           caller ? call.calleeSession : call.callerSession, *call.peerTrunk,
                           mediaThreads_.front()->sockets.front().get());
    call.routed = true;
}

void RelayServer::onClusterSignal(const ClusterSignal& s) {
    if (s.kind == ClusterSignal::Kind::Ring) {
        onRemoteRing(s);
        return;
    }
    if (s.kind == ClusterSignal::Kind::Replaced) {
        // The newest registration wins across relays too (relay/README.md, 4).
        Connection* old = s.calleeSession == cluster_->epoch() ? find(s.callerSession) : nullptr;
        if (old && old->state == Connection::State::Registered && old->name == s.callee) {
            LOG_INFO("'%s' registered again at relay '%s'; closing the old connection",
                     s.callee.c_str(), s.from.c_str());
            sendErrorAndClose(*old, ErrorCode::Replaced,
                              "'" + s.callee + "' was registered again from another connection");
        }
        return;
    }
    if (s.kind == ClusterSignal::Kind::Resume) {
        onRemoteResume(s); // from a relay the call is not at yet
        return;
    }
    CallState* call = findRemoteCall(s.call);
    if (!call || call->peerRelay != s.from) {
        return; // ended here already, or not that relay's: idempotent
    }
    const uint64_t serial = call->serial;
    Connection* mine = find(call->remoteCaller ? call->callee : call->caller);
    switch (s.kind) {
    case ClusterSignal::Kind::Ring:
    case ClusterSignal::Kind::Replaced:
    case ClusterSignal::Kind::Resume:
        return;
    case ClusterSignal::Kind::Resumed:
        onRemoteResumed(*call, s);
        return;
    case ClusterSignal::Kind::Ringing:
        if (!call->remoteCaller && !call->toldRinging && mine) {
            call->toldRinging = true;
            if (auto trunkAddress = SocketAddress::parse(s.trunk); trunkAddress.ok()) {
                call->peerTrunk = *trunkAddress;
            }
            msg::Ringing ringing;
            ringing.callId = call->id;
            ringing.callee = call->calleeName;
            ringing.calleeKey = s.key;
            send(*mine, ringing);
        }
        return;
    case ClusterSignal::Kind::Busy:
    case ClusterSignal::Kind::Offline: {
        if (call->remoteCaller || call->toldRinging) {
            return;
        }
        const std::string callee = call->calleeName;
        endCall(serial, std::nullopt, std::nullopt);
        if (mine) {
            if (s.kind == ClusterSignal::Kind::Busy) {
                ++rejectedBusy_;
                msg::Busy b;
                b.callee = callee;
                send(*mine, b);
            } else {
                ++rejectedOffline_;
                msg::Offline o;
                o.callee = callee;
                send(*mine, o);
            }
        }
        return;
    }
    case ClusterSignal::Kind::Accept: {
        if (call->remoteCaller || call->active || !mine) {
            return;
        }
        loop_->cancelTimer(call->ringTimer);
        call->ringTimer = 0;
        call->active = true;
        registry_->setLine(mine->name, mine->id, LineState::InCall);
        call->callerSession = s.callerSession;
        call->calleeSession = s.calleeSession;
        if (router_->contains(s.callerSession) || router_->contains(s.calleeSession)) {
            // 64-bit random ids colliding: end it rather than cross two calls.
            endCall(serial, HangupReason::Error, HangupReason::Error);
            return;
        }
        routeRemote(*call, mine->id);
        ++callsAnswered_;
        msg::CallStarted started;
        started.callId = call->id;
        started.sessionId = call->callerSession;
        started.role = CallRole::Caller;
        send(*mine, started);
        if (call->routed) {
            sendResumeToken(*mine, *call, CallRole::Caller);
        }
        return;
    }
    case ClusterSignal::Kind::Hangup:
        // The reason is for our side; the far side is not told again.
        endCall(serial, call->remoteCaller ? std::nullopt : std::optional(s.reason),
                call->remoteCaller ? std::optional(s.reason) : std::nullopt);
        return;
    case ClusterSignal::Kind::Handshake:
        if (mine && s.payload.size() >= 16 &&
            std::equal(call->id.begin(), call->id.end(), s.payload.begin())) {
            std::vector<uint8_t> out;
            if (appendFrame(out, FrameType::E2eHandshake, s.payload).ok()) {
                sendRaw(*mine, out);
            }
        }
        return;
    }
}

} // namespace voice
