// SPDX-License-Identifier: MIT
// RelayClient: voiced's control connection to voice-relayd.
#include "relay_client.h"

#include "core/log.h"
#include "voice_config.h"

#include <algorithm>
#include <openssl/crypto.h>

namespace voice {

namespace {

/// A ResumeToken's route key is a secret (it moves our UDP route at the
/// relay): the holder (CallManager) keeps its own wiped copy, so the
/// message's copies are wiped once handled.
void wipeSecrets(msg::Message& m) {
    if (auto* t = std::get_if<msg::ResumeToken>(&m)) {
        OPENSSL_cleanse(t->routeKey.data(), t->routeKey.size());
    }
}

constexpr std::chrono::seconds kRegisterTimeout{15};

/// "name-taken" -> "name taken", for people.
std::string spaced(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '-', ' ');
    return out;
}
} // namespace

std::string_view RelayClient::stateName(State state) {
    switch (state) {
    case State::Connecting:
        return "connecting";
    case State::Registered:
        return "registered";
    case State::Replaced:
        return "replaced";
    case State::Refused:
        return "refused";
    }
    return "connecting";
}

RelayClient::RelayClient(EventLoop& loop, const DaemonConfig& config, const Identity& identity,
                         KnownRelays& knownRelays, Handlers handlers)
    : loop_(loop), config_(config), identity_(identity), knownRelays_(knownRelays),
      handlers_(std::move(handlers)) {}

RelayClient::~RelayClient() {
    stop();
}

void RelayClient::start() {
    running_ = true;
    state_ = State::Connecting;
    connect();
}

void RelayClient::stop() {
    running_ = false;
    dropConnection();
}

void RelayClient::dropConnection() {
    for (EventLoop::TimerId* t :
         {&reconnectTimer_, &keepaliveTimer_, &registerTimer_, &drainTimer_}) {
        if (*t != 0) {
            loop_.cancelTimer(*t);
            *t = 0;
        }
    }
    pacer_.clearQueue(); // frames for a connection that is gone mean nothing to the next one
    if (stream_) {
        // Destroying the stream inside its own callback is allowed (TlsStream keeps itself alive).
        stream_->close();
        stream_.reset();
    }
    registered_ = false;
}

void RelayClient::halt(State state, const std::string& detail) {
    LOG_ERROR("relay %s: %s; not retrying (voicectl register tries again)",
              currentRelay().toString().c_str(), detail.c_str());
    running_ = false;
    dropConnection();
    state_ = state;
    stopDetail_ = detail;
    if (handlers_.onLost) {
        handlers_.onLost(Status(Errc::Closed, detail));
    }
    if (handlers_.onStopped) {
        handlers_.onStopped(state, detail);
    }
}

void RelayClient::registerNow() {
    if (registered_ || (running_ && stream_)) {
        return; // registered, or an attempt is under way
    }
    LOG_NOTICE("registering at relay %s as %s on request", currentRelay().toString().c_str(),
               config_.name.c_str());
    running_ = true;
    state_ = State::Connecting;
    stopDetail_.clear();
    backoff_.reset();
    if (reconnectTimer_ != 0) {
        loop_.cancelTimer(reconnectTimer_);
        reconnectTimer_ = 0;
    }
    connect();
}

SocketAddress RelayClient::mediaAddress() const {
    SocketAddress a = relayAddress_;
    a.setPort(udpPort_);
    return a;
}

size_t RelayClient::pendingOutput() {
    return stream_ ? stream_->connection().pendingOutput() : 0;
}

void RelayClient::connect() {
    reconnectTimer_ = 0;
    if (!running_) {
        return;
    }
    if (!tls_) {
        auto ctx = TlsContext::createClient();
        if (!ctx.ok()) {
            lost(ctx.status());
            return;
        }
        tls_ = *ctx;
    }
    auto address = SocketAddress::resolve(currentRelay());
    if (!address.ok()) {
        lost(address.status());
        return;
    }
    relayAddress_ = *address;
    auto fd = tcpConnect(relayAddress_);
    if (!fd.ok()) {
        lost(fd.status());
        return;
    }
    const std::string relayName = currentRelay().toString();
    std::optional<Fingerprint> pin = config_.relayFingerprint;
    if (!pin) {
        pin = knownRelays_.find(relayName);
    }
    pinChecked_ = pin.has_value();
    auto conn = TlsConnection::connect(tls_, std::move(*fd), relayName, pin);
    if (!conn.ok()) {
        lost(conn.status());
        return;
    }
    decoder_.reset();
    TlsStream::Handlers h;
    h.onConnected = [this] { onConnected(); };
    h.onData = [this](std::span<const std::byte> d) { onData(d); };
    h.onClosed = [this](const Status& s) {
        lost(s.ok() ? Status(Errc::Closed, "relay closed the connection") : s);
    };
    auto stream =
        TlsStream::create(loop_, std::move(*conn), std::move(h), std::chrono::seconds(10));
    if (!stream.ok()) {
        lost(stream.status());
        return;
    }
    stream_ = std::move(*stream);
    registerTimer_ = loop_.addTimer(kRegisterTimeout, [this] {
        registerTimer_ = 0;
        if (!registered_) {
            lost(Status(Errc::Timeout, "registration at the relay timed out"));
        }
    });
}

void RelayClient::onConnected() {
    if (!pinChecked_) {
        auto pin =
            knownRelays_.check(currentRelay().toString(), stream_->connection().peerFingerprint());
        if (!pin.ok()) {
            Status s = pin.status();
            stop();
            if (handlers_.onFatal) {
                handlers_.onFatal(s);
            }
            return;
        }
        if (*pin == KnownRelays::Pin::FirstUse) {
            LOG_NOTICE("pinned relay %s key %s (first use)", currentRelay().toString().c_str(),
                       stream_->connection().peerFingerprint().toString().c_str());
        }
        pinChecked_ = true;
    }
    msg::Hello hello;
    hello.software = std::string("voiced ") + VOICE_VERSION;
    send(hello);
}

void RelayClient::lost(const Status& status) {
    const bool wasRegistered = registered_;
    dropConnection();
    if (running_) {
        state_ = State::Connecting;
    }
    if (status.code() == Errc::Auth) {
        // A changed relay key: retrying cannot fix it.
        running_ = false;
        if (handlers_.onFatal) {
            handlers_.onFatal(status);
        }
        return;
    }
    if (wasRegistered || running_) {
        LOG_WARNING("relay %s: %s", currentRelay().toString().c_str(), status.toString().c_str());
    }
    // Several relays: a failed attempt moves on; a lost registration tries
    // the same relay once more first (restarted, it gives our call back).
    if (config_.relays.size() > 1 && !wasRegistered) {
        relayIndex_ = (relayIndex_ + 1) % config_.relays.size();
        LOG_INFO("trying relay %s next", currentRelay().toString().c_str());
    }
    if (handlers_.onLost) {
        handlers_.onLost(status);
    }
    scheduleReconnect();
}

void RelayClient::setFastReconnect(bool fast) {
    fastReconnect_ = fast;
    if (fast && reconnectTimer_ != 0) {
        // A slow attempt is pending: bring it forward.
        loop_.cancelTimer(reconnectTimer_);
        reconnectTimer_ = 0;
        scheduleReconnect();
    }
}

void RelayClient::scheduleReconnect() {
    if (!running_ || reconnectTimer_ != 0) {
        return;
    }
    const auto drawn = backoff_.next();
    const auto delay = fastReconnect_ ? std::min(drawn, kFastBackoff) : drawn;
    if (fastReconnect_) {
        LOG_DEBUG("reconnecting to the relay in %lld ms", static_cast<long long>(delay.count()));
    } else {
        LOG_INFO("reconnecting to the relay in %lld ms", static_cast<long long>(delay.count()));
    }
    reconnectTimer_ = loop_.addTimer(delay, [this] { connect(); });
}

void RelayClient::onData(std::span<const std::byte> data) {
    std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    // handle() may drop the connection; stop reading then.
    TlsStream* current = stream_.get();
    while (stream_.get() == current && current != nullptr) {
        auto step = decoder_.next(in);
        if (!step.ok()) {
            lost(step.status());
            return;
        }
        if (!*step) {
            return;
        }
        auto m = msg::decodeMessage(**step);
        if (!m.ok()) {
            lost(m.status());
            return;
        }
        handle(*m);
        wipeSecrets(*m);
    }
}

void RelayClient::handle(const msg::Message& m) {
    std::visit(
        msg::Overloaded{
            [](const msg::Hello& h) {
                if (h.protocolVersion != kProtocolVersion) {
                    LOG_WARNING("relay speaks protocol version %u", unsigned(h.protocolVersion));
                }
            },
            [this](const msg::RegisterChallenge& c) {
                msg::Register reg;
                reg.name = config_.name;
                reg.identityKey = identity_.publicKey();
                auto sig = identity_.sign(registerSignedBytes(c.nonce, config_.name));
                if (!sig.ok()) {
                    lost(sig.status());
                    return;
                }
                std::copy_n(sig->begin(), reg.signature.size(), reg.signature.begin());
                send(reg);
            },
            [this](const msg::Registered& r) {
                registered_ = true;
                state_ = State::Registered;
                udpPort_ = r.udpPort;
                backoff_.reset();
                if (registerTimer_ != 0) {
                    loop_.cancelTimer(registerTimer_);
                    registerTimer_ = 0;
                }
                const auto interval =
                    std::chrono::seconds(std::max<uint16_t>(1, r.keepaliveSeconds));
                keepaliveTimer_ = loop_.addRepeatingTimer(interval, [this] { sendKeepalive(); });
                LOG_NOTICE("registered at relay %s as %s", currentRelay().toString().c_str(),
                           r.name.c_str());
                if (handlers_.onRegistered) {
                    handlers_.onRegistered(r);
                }
            },
            [this](const msg::Refused& r) {
                if (r.reason == RefuseReason::RateLimited || r.reason == RefuseReason::ServerFull ||
                    r.reason == RefuseReason::Timeout) {
                    lost(Status(Errc::Busy, "relay refused registration as " + config_.name + ": " +
                                                std::string(refuseReasonName(r.reason)) + " (" +
                                                r.text + ")"));
                    return;
                }
                // Retrying cannot change the relay's mind (name taken, not
                // allowed, bad key...): stay up, say why, wait to be asked.
                halt(State::Refused, spaced(refuseReasonName(r.reason)) + " (" + r.text + ")");
            },
            [this](const msg::Error& e) {
                if (e.code == ErrorCode::Replaced) {
                    // Another device with our key took the name. Taking it
                    // back on our own would make the two fight forever: the
                    // newer registration wins until the user asks otherwise.
                    halt(State::Replaced, "another device registered as " + config_.name +
                                              " with the same key (" + e.text + ")");
                    return;
                }
                if (registered_ && handlers_.onMessage) {
                    handlers_.onMessage(msg::Message(e));
                }
            },
            [this](const msg::Keepalive& k) {
                msg::KeepaliveEcho e;
                e.token = k.token;
                send(e);
            },
            [](const msg::KeepaliveEcho&) {},
            [this](const auto& other) {
                if (registered_ && handlers_.onMessage) {
                    msg::Message copy(other);
                    handlers_.onMessage(copy);
                    wipeSecrets(copy);
                }
            },
        },
        m);
}

bool RelayClient::sendBytes(const std::vector<uint8_t>& bytes) {
    if (!stream_ || !stream_->open()) {
        return false;
    }
    switch (pacer_.offer(bytes)) {
    case SendPacer::Verdict::SendNow:
        return write(bytes);
    case SendPacer::Verdict::Queued:
        scheduleDrain();
        return true;
    case SendPacer::Verdict::Dropped:
        if (pacerDropped_++ % 100 == 0) {
            LOG_WARNING("relay: %zu frames wait for the message limit; dropping more (%llu so far)",
                        pacer_.queued(), static_cast<unsigned long long>(pacerDropped_));
        }
        return false;
    }
    return false;
}

bool RelayClient::sendMedia(const std::vector<uint8_t>& bytes) {
    if (!stream_ || !stream_->open() || !pacer_.offerMedia()) {
        return false; // over the message limit: dropped like a lost datagram
    }
    return write(bytes);
}

void RelayClient::scheduleDrain() {
    if (drainTimer_ != 0) {
        return;
    }
    const auto due = pacer_.nextDue();
    if (!due) {
        return;
    }
    drainTimer_ = loop_.addTimer(std::max(*due, std::chrono::milliseconds(1)), [this] {
        drainTimer_ = 0;
        drain();
    });
}

void RelayClient::drain() {
    TlsStream* current = stream_.get();
    while (auto frame = pacer_.takeDue()) {
        write(*frame);
        if (stream_.get() != current) {
            return; // the write failed and dropped the connection (and the queue)
        }
    }
    scheduleDrain();
}

bool RelayClient::write(const std::vector<uint8_t>& bytes) {
    if (!stream_ || !stream_->open()) {
        return false;
    }
    Status s = stream_->send(std::as_bytes(std::span(bytes)));
    if (!s.ok()) {
        LOG_DEBUG("relay send failed: %s", s.toString().c_str());
        return false;
    }
    return true;
}

void RelayClient::sendKeepalive() {
    msg::Keepalive k;
    k.token = ++keepaliveToken_;
    send(k);
}

} // namespace voice
