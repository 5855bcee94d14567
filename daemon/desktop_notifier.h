// SPDX-License-Identifier: MIT
// DesktopNotifier: incoming and missed calls as desktop notifications
// (org.freedesktop.Notifications, the Desktop Notifications spec), with Answer and Decline actions
// that answer or reject the call.
//
// Talks to whatever notification server owns org.freedesktop.Notifications
// on voiced's own session-bus connection, only asynchronously with a short
// timeout: a missing, slow or broken server shows nothing and never blocks
// the control thread (a debug line says why). A server without the
// "actions" capability gets a plain notification.
//
// Threads: control thread only (CallObserver callbacks, and D-Bus replies and
// signals dispatched by the control loop's processPendingRequest()).
#pragma once

#include "call_control.h"
#include "call_observer.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace voice {

class DesktopNotifier final : public CallObserver {
public:
    static constexpr const char* kService = "org.freedesktop.Notifications";
    static constexpr const char* kPath = "/org/freedesktop/Notifications";
    static constexpr const char* kInterface = "org.freedesktop.Notifications";
    /// How long a notification server may take to answer one call.
    static constexpr std::chrono::milliseconds kTimeout{2000};

    /// connection: voiced's session bus (processed by the control loop);
    /// control answers and rejects calls. Both must outlive this object.
    DesktopNotifier(sdbus::IConnection& connection, CallControl& control);
    ~DesktopNotifier() override;
    DesktopNotifier(const DesktopNotifier&) = delete;
    DesktopNotifier& operator=(const DesktopNotifier&) = delete;

    // CallObserver
    void incomingRinging(const std::string& peer, const std::string& fingerprint, PinState pin,
                         const std::string& sas) override;
    void answered(const std::string& peer) override;
    void ended(const CallRecord& record) override;

private:
    struct Note {
        std::string summary;
        std::string body;
        std::string icon;
        std::uint8_t urgency = 1; ///< 0 low, 1 normal, 2 critical
        bool callActions = false; ///< Answer / Decline
        std::int32_t expireMs = -1;
    };

    using ReplyHandler = std::function<void(sdbus::MethodReply&)>;
    /// One asynchronous call with kTimeout; onReply runs for a good reply
    /// (its exceptions are caught), a failure is one debug line.
    void callAsync(const char* method, const std::function<void(sdbus::MethodCall&)>& args,
                   ReplyHandler onReply);
    /// Shows note; forRing: it is the ringing call's note (generation says which call).
    void notify(const Note& note, bool forRing, std::uint64_t generation);
    void closeRing();
    void onActionInvoked(sdbus::Signal& signal);
    void onClosed(sdbus::Signal& signal);

    CallControl& control_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    /// The ringing call's note: its id once the server answered, 0 before.
    std::uint32_t ringId_ = 0;
    /// Counts incoming calls: a late reply for an earlier call closes its note at once.
    std::uint64_t generation_ = 0;
    bool ringing_ = false;
    Note ringNote_;
};

} // namespace voice
