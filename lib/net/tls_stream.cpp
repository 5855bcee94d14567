// SPDX-License-Identifier: MIT
// TlsStream: event-driven handshake, bounded read rounds and output flushing for a TlsConnection.
#include "net/tls_stream.h"

namespace voice {

namespace {
// Bytes read per loop round before yielding to other fds; the rest is
// picked up by a zero-delay timer (OpenSSL may hold decrypted bytes the
// socket no longer signals, so we cannot just wait for readability).
constexpr size_t kReadBudget = 256 * 1024;
} // namespace

TlsStream::TlsStream(EventLoop& loop, std::unique_ptr<TlsConnection> conn, Handlers handlers)
    : loop_(loop), conn_(std::move(conn)),
      handlers_(std::make_shared<const Handlers>(std::move(handlers))) {}

Result<std::unique_ptr<TlsStream>> TlsStream::create(EventLoop& loop,
                                                     std::unique_ptr<TlsConnection> conn,
                                                     Handlers handlers,
                                                     std::chrono::milliseconds handshakeTimeout) {
    if (!conn) {
        return Result<std::unique_ptr<TlsStream>>(Errc::InvalidArgument, "no TLS connection");
    }
    std::unique_ptr<TlsStream> s(new TlsStream(loop, std::move(conn), std::move(handlers)));
    TlsStream* self = s.get();
    if (Status st = loop.addFd(self->conn_->fd(), self->conn_->wantedEvents(),
                               [self](uint32_t) { self->pump(); });
        !st) {
        return st;
    }
    self->handshakeTimer_ = loop.addTimer(handshakeTimeout, [self] {
        self->handshakeTimer_ = 0;
        if (!self->conn_->handshakeDone()) {
            self->finish(Status(Errc::Timeout, "TLS handshake did not finish in time"));
        }
    });
    // The client speaks first; a server just waits. Start from the loop so
    // handlers never run inside create().
    self->resumeTimer_ = loop.addTimer(std::chrono::milliseconds(0), [self] {
        self->resumeTimer_ = 0;
        self->pump();
    });
    return s;
}

TlsStream::~TlsStream() {
    *alive_ = false;
    detach();
}

void TlsStream::detach() {
    if (handshakeTimer_ != 0) {
        loop_.cancelTimer(handshakeTimer_);
        handshakeTimer_ = 0;
    }
    if (resumeTimer_ != 0) {
        loop_.cancelTimer(resumeTimer_);
        resumeTimer_ = 0;
    }
    if (open_) {
        loop_.removeFd(conn_->fd());
        open_ = false;
    }
}

void TlsStream::finish(Status status) {
    if (!open_) {
        return;
    }
    detach();
    const std::shared_ptr<const Handlers> handlers = handlers_;
    if (handlers->onClosed) {
        handlers->onClosed(status); // may destroy *this: touch nothing after
    }
}

void TlsStream::close() {
    if (!open_) {
        return;
    }
    conn_->shutdown();
    detach();
}

Status TlsStream::send(std::span<const std::byte> data) {
    if (!open_) {
        return Status(Errc::Closed, "TLS stream is closed");
    }
    Status s = conn_->send(data);
    if (s.ok()) {
        updateEvents();
    }
    return s;
}

void TlsStream::updateEvents() {
    if (open_) {
        (void)loop_.modifyFd(conn_->fd(), conn_->wantedEvents());
    }
}

void TlsStream::pump() {
    if (!open_) {
        return;
    }
    const std::shared_ptr<bool> alive = alive_;
    const std::shared_ptr<const Handlers> handlers = handlers_;
    if (!conn_->handshakeDone()) {
        TlsIo io = conn_->handshake();
        if (io.wouldBlock()) {
            updateEvents();
            return;
        }
        if (!io.ok()) {
            finish(io.error);
            return;
        }
    }
    if (!reportedConnected_) {
        reportedConnected_ = true;
        if (handshakeTimer_ != 0) {
            loop_.cancelTimer(handshakeTimer_);
            handshakeTimer_ = 0;
        }
        if (handlers->onConnected) {
            handlers->onConnected();
            if (!*alive || !open_) {
                return;
            }
        }
    }
    size_t budget = kReadBudget;
    std::byte buf[16 * 1024];
    for (;;) {
        if (budget == 0) {
            if (resumeTimer_ == 0) {
                resumeTimer_ = loop_.addTimer(std::chrono::milliseconds(0), [this] {
                    resumeTimer_ = 0;
                    pump();
                });
            }
            break;
        }
        TlsIo io = conn_->read(std::span(buf, std::min(sizeof(buf), budget)));
        if (io.ok()) {
            budget -= std::min(budget, io.bytes);
            if (handlers->onData) {
                handlers->onData(std::span<const std::byte>(buf, io.bytes));
                if (!*alive || !open_) {
                    return;
                }
            }
            continue;
        }
        if (io.wouldBlock()) {
            break;
        }
        finish(io.error); // Closed or Error
        return;
    }
    TlsIo io = conn_->flush();
    if (io.state == TlsIo::State::Error || io.state == TlsIo::State::Closed) {
        finish(io.error);
        return;
    }
    updateEvents();
}

} // namespace voice
