// SPDX-License-Identifier: MIT
// ScriptedCallControl (tests): a CallControl double over a real CallStateMachine.
#include "scripted_call_control.h"

#include <stdexcept>

namespace voice::test {

CallResult ScriptedCallControl::apply(const CallEvent& event) {
    const CallTransition t = machine.apply(event);
    if (!t.result.ok()) {
        return t.result;
    }
    if (service) {
        if (t.ended) {
            service->callEnded(t.peer, *t.ended);
        } else {
            service->stateChanged();
        }
    }
    return t.result;
}

void ScriptedCallControl::ring(const std::string& peer, const std::string& peerFingerprint,
                               const std::string& callSas) {
    if (apply(CallEvent::incoming(peer)).ok() && service) {
        sas = callSas;
        service->incomingCall(peer, peerFingerprint, sas);
    }
}

void ScriptedCallControl::peerAnswers() {
    (void)apply(CallEvent::of(CallEventKind::PeerAnswered));
}

void ScriptedCallControl::peerEnds(EndReason reason) {
    (void)apply(CallEvent::ended(reason));
}

void ScriptedCallControl::setRegistered(bool registered) {
    machine.setRegistered(registered);
    if (service) {
        service->propertiesChanged();
    }
}

void ScriptedCallControl::setStats(std::optional<CallStats> newStats) {
    stats = std::move(newStats);
    if (service) {
        service->statsUpdated();
    }
}

CallResult ScriptedCallControl::call(const std::string& peer) {
    log.push_back("call " + peer);
    if (throwOnCall) {
        throw std::runtime_error("scripted failure");
    }
    if (auto it = refuseCall.find(peer); it != refuseCall.end()) {
        return it->second;
    }
    CallResult r = apply(CallEvent::dial(peer));
    if (r.ok()) {
        if (auto it = endAfterCall.find(peer); it != endAfterCall.end() && later) {
            const EndReason reason = it->second;
            later([this, reason] { peerEnds(reason); });
        }
        if (glareAfterCall.count(peer) != 0 && later) {
            later([this, peer] {
                peerEnds(EndReason::Busy);
                ring(peer, "", "123456");
            });
        }
    }
    return r;
}

CallResult ScriptedCallControl::answer() {
    log.emplace_back("answer");
    return apply(CallEvent::of(CallEventKind::Answer));
}

CallResult ScriptedCallControl::reject() {
    log.emplace_back("reject");
    return apply(CallEvent::of(CallEventKind::Reject));
}

CallResult ScriptedCallControl::hangup() {
    log.emplace_back("hangup");
    return apply(CallEvent::of(CallEventKind::Hangup));
}

CallResult ScriptedCallControl::setMuted(bool mute) {
    log.push_back(mute ? "mute" : "unmute");
    muted = mute;
    if (service) {
        service->propertiesChanged();
    }
    return CallResult::success();
}

CallResult ScriptedCallControl::trust(const std::string& peer, const std::string& fp) {
    log.push_back("trust " + peer + " " + fp);
    if (fp.empty() && peer == "stranger") {
        return {CallError::InvalidState, "no key seen from stranger yet"};
    }
    return CallResult::success();
}

CallResult ScriptedCallControl::reregister() {
    log.push_back("register");
    if (!refuseRegister) {
        registration = "registered";
        registrationDetail.clear();
        machine.setRegistered(true);
        if (service) {
            service->propertiesChanged();
        }
    }
    return CallResult::success();
}

CallSnapshot ScriptedCallControl::snapshot() const {
    CallSnapshot s;
    s.registration = registration;
    s.registrationDetail = registrationDetail;
    s.state = machine.state();
    s.peer = machine.peer();
    s.registered = machine.registered();
    s.muted = muted;
    s.name = name;
    s.fingerprint = fingerprint;
    if (machine.state() == CallState::InCall) {
        s.stats = stats;
    }
    if (machine.state() != CallState::Idle) {
        s.sas = sas;
    }
    return s;
}

} // namespace voice::test
