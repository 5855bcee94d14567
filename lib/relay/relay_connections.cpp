// SPDX-License-Identifier: MIT
// RelayServer's connection I/O: accept (limits, eviction), the per-connection
// TLS stream, reading and framing, writing with the output limit (slow
// readers dropped), graceful close and destruction. What a frame means is
// handleFrame()'s business (relay_server.cpp).
#include "core/log.h"
#include "relay/relay_server.h"
#include "relay/relay_server_internal.h"

#include <array>

namespace voice {

using std::chrono::milliseconds;

namespace {
constexpr auto kLinger = milliseconds(1000); // a closing connection's time to drain
} // namespace

RelayServer::Connection* RelayServer::find(uint64_t id) {
    auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second.get();
}

void RelayServer::onAccept(int listenFd) {
    for (int i = 0; i < 64; ++i) {
        SocketAddress peer;
        auto fd = tcpAccept(listenFd, &peer);
        if (!fd.ok()) {
            LOG_WARNING("accept: %s", fd.status().toString().c_str());
            return;
        }
        if (!fd->isValid()) {
            return;
        }
        if (shuttingDown_) {
            continue; // closes at once
        }
        peer = peer.unmapped();
        // Over a limit: close before TLS, so a flood costs no handshakes.
        if (connections_.size() >= config_.maxClients) {
            ++connectionsRefused_;
            LOG_DEBUG("refusing %s: relay full", describe(peer).c_str());
            continue;
        }
        // Registered clients count only towards max_clients; unregistered
        // ones are bounded per source. A full source makes room instead of
        // refusing, so idle connections from a shared address cannot keep a
        // client from registering (see evictPending()).
        if (pending_->full(peer)) {
            evictPending(peer);
        }
        auto tls = TlsConnection::accept(tls_, std::move(*fd));
        if (!tls.ok()) {
            LOG_WARNING("TLS accept: %s", tls.status().toString().c_str());
            continue;
        }
        const uint64_t id = nextId_++;
        auto c = std::make_unique<Connection>(id, MonotonicClock::system(),
                                              config_.messagesPerSecond, config_.messageBurst);
        c->tls = std::move(*tls);
        c->tls->setOutputLimit(config_.outputBufferBytes);
        c->peer = peer;
        c->registrationDeadline = Clock::now() + config_.registrationTimeout;
        c->lastHeard = Clock::now();
        c->watched = c->tls->wantedEvents();
        Status st = loop_->addFd(c->tls->fd(), c->watched,
                                 [this, id](uint32_t events) { onConnectionEvent(id, events); });
        if (!st.ok()) {
            LOG_WARNING("watch: %s", st.toString().c_str());
            continue;
        }
        LOG_DEBUG("connection %llu from %s", (unsigned long long)id, describe(peer).c_str());
        pending_->add(peer, id);
        connections_.emplace(id, std::move(c));
    }
}

void RelayServer::evictPending(const SocketAddress& peer) {
    // The victim is the connection that got least far (closing, then still
    // in the TLS handshake, then waiting for Hello, then for Register), the
    // oldest among equals: idle flooders stay in the handshake, while a real
    // client gets past it within a round trip or two, so it outlasts them.
    auto rank = [](Connection::State s) {
        switch (s) {
        case Connection::State::Closing:
            return 0;
        case Connection::State::Handshake:
            return 1;
        case Connection::State::AwaitHello:
            return 2;
        default:
            return 3;
        }
    };
    uint64_t victim = 0;
    int best = 4;
    for (uint64_t id : pending_->of(peer)) {
        Connection* c = find(id);
        if (!c) {
            continue;
        }
        if (int r = rank(c->state); r < best) {
            best = r;
            victim = id;
        }
    }
    if (victim == 0) {
        return;
    }
    ++connectionsEvicted_;
    LOG_DEBUG("%s holds %zu unregistered connections: closing connection %llu for a new one",
              describe(peer).c_str(), pending_->count(peer), (unsigned long long)victim);
    destroy(victim);
}

void RelayServer::updateWatch(Connection& c) {
    uint32_t want = c.tls->wantedEvents();
    if (c.state == Connection::State::Closing) {
        want &= ~EventLoop::kReadable;
        if (c.tls->pendingOutput() > 0) {
            want |= EventLoop::kWritable;
        }
    }
    if (want != c.watched) {
        c.watched = want;
        (void)loop_->modifyFd(c.tls->fd(), want);
    }
}

void RelayServer::onConnectionEvent(uint64_t id, uint32_t events) {
    Connection* c = find(id);
    if (!c) {
        return;
    }
    if (c->state == Connection::State::Closing) {
        TlsIo io = c->tls->flush();
        if (io.ok() || io.state == TlsIo::State::Error || io.state == TlsIo::State::Closed ||
            (events & (EventLoop::kError | EventLoop::kHangup))) {
            if (io.ok()) {
                c->tls->shutdown();
            }
            destroy(id);
            return;
        }
        updateWatch(*c);
        return;
    }
    if (c->state == Connection::State::Handshake) {
        TlsIo io = c->tls->handshake();
        if (io.state == TlsIo::State::Error || io.state == TlsIo::State::Closed) {
            LOG_DEBUG("TLS handshake with %s failed: %s", describe(c->peer).c_str(),
                      io.error.toString().c_str());
            destroy(id);
            return;
        }
        if (!io.ok()) {
            updateWatch(*c);
            return;
        }
        c->state = Connection::State::AwaitHello;
    }
    if (events & EventLoop::kWritable) {
        TlsIo io = c->tls->flush();
        if (io.state == TlsIo::State::Error) {
            destroy(id);
            return;
        }
    }
    // Read a bounded amount per event so one busy client cannot starve others.
    std::array<std::byte, 16384> buf;
    for (int round = 0; round < 8; ++round) {
        TlsIo io = c->tls->read(buf);
        if (io.state == TlsIo::State::WantRead || io.state == TlsIo::State::WantWrite) {
            break;
        }
        if (!io.ok()) {
            LOG_DEBUG("connection %llu (%s) closed: %s", (unsigned long long)id,
                      c->name.empty() ? describe(c->peer).c_str() : c->name.c_str(),
                      io.state == TlsIo::State::Closed ? "by peer" : io.error.toString().c_str());
            closeGracefully(*c);
            destroy(id);
            return;
        }
        c->lastHeard = Clock::now();
        std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(buf.data()), io.bytes);
        while (true) {
            auto step = c->decoder.next(in);
            if (!step.ok()) {
                ++protocolErrors_;
                sendErrorAndClose(*c, ErrorCode::Protocol, step.status().detail());
                return;
            }
            if (!*step) {
                break;
            }
            handleFrame(*c, **step);
            c = find(id);
            if (!c || c->state == Connection::State::Closing) {
                return;
            }
        }
    }
    updateWatch(*c);
}

bool RelayServer::sendRaw(Connection& c, const std::vector<uint8_t>& frame) {
    if (c.state == Connection::State::Closing &&
        c.tls->pendingOutput() > config_.outputBufferBytes) {
        return false;
    }
    Status st = c.tls->send(std::as_bytes(std::span(frame)));
    if (!st.ok()) {
        if (st.code() == Errc::Busy) {
            // A reader this slow would make us buffer without bound: drop it.
            ++slowReadersDropped_;
            LOG_INFO("dropping %s: not reading (output buffer full)",
                     c.name.empty() ? describe(c.peer).c_str() : c.name.c_str());
        }
        // Closing from inside a send would invalidate callers' references;
        // mark it and let the loop finish the job.
        if (c.state != Connection::State::Closing) {
            const uint64_t id = c.id;
            closeGracefully(c);
            loop_->post([this, id] { destroy(id); });
        }
        return false;
    }
    updateWatch(c);
    return true;
}

void RelayServer::sendErrorAndClose(Connection& c, ErrorCode code, std::string text) {
    msg::Error e;
    e.code = code;
    if (text.size() > kMaxReasonTextLength) {
        text.resize(kMaxReasonTextLength);
    }
    // Texts from Status details are ASCII; anything else is dropped rather
    // than risk an encoding failure.
    if (!validateText(text, kMaxReasonTextLength).ok()) {
        text = "error";
    }
    e.text = std::move(text);
    send(c, e);
    closeGracefully(c);
}

void RelayServer::refuse(Connection& c, RefuseReason reason, std::string text) {
    ++registrationsRefused_;
    LOG_INFO("refused registration from %s: %s", describe(c.peer).c_str(), text.c_str());
    msg::Refused r;
    r.reason = reason;
    r.text = std::move(text);
    send(c, r);
    closeGracefully(c);
}

void RelayServer::closeGracefully(Connection& c) {
    if (c.state == Connection::State::Closing) {
        return;
    }
    leave(c);
    c.state = Connection::State::Closing;
    c.lingerDeadline = Clock::now() + kLinger;
    TlsIo io = c.tls->flush();
    if (io.ok()) {
        c.tls->shutdown();
    }
    updateWatch(c);
    if (io.ok() || io.state == TlsIo::State::Error || io.state == TlsIo::State::Closed) {
        const uint64_t id = c.id;
        // Destroyed after the current callback returns: callers still hold `c`.
        loop_->post([this, id] { destroy(id); });
    }
}

void RelayServer::destroy(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end()) {
        return;
    }
    Connection& c = *it->second;
    if (c.state != Connection::State::Closing) {
        closeGracefully(c);
    }
    loop_->removeFd(c.tls->fd());
    if (c.pending) {
        pending_->remove(c.peer, c.id);
    }
    connections_.erase(it);
}

} // namespace voice
