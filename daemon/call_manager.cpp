// SPDX-License-Identifier: MIT
// CallManager: voiced's CallControl over the relay, the handshake and the audio pipeline.
#include "call_manager.h"

#include "core/log.h"
#include "dbus_service.h"
#include "peer_names.h"

#include <algorithm>

namespace voice {

CallManager::ActiveCall::ActiveCall() = default;

namespace {

constexpr std::chrono::seconds kStatsInterval{1};

EndReason endReasonFor(HangupReason r) {
    switch (r) {
    case HangupReason::Normal:
        return EndReason::Hangup;
    case HangupReason::Declined:
        return EndReason::Declined;
    case HangupReason::Busy:
        return EndReason::Busy;
    case HangupReason::Offline:
        return EndReason::Offline;
    case HangupReason::Timeout:
        return EndReason::Timeout;
    case HangupReason::PeerLost:
        return EndReason::PeerLost;
    case HangupReason::Untrusted:
        return EndReason::Untrusted;
    case HangupReason::Error:
        return EndReason::Error;
    }
    return EndReason::Error;
}

std::string fingerprintOfKey(const IdentityKey& key) {
    return Identity::fingerprintOf(key);
}

} // namespace

CallManager::CallManager(EventLoop& loop, const DaemonConfig& config, const Identity& identity,
                         PeerStore& peers, RelayClient& relay)
    : loop_(loop), config_(config), identity_(identity), peers_(peers), relay_(relay) {}

CallManager::~CallManager() {
    stopMedia();
}

CallSnapshot CallManager::snapshot() const {
    CallSnapshot s;
    s.state = machine_.state();
    s.peer = machine_.peer();
    s.registered = machine_.registered();
    s.registration = std::string(RelayClient::stateName(relay_.state()));
    s.registrationDetail = relay_.stopDetail();
    s.muted = muted_;
    s.name = config_.name;
    s.fingerprint = identity_.fingerprint();
    if (machine_.state() != CallState::Idle) {
        s.stats = stats_;
        if (call_) {
            s.sas = call_->sas;
        }
    }
    return s;
}

void CallManager::notifyState() {
    if (service_ != nullptr) {
        service_->stateChanged();
    }
}

CallRecord CallManager::recordOfCall() const {
    CallRecord r;
    if (call_) {
        r.outgoing = call_->caller;
        r.start = call_->startedAt;
        r.answered = call_->answered;
        r.pin = call_->pin;
        if (call_->answered) {
            r.durationS =
                static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::steady_clock::now() - call_->answeredAt)
                                          .count());
        }
    }
    return r;
}

void CallManager::notifyEnded(CallRecord record, const std::string& peer, EndReason reason) {
    record.peer = peer;
    record.reason = reason;
    tellObservers([&](CallObserver& o) { o.ended(record); });
}

// ---------------------------------------------------------------- D-Bus requests

CallResult CallManager::call(const std::string& peer) {
    if (peer == config_.name) {
        return {CallError::InvalidArgument, "cannot call yourself"};
    }
    if (machine_.state() == CallState::Idle && machine_.registered() && !relay_.canStartCall()) {
        // Refused here, before anything is sent: past the relay's message
        // limit the relay would drop our connection and our registration.
        return {CallError::RateLimited,
                "calls come faster than the relay's message limit allows; try again in a moment"};
    }
    CallTransition t = machine_.apply(CallEvent::dial(peer));
    if (!t.result.ok()) {
        return t.result;
    }
    call_.emplace();
    call_->caller = true;
    msg::Call m;
    m.callee = peer;
    if (!relay_.send(m)) {
        machine_.apply(CallEvent::ended(EndReason::Error));
        call_.reset();
        return {CallError::NotRegistered, "the relay connection is down"};
    }
    unanswered_.push_back({peer, false});
    LOG_INFO("calling %s", peer.c_str());
    notifyState();
    return CallResult::success();
}

CallResult CallManager::answer() {
    CallTransition t = machine_.apply(CallEvent::of(CallEventKind::Answer));
    if (!t.result.ok()) {
        return t.result;
    }
    msg::Accept a;
    a.callId = call_->id;
    relay_.send(a);
    call_->answered = true;
    call_->answeredAt = std::chrono::steady_clock::now();
    LOG_INFO("answered the call from %s", t.peer.c_str());
    notifyState();
    tellObservers([&](CallObserver& o) { o.answered(t.peer); });
    return CallResult::success();
}

CallResult CallManager::reject() {
    if (machine_.state() != CallState::Ringing) {
        return {CallError::InvalidState, "no call is ringing"};
    }
    msg::Reject r;
    r.callId = call_->id;
    relay_.send(r);
    CallTransition t = machine_.apply(CallEvent::of(CallEventKind::Reject));
    stopMedia();
    CallRecord record = recordOfCall();
    call_.reset();
    stats_.reset();
    if (service_ != nullptr) {
        service_->callEnded(t.peer, t.ended.value_or(EndReason::Declined));
    }
    notifyEnded(std::move(record), t.peer, t.ended.value_or(EndReason::Declined));
    return t.result;
}

CallResult CallManager::hangup() {
    if (machine_.state() == CallState::Idle) {
        return {CallError::InvalidState, "no call to hang up"};
    }
    if (machine_.state() == CallState::Ringing) {
        return reject();
    }
    endCall(EndReason::Hangup, HangupReason::Normal);
    return CallResult::success();
}

CallResult CallManager::setMuted(bool muted) {
    muted_ = muted;
    if (call_ && call_->pipeline) {
        call_->pipeline->setMuted(muted);
    }
    if (service_ != nullptr) {
        service_->propertiesChanged();
    }
    return CallResult::success();
}

CallResult CallManager::trust(const std::string& peer, const std::string& fingerprint) {
    std::string fp = fingerprint;
    if (fp.empty()) {
        if (peer != lastPeer_ || lastPeerFingerprint_.empty()) {
            return {CallError::InvalidArgument,
                    "no key seen from " + peer + " yet; pass its fingerprint"};
        }
        fp = lastPeerFingerprint_;
    }
    // Typed by the user (after comparing it) counts as verified; accepting
    // the key a call presented does not.
    Status s = peers_.trust(peer, fp, !fingerprint.empty());
    if (!s.ok()) {
        return {CallError::Failed, s.toString()};
    }
    LOG_NOTICE("trusting %s with key %s", peer.c_str(), fp.c_str());
    return CallResult::success();
}

CallResult CallManager::reregister() {
    relay_.registerNow();
    if (service_ != nullptr) {
        service_->propertiesChanged();
    }
    return CallResult::success();
}

// ---------------------------------------------------------------- relay events

void CallManager::onRegistrationStopped() {
    // No reconnect is coming, so a call held for resuming cannot come back.
    if (call_ && call_->away) {
        endCall(EndReason::PeerLost, std::nullopt);
    }
    if (service_ != nullptr) {
        service_->propertiesChanged();
    }
}

std::optional<bool> CallManager::takeAnswer() {
    if (unanswered_.empty()) {
        return std::nullopt;
    }
    const bool cancelled = unanswered_.front().cancelled;
    unanswered_.pop_front();
    return cancelled;
}

void CallManager::onRegistered(const msg::Registered&) {
    machine_.setRegistered(true);
    if (call_ && call_->away) {
        // Back at a relay (maybe a restarted one): ask for our call back.
        // No ring, no handshake: keys and media session stay as they were.
        msg::Resume r;
        r.callId = call_->id;
        r.token = call_->resumeToken;
        LOG_INFO("resuming the call with %s at the relay", machine_.peer().c_str());
        relay_.send(r);
    }
    if (service_ != nullptr) {
        service_->propertiesChanged();
    }
}

void CallManager::onRelayLost() {
    const bool was = machine_.registered();
    machine_.setRegistered(false);
    unanswered_.clear(); // a new connection answers nothing of the old one
    if (call_ && call_->away) {
        // Lost again while resuming: keep waiting (the bound still runs).
    } else if (call_ && call_->pipeline && !call_->resumeToken.empty()) {
        // Media runs with agreed keys: hold the call while we reconnect and
        // resume it (a relay restart or an address change must not end it).
        call_->away = true;
        call_->awaySince = std::chrono::steady_clock::now();
        relay_.setFastReconnect(true);
        LOG_WARNING("relay connection lost mid-call; holding the call with %s for up to %lld s",
                    machine_.peer().c_str(), static_cast<long long>(kResumeBound.count()));
        const CallId id = call_->id;
        awayTimer_ = loop_.addTimer(kResumeBound, [this, id] {
            awayTimer_ = 0;
            if (sameCall(id) && call_->away) {
                LOG_WARNING("could not resume the call at the relay in time");
                endCall(EndReason::PeerLost, std::nullopt);
            }
        });
    } else if (machine_.state() != CallState::Idle) {
        // Nothing to resume (still ringing or handshaking): the relay ends
        // such calls when our connection drops, so end ours too.
        endCall(EndReason::PeerLost, std::nullopt);
    }
    if (was && service_ != nullptr) {
        service_->propertiesChanged();
    }
}

void CallManager::leaveAway() {
    if (awayTimer_ != 0) {
        loop_.cancelTimer(awayTimer_);
        awayTimer_ = 0;
    }
    relay_.setFastReconnect(false);
    if (call_) {
        call_->away = false;
    }
}

void CallManager::handleResumeToken(const msg::ResumeToken& m) {
    if (!sameCall(m.callId) || !call_->started) {
        return;
    }
    call_->resumeToken = m.token;
    // A new route key with every token (call start, every resume, a relay
    // restart): probe with it at once so the relay (re)learns our address.
    call_->routeKey = SecureBytes(m.routeKey);
    if (call_->transport) {
        if (!config_.mediaRelay && !config_.forceTunnel) {
            // Resumed at another relay of a cluster (ours died): media goes
            // there now. The same relay: nothing changes.
            if (Status s = call_->transport->retarget(relay_.mediaAddress()); !s.ok()) {
                LOG_WARNING("media stays in the tunnel: %s", s.toString().c_str());
            }
        }
        call_->transport->setRouteKey(call_->routeKey.span());
        call_->transport->sendProbe();
    }
    if (call_->away) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - call_->awaySince)
                            .count();
        leaveAway();
        LOG_NOTICE("call with %s resumed at the relay after %lld ms away", machine_.peer().c_str(),
                   static_cast<long long>(ms));
    }
}

bool CallManager::sameCall(const CallId& id) const {
    return call_ && call_->haveId && call_->id == id;
}

void CallManager::onRelayMessage(const msg::Message& message) {
    std::visit(
        msg::Overloaded{
            [this](const msg::Ringing& m) { handleRinging(m); },
            [this](const msg::IncomingCall& m) { handleIncoming(m); },
            [this](const msg::CallStarted& m) { handleCallStarted(m); },
            [this](const msg::Hangup& m) { handleHangup(m); },
            [this](const msg::E2eHandshake& m) { handleHandshake(m); },
            [this](const msg::MediaTunnel& m) { handleTunnel(m); },
            [this](const msg::ResumeToken& m) { handleResumeToken(m); },
            [this](const msg::ProbeRequest& m) {
                // The relay saw our media from a new address: show it where we are.
                if (sameCall(m.callId) && call_->transport) {
                    call_->transport->sendProbe();
                }
            },
            [this](const msg::Busy& m) {
                const auto cancelled = takeAnswer();
                if (cancelled && !*cancelled && machine_.state() == CallState::Calling &&
                    machine_.peer() == m.callee) {
                    endCall(EndReason::Busy, std::nullopt);
                }
            },
            [this](const msg::Unavailable& m) {
                const auto cancelled = takeAnswer();
                if (cancelled && !*cancelled && machine_.state() == CallState::Calling &&
                    machine_.peer() == m.callee) {
                    endCall(EndReason::Unavailable, std::nullopt);
                }
            },
            [this](const msg::Offline& m) {
                const auto cancelled = takeAnswer();
                if (cancelled && !*cancelled && machine_.state() == CallState::Calling &&
                    machine_.peer() == m.callee) {
                    endCall(EndReason::Offline, std::nullopt);
                }
            },
            [this](const msg::Error& m) {
                LOG_WARNING("relay error %s: %s", std::string(errorCodeName(m.code)).c_str(),
                            m.text.c_str());
                const bool callAnswer = m.code == ErrorCode::BadState && !unanswered_.empty();
                if (callAnswer) {
                    // The relay refused a Call ("already in a call").
                    const auto cancelled = takeAnswer();
                    if (!*cancelled && machine_.state() == CallState::Calling && call_ &&
                        !call_->haveId) {
                        endCall(EndReason::Error, std::nullopt);
                    }
                } else if (m.code != ErrorCode::UnknownCall &&
                           machine_.state() == CallState::Calling && call_ && !call_->haveId) {
                    endCall(EndReason::Error, std::nullopt);
                } else if (call_ && call_->away && machine_.registered()) {
                    // The relay refused our Resume: the call cannot come back.
                    endCall(EndReason::PeerLost, std::nullopt);
                }
            },
            [](const auto&) {},
        },
        message);
}

bool CallManager::checkPin(const std::string& peer, const std::string& fingerprint) {
    lastPeer_ = peer;
    lastPeerFingerprint_ = fingerprint;
    auto verdict = peers_.check(peer, fingerprint);
    if (call_ && verdict.ok()) {
        call_->pin = *verdict == PeerStore::Verdict::FirstUse ? PinState::New
                     : *verdict == PeerStore::Verdict::Changed
                         ? PinState::Changed
                         : (peers_.verified(peer) ? PinState::Verified : PinState::Known);
    }
    if (!verdict.ok()) {
        LOG_ERROR("peer pins: %s", verdict.status().toString().c_str());
        return true; // cannot save: carry on with the key the relay vouched for
    }
    if (*verdict == PeerStore::Verdict::FirstUse) {
        LOG_NOTICE("pinned %s's key %s (first call)", peer.c_str(), fingerprint.c_str());
    } else if (*verdict == PeerStore::Verdict::Changed) {
        LOG_ERROR("%s presents key %s, but %s is pinned: refusing the call (voicectl trust %s "
                  "to accept the new key)",
                  peer.c_str(), fingerprint.c_str(), peers_.pinned(peer).c_str(), peer.c_str());
        return false;
    }
    return true;
}

void CallManager::handleRinging(const msg::Ringing& m) {
    const auto cancelled = takeAnswer();
    if (!cancelled) {
        return; // we asked for no call
    }
    if (*cancelled || machine_.state() != CallState::Calling || !call_ || call_->haveId ||
        m.callee != machine_.peer()) {
        // We hung up before the relay named the call (or it lost glare): cancel it now.
        msg::Hangup h;
        h.callId = m.callId;
        h.reason = HangupReason::Normal;
        relay_.send(h);
        return;
    }
    call_->haveId = true;
    call_->id = m.callId;
    call_->peerFingerprint = fingerprintOfKey(m.calleeKey);
    if (!checkPin(m.callee, call_->peerFingerprint)) {
        endCall(EndReason::Untrusted, HangupReason::Untrusted);
        return;
    }
    startHandshake();
    if (!call_) {
        return;
    }
    tellObservers([&](CallObserver& o) { o.outgoingRinging(m.callee); });
    // Our own ring timeout (the relay has one too; whichever is shorter wins).
    const CallId id = m.callId;
    ringTimer_ = loop_.addTimer(config_.ringTimeout, [this, id] {
        ringTimer_ = 0;
        if (machine_.state() == CallState::Calling && sameCall(id)) {
            endCall(EndReason::Timeout, HangupReason::Timeout);
        }
    });
}

void CallManager::handleIncoming(const msg::IncomingCall& m) {
    if (machine_.state() == CallState::Calling && call_ && call_->caller &&
        machine_.peer() == m.caller && m.caller < config_.name) {
        // Glare: the peer called us while we called it. The relay's rule
        // (relay/README.md) lets the call from the smaller name ring and
        // answers the other Busy: that is theirs, so ours is cancelled and
        // theirs rings here. Refusing it as busy would leave no call at all.
        LOG_INFO("glare: %s calls us while we call it; its call wins (smaller name), ours is "
                 "cancelled",
                 m.caller.c_str());
        endCall(EndReason::Busy, HangupReason::Normal);
    }
    CallTransition t = machine_.apply(CallEvent::incoming(m.caller));
    if (!t.result.ok()) {
        // One call at a time (the relay refuses busy callees too).
        msg::Hangup h;
        h.callId = m.callId;
        h.reason = HangupReason::Busy;
        relay_.send(h);
        CallRecord busy;
        busy.start = std::chrono::system_clock::now();
        notifyEnded(std::move(busy), m.caller, EndReason::Busy);
        return;
    }
    call_.emplace();
    call_->haveId = true;
    call_->id = m.callId;
    call_->caller = false;
    call_->peerFingerprint = fingerprintOfKey(m.callerKey);
    if (!checkPin(m.caller, call_->peerFingerprint)) {
        notifyState();
        endCall(EndReason::Untrusted, HangupReason::Untrusted);
        return;
    }
    LOG_INFO("incoming call from %s", m.caller.c_str());
    // IncomingCall is signalled once the caller's hello gave us the SAS
    // (announceIncoming()); State already reads "ringing".
    notifyState();
}

void CallManager::announceIncoming() {
    if (call_->announced) {
        return;
    }
    call_->announced = true;
    const std::string peer = machine_.peer();
    if (machine_.state() != CallState::Ringing) {
        return; // answered before the hello arrived: nothing left to announce
    }
    if (service_ != nullptr) {
        service_->propertiesChanged(); // Sas
        service_->incomingCall(peer, call_->peerFingerprint, call_->sas);
    }
    tellObservers([&](CallObserver& o) {
        o.incomingRinging(peer, call_->peerFingerprint, call_->pin, call_->sas);
    });
    if (config_.autoAnswers(peer)) {
        const CallId id = call_->id;
        loop_.addTimer(std::chrono::milliseconds(0), [this, id] {
            if (machine_.state() == CallState::Ringing && sameCall(id)) {
                LOG_INFO("auto-answering");
                (void)answer();
            }
        });
    }
}

void CallManager::startHandshake() {
    auto hs = Handshake::create(HandshakeRole::Caller, identity_, call_->id, {config_.cipher},
                                ownMediaFormat());
    if (!hs.ok()) {
        failCall(hs.status().toString());
        return;
    }
    call_->handshake.emplace(std::move(*hs));
    auto hello = call_->handshake->start();
    if (!hello.ok()) {
        failCall(hello.status().toString());
        return;
    }
    msg::E2eHandshake out;
    out.callId = call_->id;
    out.bytes = std::move(*hello);
    relay_.send(out);
}

void CallManager::handleCallStarted(const msg::CallStarted& m) {
    if (!sameCall(m.callId) || call_->started) {
        return;
    }
    call_->started = true;
    call_->sessionId = m.sessionId;
    if (call_->caller) {
        CallTransition t = machine_.apply(CallEvent::of(CallEventKind::PeerAnswered));
        if (!t.result.ok()) {
            return;
        }
        call_->answered = true;
        call_->answeredAt = std::chrono::steady_clock::now();
        notifyState();
        tellObservers([&](CallObserver& o) { o.answered(machine_.peer()); });
    }
    stats_ = CallStats{};
    if (statsTimer_ == 0) {
        statsTimer_ = loop_.addRepeatingTimer(kStatsInterval, [this] { updateStats(); });
    }
    maybeStartMedia();
}

void CallManager::handleHangup(const msg::Hangup& m) {
    if (!sameCall(m.callId)) {
        return;
    }
    endCall(endReasonFor(m.reason), std::nullopt);
}

void CallManager::failCall(const std::string& why) {
    LOG_ERROR("call with %s failed: %s", machine_.peer().c_str(), why.c_str());
    endCall(EndReason::Error, HangupReason::Error);
}

void CallManager::endCall(EndReason reason, std::optional<HangupReason> tellRelay) {
    if (ringTimer_ != 0) {
        loop_.cancelTimer(ringTimer_);
        ringTimer_ = 0;
    }
    if (call_ && call_->away) {
        leaveAway();
    }
    if (tellRelay && call_ && call_->caller && !call_->haveId && !unanswered_.empty()) {
        unanswered_.back().cancelled = true; // its answer gets a Hangup (Ringing) or is ignored
    }
    if (tellRelay && call_ && call_->haveId) {
        msg::Hangup h;
        h.callId = call_->id;
        h.reason = *tellRelay;
        relay_.send(h);
    }
    stopMedia();
    CallTransition t = reason == EndReason::Hangup && tellRelay
                           ? machine_.apply(CallEvent::of(CallEventKind::Hangup))
                           : machine_.apply(CallEvent::ended(reason));
    CallRecord record = recordOfCall();
    call_.reset();
    stats_.reset();
    if (!t.result.ok()) {
        return;
    }
    LOG_INFO("call with %s ended: %s", t.peer.c_str(),
             std::string(endReasonName(t.ended.value_or(reason))).c_str());
    if (service_ != nullptr) {
        service_->callEnded(t.peer, t.ended.value_or(reason));
    }
    notifyEnded(std::move(record), t.peer, t.ended.value_or(reason));
}

void CallManager::shutdown() {
    if (machine_.state() != CallState::Idle) {
        (void)hangup();
    }
    stopMedia();
}

} // namespace voice
