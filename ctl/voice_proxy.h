// SPDX-License-Identifier: MIT
// VoiceProxy: voicectl's client of org.voiced.Voice1 over the generated proxy, signals as
// callbacks.
//
// Single-threaded: the connection passed in is processed by voicectl's own
// poll loop (no sdbus event-loop thread), so callbacks run inside
// IConnection::processPendingRequest() on the main thread.
#pragma once

#include "voice1_proxy.h"

#include <functional>
#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace voice::ctl {

inline constexpr const char* kBusName = "org.voiced.Voice1";
inline constexpr const char* kObjectPath = "/org/voiced/Voice1";

class VoiceProxy final
    : public sdbus::ProxyInterfaces<org::voiced::Voice1_proxy, sdbus::Properties_proxy> {
public:
    using PropertyMap = std::map<std::string, sdbus::Variant>;

    /// connection must be a session-bus connection (a proxy without one
    /// would open the system bus) and outlive the proxy.
    explicit VoiceProxy(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, kBusName, kObjectPath) {
        registerProxy();
    }
    ~VoiceProxy() { unregisterProxy(); }

    std::function<void(const std::string& peer, const std::string& fingerprint,
                       const std::string& sas)>
        incomingCallHandler;
    std::function<void(const std::string& state, const std::string& peer)> stateChangedHandler;
    std::function<void(const std::string& peer, const std::string& reason)> callEndedHandler;
    std::function<void(const PropertyMap& changed)> propertiesChangedHandler;

private:
    void onIncomingCall(const std::string& peer, const std::string& fingerprint,
                        const std::string& sas) override {
        if (incomingCallHandler) {
            incomingCallHandler(peer, fingerprint, sas);
        }
    }
    void onStateChanged(const std::string& state, const std::string& peer) override {
        if (stateChangedHandler) {
            stateChangedHandler(state, peer);
        }
    }
    void onCallEnded(const std::string& peer, const std::string& reason) override {
        if (callEndedHandler) {
            callEndedHandler(peer, reason);
        }
    }
    void onPropertiesChanged(const std::string& interfaceName, const PropertyMap& changed,
                             const std::vector<std::string>& /*invalidated*/) override {
        if (interfaceName == org::voiced::Voice1_proxy::INTERFACE_NAME &&
            propertiesChangedHandler) {
            propertiesChangedHandler(changed);
        }
    }
};

} // namespace voice::ctl
