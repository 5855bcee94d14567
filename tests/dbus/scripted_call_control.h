// SPDX-License-Identifier: MIT
// ScriptedCallControl (tests): a CallControl double driven by a real CallStateMachine and a script.
//
// Lives on the BusThread's loop thread like the real daemon's control object:
// every method, including the test-side ones below, is called there (the
// test uses BusThread::runSync), so it needs no lock.
#pragma once

#include "call_control.h"
#include "call_state.h"
#include "dbus_service.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace voice::test {

class ScriptedCallControl final : public CallControl {
public:
    // ---- wiring ----
    DBusService* service = nullptr;                   ///< notified of every change
    std::function<void(std::function<void()>)> later; ///< posts to the loop thread

    // ---- script ----
    /// call(peer) is refused at once with this result.
    std::map<std::string, CallResult> refuseCall;
    /// call(peer) succeeds, then (posted, after the reply) the call ends with this reason.
    std::map<std::string, EndReason> endAfterCall;
    /// call(peer) succeeds, then (posted) loses glare: ends busy and peer rings us.
    std::map<std::string, bool> glareAfterCall;
    /// call() throws a non-D-Bus exception (the adaptor must contain it).
    bool throwOnCall = false;
    std::string name = "alice";
    std::string fingerprint = "0123 4567 89ab cdef 0123 4567 89ab cdef";
    std::optional<CallStats> stats;
    std::string sas; ///< of the current call (set by ring()); shown while not idle
    /// Registration and its detail as the snapshot shows them.
    std::string registration = "connecting";
    std::string registrationDetail;
    /// reregister() leaves the registration as it is (the relay refuses again).
    bool refuseRegister = false;

    // ---- what happened ----
    std::vector<std::string> log; ///< "call bob", "trust bob <fp>", "hangup", ...
    bool muted = false;
    CallStateMachine machine;

    // ---- the peer side, driven by the test ----
    void ring(const std::string& peer, const std::string& peerFingerprint, const std::string& sas);
    void peerAnswers();
    void peerEnds(EndReason reason);
    void setRegistered(bool registered);
    void setStats(std::optional<CallStats> newStats);

    // ---- CallControl ----
    CallResult call(const std::string& peer) override;
    CallResult answer() override;
    CallResult reject() override;
    CallResult hangup() override;
    CallResult setMuted(bool mute) override;
    CallResult trust(const std::string& peer, const std::string& fp) override;
    CallResult reregister() override;
    CallSnapshot snapshot() const override;

private:
    CallResult apply(const CallEvent& event);
};

} // namespace voice::test
