// SPDX-License-Identifier: MIT
// RelayClient: voiced's control connection to voice-relayd: TLS with a pinned key, registration,
// keepalives, reconnects.
//
// Threads: control thread only (it lives on the daemon's EventLoop). The
// connection is kept up for the daemon's lifetime: after any loss it
// reconnects with a capped, jittered back-off (ReconnectBackoff: at most
// 3 s). Two outcomes stop the retries until registerNow(): the relay
// refused the registration (name taken, not allowed...: State::Refused) or
// another connection registered the same name and key (another device:
// State::Replaced); onStopped reports them. A relay whose key differs from
// the pin is not retried: onFatal reports it. Every frame goes through a
// SendPacer, so voiced never trips the relay's message limit.
//
// Several relays (relay = a:7000, b:7000: one cluster): one connection at a
// time, to the current one. An attempt that fails before registering moves
// on to the next relay; losing an established registration retries the same
// relay once first (a restarted relay gives the call back by resume there),
// then moves on. Each relay's key is pinned on its own.
#pragma once

#include "crypto/identity.h"
#include "daemon_config.h"
#include "net/event_loop.h"
#include "net/known_relays.h"
#include "net/socket.h"
#include "net/tls.h"
#include "net/tls_stream.h"
#include "reconnect_backoff.h"
#include "send_pacer.h"
#include "wire/frame.h"
#include "wire/messages.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace voice {

class RelayClient {
public:
    enum class State {
        Connecting, ///< connecting, registering or waiting to retry
        Registered,
        Replaced, ///< the same name and key registered elsewhere; no retries
        Refused,  ///< the relay refused the name or key; no retries
    };
    /// "connecting", "registered", "replaced", "refused" (the D-Bus Registration values).
    static std::string_view stateName(State state);

    /// Frames a new call costs us at most (call, two handshake frames, hangup).
    static constexpr double kCallFrames = 4;

    struct Handlers {
        /// Registration accepted (also after every reconnect).
        std::function<void(const msg::Registered&)> onRegistered;
        /// Any message after registration (not keepalive traffic).
        std::function<void(const msg::Message&)> onMessage;
        /// The connection went away (we were registered before or not).
        std::function<void(const Status&)> onLost;
        /// Something retrying cannot fix and voiced cannot run without (changed relay key).
        std::function<void(const Status&)> onFatal;
        /// Retries stopped (Replaced or Refused; detail says why), after onLost.
        std::function<void(State, const std::string& detail)> onStopped;
    };

    RelayClient(EventLoop& loop, const DaemonConfig& config, const Identity& identity,
                KnownRelays& knownRelays, Handlers handlers);
    ~RelayClient();
    RelayClient(const RelayClient&) = delete;
    RelayClient& operator=(const RelayClient&) = delete;

    /// Connects (and keeps reconnecting until stop()).
    void start();
    /// Closes the connection; no more reconnects.
    void stop();

    /// Registers now: after Replaced takes the name back, after Refused
    /// tries again, while waiting to retry skips the wait. No-op while
    /// registered or while an attempt is under way.
    void registerNow();

    bool registered() const { return registered_; }
    State state() const { return state_; }
    /// Why retries stopped (Replaced, Refused); empty otherwise.
    const std::string& stopDetail() const { return stopDetail_; }
    /// Whether a new call fits under the relay's message limit now.
    bool canStartCall() { return pacer_.hasHeadroom(kCallFrames); }
    /// The relay's address and media port (valid while registered; port 0 = tunnel only).
    SocketAddress mediaAddress() const;

    /// Sends one message, paced (SendPacer): false if not connected or the
    /// pacing queue is full. Tunnelled media is sent now or dropped.
    template <typename M>
    bool send(const M& message) {
        std::vector<uint8_t> out;
        if (!appendMessage(out, message).ok()) {
            return false;
        }
        if constexpr (std::is_same_v<M, msg::MediaTunnel>) {
            return sendMedia(out);
        } else {
            return sendBytes(out);
        }
    }

    /// Bytes waiting to be written to the relay (for bounding tunnelled media).
    size_t pendingOutput();

    /// While a call waits to be resumed, reconnect attempts come every
    /// kFastBackoff instead of backing off (a restarted relay is found
    /// within a fraction of a second); off again once the call is back.
    void setFastReconnect(bool fast);
    static constexpr std::chrono::milliseconds kFastBackoff{200};
    /// The relay connected to, or tried next.
    const HostPort& currentRelay() const { return config_.relays[relayIndex_]; }

private:
    void connect();
    void scheduleReconnect();
    void lost(const Status& status);
    void onConnected();
    void onData(std::span<const std::byte> data);
    void handle(const msg::Message& m);
    bool sendBytes(const std::vector<uint8_t>& bytes);
    bool sendMedia(const std::vector<uint8_t>& bytes);
    bool write(const std::vector<uint8_t>& bytes);
    void scheduleDrain();
    void drain();
    void sendKeepalive();
    /// Drops the connection and stops retrying: the relay said no for good.
    void halt(State state, const std::string& detail);
    void dropConnection();

    EventLoop& loop_;
    const DaemonConfig& config_;
    const Identity& identity_;
    KnownRelays& knownRelays_;
    Handlers handlers_;
    std::shared_ptr<TlsContext> tls_;
    std::unique_ptr<TlsStream> stream_;
    FrameDecoder decoder_;
    SocketAddress relayAddress_;
    size_t relayIndex_ = 0; ///< into config_.relays
    uint16_t udpPort_ = 0;
    bool running_ = false;
    bool registered_ = false;
    bool pinChecked_ = false;
    bool fastReconnect_ = false;
    State state_ = State::Connecting;
    std::string stopDetail_;
    ReconnectBackoff backoff_;
    SendPacer pacer_{MonotonicClock::system()};
    uint64_t pacerDropped_ = 0;
    EventLoop::TimerId drainTimer_ = 0;
    EventLoop::TimerId reconnectTimer_ = 0;
    EventLoop::TimerId keepaliveTimer_ = 0;
    EventLoop::TimerId registerTimer_ = 0;
    uint64_t keepaliveToken_ = 0;
};

} // namespace voice
