// SPDX-License-Identifier: MIT
// TlsStream: a TlsConnection wired to an EventLoop, reporting connect, data and close through
// callbacks.
#pragma once

#include "core/result.h"
#include "net/event_loop.h"
#include "net/tls.h"

#include <chrono>
#include <functional>
#include <memory>
#include <span>

namespace voice {

/// Drives a TlsConnection from an EventLoop: runs the handshake under a
/// deadline, reads everything available, flushes queued output, and keeps
/// the fd's watched events in step. The relay (one per client) and voiced
/// (one to its relay) build their control channels on it.
///
/// Threading: create, use and destroy it on the loop thread. Handlers run
/// there too and may destroy the stream (e.g. erase the session that owns
/// it); nothing touches the stream after a handler that did so returns.
class TlsStream {
public:
    struct Handlers {
        /// The handshake finished (and the pin, if any, matched).
        std::function<void()> onConnected;
        /// Decrypted bytes, in order, in chunks of any size.
        std::function<void(std::span<const std::byte>)> onData;
        /// Called once when the stream ends without close(): a failed
        /// handshake or pin (Auth), a timeout, a reset, or Errc::Closed
        /// when the peer closed. The stream is detached from the loop.
        std::function<void(const Status&)> onClosed;
    };

    /// Starts driving conn; the handshake must finish within handshakeTimeout.
    static Result<std::unique_ptr<TlsStream>>
    create(EventLoop& loop, std::unique_ptr<TlsConnection> conn, Handlers handlers,
           std::chrono::milliseconds handshakeTimeout = std::chrono::seconds(10));
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    /// Queues bytes (see TlsConnection::send) and watches for writability
    /// as needed. Busy when the output limit would be exceeded: the peer is
    /// not reading, and the caller should usually drop it.
    Status send(std::span<const std::byte> data);
    /// Sends close_notify (best effort) and detaches from the loop. No
    /// handler runs afterwards.
    void close();

    bool connected() const { return conn_->handshakeDone() && open_; }
    bool open() const { return open_; }
    TlsConnection& connection() { return *conn_; }

private:
    TlsStream(EventLoop& loop, std::unique_ptr<TlsConnection> conn, Handlers handlers);
    void pump();
    void updateEvents();
    void finish(Status status); // detach and report onClosed
    void detach();

    EventLoop& loop_;
    std::unique_ptr<TlsConnection> conn_;
    // Shared so a handler that destroys the stream is not destroyed while it runs.
    std::shared_ptr<const Handlers> handlers_;
    bool open_ = true;
    bool reportedConnected_ = false;
    EventLoop::TimerId handshakeTimer_ = 0;
    EventLoop::TimerId resumeTimer_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace voice
