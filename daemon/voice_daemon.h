// SPDX-License-Identifier: MIT
// VoiceDaemon: wires voiced together: identity and pins, the relay connection, the call manager,
// D-Bus, signals and systemd.
//
// Threads: construct and run() on one thread, which becomes the control
// thread (EventLoop, relay connection, D-Bus). The audio threads are the
// AudioPipeline's; signals are blocked before any of them starts.
#pragma once

#include "call_history.h"
#include "call_manager.h"
#include "call_tones.h"
#include "crypto/identity.h"
#include "daemon_config.h"
#include "desktop_notifier.h"
#include "net/event_loop.h"
#include "net/known_relays.h"
#include "peer_store.h"
#include "relay_client.h"

#include <memory>
#include <sdbus-c++/sdbus-c++.h>

namespace voice {

class DBusService;

class VoiceDaemon {
public:
    /// Loads the identity (creating it on first start) and the pin files.
    static Result<std::unique_ptr<VoiceDaemon>> create(DaemonConfig config);
    ~VoiceDaemon();
    VoiceDaemon(const VoiceDaemon&) = delete;
    VoiceDaemon& operator=(const VoiceDaemon&) = delete;

    /// Connects to the bus (owning org.voiced.Voice1) and the relay, then
    /// serves until SIGTERM/SIGINT (exit status 0) or a fatal error (1).
    int run();

private:
    VoiceDaemon(DaemonConfig config, Identity identity, KnownRelays relays, PeerStore peers);
    void onSignal(int signal);
    void feedWatchdog();

    DaemonConfig config_;
    Identity identity_;
    KnownRelays knownRelays_;
    PeerStore peers_;
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<RelayClient> relay_;
    std::unique_ptr<CallManager> calls_;
    std::unique_ptr<CallHistory> history_;
    std::unique_ptr<CallTones> tones_; ///< null with ring = off
    std::unique_ptr<sdbus::IConnection> bus_;
    std::unique_ptr<DBusService> service_;
    std::unique_ptr<DesktopNotifier> notifier_; ///< null with notifications = off
    bool stopping_ = false;
    bool quit_ = false; ///< leave the control loop after this round
    int exitCode_ = 0;
};

} // namespace voice
