// SPDX-License-Identifier: MIT
// DBusService: the org.voiced.Voice1 object on the session bus, over a CallControl.
//
// The generated adaptor (dbus/org.voiced.Voice1.xml) is implemented here: each
// method validates its arguments, delegates to CallControl and turns a
// refusal into the named error org.voiced.Voice1.Error.<Name>. No other
// exception ever leaves a handler (sdbus-c++ 1.2.0 would abort the process).
//
// Threads: D-Bus belongs to the control thread. The connection passed in
// must be processed (enterEventLoop, or getEventLoopPollData() +
// processPendingRequest() in the daemon's epoll loop) on that one thread;
// CallControl is called on it, and every notify method below must be called
// on it too. Other threads (audio, network workers) post to the control
// thread instead of calling in.
//
// Usage in voiced:
//   auto bus = sdbus::createSessionBusConnection();
//   DBusService service(*bus, control);       // registers the object
//   bus->requestName(DBusService::kBusName);  // then READY=1
//   ... control thread loop:
//       while (bus->processPendingRequest()) {}       // handlers run in here
//       auto pd = bus->getEventLoopPollData();         // re-read every round
//       watch pd.fd for pd.events, wake after pd.getPollTimeout() ms
//   The events (POLLOUT while writes are queued) and the timeout change after
//   each round, and a notify method called outside a handler may leave a
//   message queued, so run processPendingRequest() after calling one too.
//   (tests/dbus/bus_thread.cpp is a complete small example of such a loop.)
#pragma once

#include "call_control.h"
#include "call_history.h"
#include "call_state.h"
#include "peer_store.h"
#include "voice1_adaptor.h"

#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <tuple>
#include <vector>

namespace voice {

class DBusService final
    : public sdbus::AdaptorInterfaces<org::voiced::Voice1_adaptor, sdbus::Properties_adaptor> {
public:
    static constexpr const char* kBusName = "org.voiced.Voice1";
    static constexpr const char* kObjectPath = "/org/voiced/Voice1";
    static constexpr const char* kInterface = org::voiced::Voice1_adaptor::INTERFACE_NAME;
    /// Prefix of every error name this service returns.
    static constexpr const char* kErrorPrefix = "org.voiced.Voice1.Error.";

    /// Registers the object at kObjectPath on connection (does not request
    /// the bus name). control must outlive this object.
    DBusService(sdbus::IConnection& connection, CallControl& control);
    ~DBusService();

    DBusService(const DBusService&) = delete;
    DBusService& operator=(const DBusService&) = delete;

    // Notify methods: the daemon calls these (on the control thread) after
    // its model changed. They read CallControl::snapshot(), compare it with
    // what was last published and emit PropertiesChanged for the properties
    // that differ; they never throw (a failed emit is logged).

    /// State or peer changed: emits StateChanged(state, peer) and
    /// PropertiesChanged (State, Peer, and whatever else changed).
    void stateChanged();
    /// Call statistics changed: PropertiesChanged(Stats) if they differ.
    void statsUpdated();
    /// Registered, Registration, Muted, Name, Fingerprint or Sas changed.
    void propertiesChanged();
    /// A peer rings us: emits IncomingCall. Call stateChanged() first so
    /// State already reads "ringing" when the signal arrives.
    void incomingCall(const std::string& peer, const std::string& fingerprint,
                      const std::string& sas);
    /// A call or attempt ended: emits CallEnded(peer, reason), then does what
    /// stateChanged() does (so StateChanged("idle") follows CallEnded). Call
    /// it after the model is back in idle.
    void callEnded(const std::string& peer, EndReason reason);

    /// Where History() and Contacts() read from (either may stay null: empty
    /// lists). Both must outlive this object; control thread only.
    void setDirectory(const CallHistory* history, const PeerStore* peers) {
        history_ = history;
        peers_ = peers;
    }

    /// The sdbus::Error for a refusal (for tests and the daemon's own use).
    static sdbus::Error toDbusError(const CallResult& result);

private:
    // org.voiced.Voice1 methods
    void Call(const std::string& peer) override;
    void Answer() override;
    void Reject() override;
    void Hangup() override;
    void Register() override;
    std::map<std::string, sdbus::Variant> Status() override;
    void SetMuted(const bool& muted) override;
    void Trust(const std::string& peer, const std::string& fingerprint) override;
    std::tuple<std::string, std::string> Whoami() override;
    std::vector<std::map<std::string, sdbus::Variant>> History(const uint32_t& limit) override;
    std::vector<std::map<std::string, sdbus::Variant>> Contacts() override;

    // org.voiced.Voice1 properties
    std::string State() override;
    std::string Peer() override;
    bool Registered() override;
    std::string Registration() override;
    std::string RegistrationDetail() override;
    bool Muted() override;
    std::string Name() override;
    std::string Fingerprint() override;
    std::string Sas() override;
    std::map<std::string, sdbus::Variant> Stats() override;

    CallSnapshot snapshot();
    void publish();

    CallControl& control_;
    CallSnapshot published_; ///< what subscribers last heard about
    const CallHistory* history_ = nullptr;
    const PeerStore* peers_ = nullptr;
};

/// The D-Bus form of CallStats (the Stats property): an empty map without stats.
std::map<std::string, sdbus::Variant> statsToDbus(const std::optional<CallStats>& stats);

} // namespace voice
