// SPDX-License-Identifier: MIT
// RelayClient: voiced's control connection to voice-relayd: TLS with a pinned key, registration,
// keepalives, reconnects.
//
// Threads: control thread only (it lives on the daemon's EventLoop). The
// connection is kept up for the daemon's lifetime: after any loss it
// reconnects with exponential back-off (0.5 s doubling to 30 s). A relay
// whose key differs from the pin is not retried: onFatal reports it.
#pragma once

#include "crypto/identity.h"
#include "daemon_config.h"
#include "net/event_loop.h"
#include "net/known_relays.h"
#include "net/socket.h"
#include "net/tls.h"
#include "net/tls_stream.h"
#include "wire/frame.h"
#include "wire/messages.h"

#include <chrono>
#include <functional>
#include <memory>

namespace voice {

class RelayClient {
public:
    struct Handlers {
        /// Registration accepted (also after every reconnect).
        std::function<void(const msg::Registered&)> onRegistered;
        /// Any message after registration (not keepalive traffic).
        std::function<void(const msg::Message&)> onMessage;
        /// The connection went away (we were registered before or not).
        std::function<void(const Status&)> onLost;
        /// Something retrying cannot fix (changed relay key, name refused).
        std::function<void(const Status&)> onFatal;
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

    bool registered() const { return registered_; }
    /// The relay's address and media port (valid while registered; port 0 = tunnel only).
    SocketAddress mediaAddress() const;

    /// Sends one message; false if not connected or the output queue is full.
    template <typename M>
    bool send(const M& message) {
        std::vector<uint8_t> out;
        if (!appendMessage(out, message).ok()) {
            return false;
        }
        return sendBytes(out);
    }

    /// Bytes waiting to be written to the relay (for bounding tunnelled media).
    size_t pendingOutput();

    /// While a call waits to be resumed, reconnect attempts come every
    /// kFastBackoff instead of backing off (a restarted relay is found
    /// within a fraction of a second); off again once the call is back.
    void setFastReconnect(bool fast);
    static constexpr std::chrono::milliseconds kFastBackoff{200};

private:
    void connect();
    void scheduleReconnect();
    void lost(const Status& status);
    void onConnected();
    void onData(std::span<const std::byte> data);
    void handle(const msg::Message& m);
    bool sendBytes(const std::vector<uint8_t>& bytes);
    void sendKeepalive();

    EventLoop& loop_;
    const DaemonConfig& config_;
    const Identity& identity_;
    KnownRelays& knownRelays_;
    Handlers handlers_;
    std::shared_ptr<TlsContext> tls_;
    std::unique_ptr<TlsStream> stream_;
    FrameDecoder decoder_;
    SocketAddress relayAddress_;
    uint16_t udpPort_ = 0;
    bool running_ = false;
    bool registered_ = false;
    bool pinChecked_ = false;
    bool fastReconnect_ = false;
    std::chrono::milliseconds backoff_{500};
    EventLoop::TimerId reconnectTimer_ = 0;
    EventLoop::TimerId keepaliveTimer_ = 0;
    EventLoop::TimerId registerTimer_ = 0;
    uint64_t keepaliveToken_ = 0;
};

} // namespace voice
