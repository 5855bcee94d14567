// SPDX-License-Identifier: MIT
// RelayServer: voice-relayd's control loop (TLS, registry, matching) and media forwarding threads.
#include "relay/relay_server.h"

#include "config/secure_file.h"
#include "core/log.h"
#include "crypto/identity.h"
#include "net/clock.h"
#include "net/systemd.h"
#include "net/tls_identity.h"
#include "relay/junk_filter.h"
#include "relay/local_registry.h"
#include "relay/metrics_endpoint.h"
#include "relay/relay_server_internal.h"
#include "voice_config.h"
#include "wire/media_header.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

namespace voice {

using std::chrono::milliseconds;

namespace {

constexpr size_t kMaxPendingTunnel = 8192; // media posted to the control loop, all calls
constexpr auto kSweepInterval = milliseconds(100);
constexpr size_t kUdpBatch = 32;
/// A resume token is good for this long after it was (re)issued; every
/// accepted Resume hands out a fresh one.
constexpr auto kResumeTokenLifetime = std::chrono::hours(24);
constexpr size_t kMaxEndedCalls = 4096;

void randomBytes(std::span<uint8_t> out) {
    while (RAND_bytes(out.data(), int(out.size())) != 1) {
    }
}

/// A UDP socket that shares its port with the other media threads' sockets.
Result<UniqueFd> udpReusePort(const SocketAddress& address) {
    UniqueFd fd(::socket(address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.isValid()) {
        return Status::fromErrno(Errc::Io, errno, "socket");
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (address.family() == AF_INET6) {
        // "[::]" serves IPv4 too, like the TCP listener.
        bool any = address.hostString() == "::";
        int v6only = any ? 0 : 1;
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    // Room for bursts from many calls while a thread is briefly descheduled.
    int buf = 4 * 1024 * 1024;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (::bind(fd.get(), address.data(), address.length()) != 0) {
        return Status::fromErrno(Errc::Io, errno, "bind UDP " + address.toString());
    }
    return fd;
}

} // namespace

// ---------------------------------------------------------------------------
// Set-up

Result<std::unique_ptr<RelayServer>> RelayServer::create(RelayConfig config, Reloader reloader) {
    std::unique_ptr<RelayServer> s(new RelayServer());
    s->config_ = std::move(config);
    s->reloader_ = std::move(reloader);
    setLogLevel(s->config_.logLevel);

    auto loop = EventLoop::create();
    if (!loop.ok()) {
        return loop.status();
    }
    s->loop_ = std::move(*loop);

    Status dir = ensurePrivateDirectory(s->config_.stateDir);
    if (!dir.ok()) {
        return dir;
    }
    auto identity = TlsIdentity::loadOrCreate(s->config_.stateDir, "voice-relayd");
    if (!identity.ok()) {
        return identity.status();
    }
    LOG_NOTICE("relay key fingerprint %s", identity->fingerprint().toString().c_str());
    auto ctx = TlsContext::createServer(*identity);
    if (!ctx.ok()) {
        return ctx.status();
    }
    s->tls_ = std::move(*ctx);

    // The resume key outlives the process (a restarted relay must check
    // tokens it issued before); the in-memory copy is wiped on exit.
    auto tokens = ResumeTokens::loadOrCreate(s->config_.stateDir + "/resume.key");
    if (!tokens.ok()) {
        return tokens.status();
    }
    s->resumeTokens_.emplace(std::move(*tokens));
    std::optional<NameBindings> allowlist;
    if (s->config_.allowlist) {
        auto allow = NameBindings::loadAllowlist(*s->config_.allowlist);
        if (!allow.ok()) {
            return allow.status();
        }
        allowlist = std::move(*allow);
    }
    auto registry = LocalRegistry::load(s->config_.stateDir + "/bindings", std::move(allowlist));
    if (!registry.ok()) {
        return registry.status();
    }
    s->registry_ = std::make_unique<LocalRegistry>(std::move(*registry));
    s->router_ = std::make_unique<MediaRouter>(s->config_.udpFreshness);
    s->pending_ = std::make_unique<PendingConnections>(s->config_.maxConnectionsPerAddress);
    s->newNames_ = std::make_unique<SourceRateLimiter>(
        MonotonicClock::system(), double(s->config_.newNamesPerMinute) / 60.0,
        double(s->config_.newNamesPerMinute), 100000);
    Status bound = s->bindSockets();
    if (!bound.ok()) {
        return bound;
    }
    return s;
}

RelayServer::~RelayServer() {
    for (auto& m : mediaThreads_) {
        if (m->thread.joinable()) {
            m->loop->stop();
            m->thread.join();
        }
    }
}

Status RelayServer::bindSockets() {
    size_t threads = config_.mediaThreads;
    if (threads == 0) {
        threads = std::max(1u, std::thread::hardware_concurrency());
    }
    auto activated = takeActivatedSockets();
    if (!activated.ok()) {
        return activated.status();
    }
    if (!activated->empty()) {
        if (activated->tcpListeners.empty() || activated->udp.empty()) {
            return Status(Errc::InvalidArgument,
                          "socket activation must pass a TCP listener and a UDP socket");
        }
        listeners_ = std::move(activated->tcpListeners);
        auto local = localAddress(listeners_.front().get());
        port_ = local.ok() ? local->port() : 0;
        // One thread per passed UDP socket: several threads on one socket
        // would all wake for every datagram.
        for (auto& fd : activated->udp) {
            udpByThread_.emplace_back();
            udpByThread_.back().push_back(std::move(fd));
        }
        LOG_NOTICE("using %zu TCP and %zu UDP sockets from systemd", listeners_.size(),
                   udpByThread_.size());
    } else {
        auto address = SocketAddress::fromHostPort(config_.listen);
        if (!address.ok()) {
            return Status(Errc::InvalidArgument,
                          "listen address must be numeric: " + address.status().detail());
        }
        // Port 0 (tests): take the kernel's TCP port, then bind UDP to the
        // same number; retry if another program holds that UDP port.
        Status last;
        for (int attempt = 0; attempt < 20; ++attempt) {
            auto tcp = tcpListen(*address, 1024);
            if (!tcp.ok()) {
                return tcp.status();
            }
            auto local = localAddress(tcp->get());
            if (!local.ok()) {
                return local.status();
            }
            SocketAddress udpAddress = *address;
            udpAddress.setPort(local->port());
            std::vector<std::vector<UniqueFd>> udp;
            last = Status();
            for (size_t t = 0; t < threads && last.ok(); ++t) {
                auto fd = udpReusePort(udpAddress);
                if (!fd.ok()) {
                    last = fd.status();
                    break;
                }
                udp.emplace_back();
                udp.back().push_back(std::move(*fd));
            }
            if (last.ok()) {
                listeners_.push_back(std::move(*tcp));
                udpByThread_ = std::move(udp);
                port_ = local->port();
                break;
            }
            if (config_.listen.port != 0) {
                return last;
            }
        }
        if (!last.ok()) {
            return last;
        }
    }
    if (config_.metrics) {
        auto metrics = MetricsEndpoint::bind(*config_.metrics);
        if (!metrics.ok()) {
            return metrics.status();
        }
        metricsPort_ = (*metrics)->port();
        metrics_ = std::move(*metrics);
    }
    return Status();
}

Status RelayServer::run() {
    Status sig = loop_->watchSignals({SIGTERM, SIGINT, SIGHUP}, [this](int signal) {
        if (signal == SIGHUP) {
            reload();
        } else {
            LOG_NOTICE("signal %d: shutting down", signal);
            beginShutdown();
        }
    });
    if (!sig.ok()) {
        return sig;
    }
    std::signal(SIGPIPE, SIG_IGN);

    for (auto& fd : listeners_) {
        int lfd = fd.get();
        Status st =
            loop_->addFd(lfd, EventLoop::kReadable, [this, lfd](uint32_t) { onAccept(lfd); });
        if (!st.ok()) {
            return st;
        }
    }
    if (metrics_) {
        Status st = metrics_->start(*loop_, [this] { return renderMetrics(); });
        if (!st.ok()) {
            return st;
        }
    }
    loop_->addRepeatingTimer(kSweepInterval, [this] { sweep(); });

    // Media threads: each forwards datagrams from its own sockets. Batches
    // with recvmmsg/sendmmsg keep the system calls per packet below one.
    for (auto& sockets : udpByThread_) {
        auto m = std::make_unique<MediaThread>();
        auto loop = EventLoop::create();
        if (!loop.ok()) {
            return loop.status();
        }
        m->loop = std::move(*loop);
        m->sockets = std::move(sockets);
        MediaThread* mt = m.get();
        for (auto& fd : mt->sockets) {
            int ufd = fd.get();
            Status st = mt->loop->addFd(ufd, EventLoop::kReadable, [this, mt, ufd](uint32_t) {
                std::array<std::array<uint8_t, MediaHeader::kMaxDatagram + 1>, kUdpBatch> bufs;
                std::array<sockaddr_storage, kUdpBatch> addrs;
                std::array<iovec, kUdpBatch> iovs;
                std::array<mmsghdr, kUdpBatch> msgs;
                std::array<iovec, kUdpBatch> outIovs;
                std::array<mmsghdr, kUdpBatch> outMsgs;
                std::array<SocketAddress, kUdpBatch> outAddrs;
                for (int round = 0; round < 8; ++round) {
                    for (size_t i = 0; i < kUdpBatch; ++i) {
                        iovs[i] = {bufs[i].data(), bufs[i].size()};
                        msgs[i] = {};
                        msgs[i].msg_hdr.msg_iov = &iovs[i];
                        msgs[i].msg_hdr.msg_iovlen = 1;
                        msgs[i].msg_hdr.msg_name = &addrs[i];
                        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
                    }
                    int n = ::recvmmsg(ufd, msgs.data(), kUdpBatch, MSG_DONTWAIT, nullptr);
                    if (n <= 0) {
                        return;
                    }
                    const auto now = Clock::now();
                    size_t out = 0;
                    int outFd = -1;
                    auto flushOut = [&] {
                        size_t sent = 0;
                        while (sent < out) {
                            int k = ::sendmmsg(outFd, outMsgs.data() + sent, unsigned(out - sent),
                                               MSG_DONTWAIT);
                            if (k <= 0) {
                                // A full socket buffer drops, as UDP would.
                                router_->droppedPackets.fetch_add(out - sent,
                                                                  std::memory_order_relaxed);
                                break;
                            }
                            sent += size_t(k);
                        }
                        out = 0;
                    };
                    for (int i = 0; i < n; ++i) {
                        size_t len = msgs[i].msg_len;
                        if (len > MediaHeader::kMaxDatagram) {
                            router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
                            continue;
                        }
                        auto from = SocketAddress::fromSockaddr(
                            reinterpret_cast<sockaddr*>(&addrs[i]), msgs[i].msg_hdr.msg_namelen);
                        if (!from.ok()) {
                            continue;
                        }
                        // A source over its junk budget is dropped unread (JunkFilter).
                        if (!mt->junk.admit(*from, now)) {
                            router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
                            continue;
                        }
                        std::span<const uint8_t> packet(bufs[i].data(), len);
                        auto d = router_->route(packet, &*from, ufd, now);
                        if (d.askProbe) { // rate-limited per session by the router
                            loop_->post([this, conn = d.connection] { requestProbe(conn); });
                        }
                        if (d.rejected && mt->junk.rejected(*from, now)) {
                            LOG_WARNING("junk datagrams from %s: over %g/s, dropped unread for "
                                        "%lld s",
                                        sourceKey(*from).c_str(),
                                        JunkFilter::Limits{}.ratePerSecond,
                                        static_cast<long long>(
                                            JunkFilter::Limits{}.penalty.count() / 1000));
                        }
                        if (d.kind == MediaRouter::Delivery::Kind::Udp) {
                            if (outFd != -1 && d.fd != outFd) {
                                flushOut();
                            }
                            outFd = d.fd;
                            outAddrs[out] = d.to;
                            outIovs[out] = {bufs[i].data(), len};
                            outMsgs[out] = {};
                            outMsgs[out].msg_hdr.msg_iov = &outIovs[out];
                            outMsgs[out].msg_hdr.msg_iovlen = 1;
                            outMsgs[out].msg_hdr.msg_name = outAddrs[out].mutableData();
                            outMsgs[out].msg_hdr.msg_namelen = outAddrs[out].length();
                            ++out;
                        } else if (d.kind == MediaRouter::Delivery::Kind::Tunnel) {
                            if (pendingTunnel_.fetch_add(1) >= kMaxPendingTunnel) {
                                pendingTunnel_.fetch_sub(1);
                                router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
                                continue;
                            }
                            std::vector<uint8_t> copy(packet.begin(), packet.end());
                            loop_->post([this, conn = d.connection, copy = std::move(copy)] {
                                pendingTunnel_.fetch_sub(1);
                                deliverTunnel(conn, copy);
                            });
                        }
                    }
                    if (out > 0) {
                        flushOut();
                    }
                    mt->junkDroppedUnread.store(mt->junk.droppedUnread(),
                                                std::memory_order_relaxed);
                    mt->junkLimits.store(mt->junk.limitsStarted(), std::memory_order_relaxed);
                    if (size_t(n) < kUdpBatch) {
                        return;
                    }
                }
            });
            if (!st.ok()) {
                return st;
            }
        }
        mt->loop->addRepeatingTimer(milliseconds(500), [mt] {
            mt->heartbeat.store(
                std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch())
                    .count());
        });
        mt->heartbeat.store(
            std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch())
                .count());
        mediaThreads_.push_back(std::move(m));
    }
    for (auto& m : mediaThreads_) {
        MediaThread* mt = m.get();
        mt->thread = std::thread([mt] {
            Status st = mt->loop->run();
            if (!st.ok()) {
                LOG_ERROR("media loop failed: %s", st.toString().c_str());
            }
        });
    }

    // Watchdog: only while every loop still turns.
    if (auto interval = watchdogInterval()) {
        loop_->addRepeatingTimer(
            std::max(milliseconds(100), std::chrono::duration_cast<milliseconds>(*interval / 2)),
            [this] {
                const int64_t nowS = std::chrono::duration_cast<std::chrono::seconds>(
                                         Clock::now().time_since_epoch())
                                         .count();
                for (auto& m : mediaThreads_) {
                    if (nowS - m->heartbeat.load() > 3) {
                        LOG_WARNING("a media thread is stuck; not feeding the watchdog");
                        return;
                    }
                }
                (void)notifyWatchdog();
            });
    }

    std::string status = "listening on " + config_.listen.host + " port " + std::to_string(port_);
    if (metricsPort_) {
        status += ", metrics port " + std::to_string(*metricsPort_);
    }
    LOG_NOTICE("%s (TCP+UDP), %zu media threads", status.c_str(), mediaThreads_.size());
    (void)notifyStatus(status);
    (void)notifyReady();

    Status result = loop_->run();
    for (auto& m : mediaThreads_) {
        m->loop->stop();
    }
    for (auto& m : mediaThreads_) {
        if (m->thread.joinable()) {
            m->thread.join();
        }
    }
    return result;
}

void RelayServer::stop() {
    loop_->post([this] { beginShutdown(); });
}

// ---------------------------------------------------------------------------
// Leaving: a closing connection's part in the registry and its call

call_matcher::CallView RelayServer::viewOf(const CallState& call) {
    call_matcher::CallView v;
    v.caller = call.callerName;
    v.callee = call.calleeName;
    v.answered = call.active;
    v.callerPresent = call.caller != 0 && find(call.caller) != nullptr;
    v.calleePresent = call.callee != 0 && find(call.callee) != nullptr;
    return v;
}

call_matcher::Side RelayServer::sideOf(const CallState& call, const Connection& c) {
    return call.caller == c.id ? call_matcher::Side::Caller : call_matcher::Side::Callee;
}

void RelayServer::setCall(Connection& c, uint64_t serial, LineState line) {
    c.call = serial;
    if (c.state == Connection::State::Registered) {
        registry_->setLine(c.name, c.id, line);
    }
}

void RelayServer::leave(Connection& c) {
    if (c.call != 0) {
        auto it = calls_.find(c.call);
        if (it != calls_.end()) {
            const auto lost =
                call_matcher::onConnectionLost(viewOf(*it->second), sideOf(*it->second, c));
            if (lost.waitForResume) {
                // An answered call survives its party's connection for a while:
                // the party reconnects and resumes it (also on a restarted relay
                // when this is a shutdown, so nobody is told anything then).
                detachFromCall(c, *it->second);
            } else {
                endCall(c.call, lost.end.toCaller, lost.end.toCallee);
            }
        }
    }
    if (c.state == Connection::State::Registered) {
        registry_->setOffline(c.name, c.id);
    }
}

// ---------------------------------------------------------------------------
// Protocol

void RelayServer::handleFrame(Connection& c, const Frame& frame) {
    if (!c.bucket.tryTake()) {
        sendErrorAndClose(c, ErrorCode::RateLimited, "too many messages");
        return;
    }
    const FrameTypeInfo* info = frameTypeInfo(uint8_t(frame.type));
    if (!info || !mayBeSentBy(frame.type, FrameSender::Client)) {
        ++protocolErrors_;
        sendErrorAndClose(c, ErrorCode::Protocol,
                          "clients may not send " + std::string(frameTypeName(frame.type)));
        return;
    }
    // Forwarded without decoding into a copy: the bytes pass untouched.
    if (frame.type == FrameType::E2eHandshake && c.state == Connection::State::Registered) {
        handleHandshake(c, frame);
        return;
    }
    if (frame.type == FrameType::MediaTunnel && c.state == Connection::State::Registered) {
        handleTunnel(c, frame);
        return;
    }
    auto decoded = msg::decodeMessage(frame);
    if (!decoded.ok()) {
        ++protocolErrors_;
        sendErrorAndClose(c, ErrorCode::Protocol, decoded.status().detail());
        return;
    }
    msg::Message& m = *decoded;
    if (auto* k = std::get_if<msg::Keepalive>(&m)) {
        msg::KeepaliveEcho echo;
        echo.token = k->token;
        send(c, echo);
        return;
    }
    if (std::holds_alternative<msg::KeepaliveEcho>(m)) {
        return;
    }
    if (std::holds_alternative<msg::Error>(m)) {
        LOG_DEBUG("client %s reported an error", c.name.c_str());
        return;
    }
    switch (c.state) {
    case Connection::State::AwaitHello:
        if (auto* h = std::get_if<msg::Hello>(&m)) {
            handleHello(c, *h);
        } else {
            sendErrorAndClose(c, ErrorCode::Protocol, "expected hello");
        }
        return;
    case Connection::State::AwaitRegister:
        if (auto* r = std::get_if<msg::Register>(&m)) {
            handleRegister(c, *r);
        } else {
            sendErrorAndClose(c, ErrorCode::NotRegistered, "expected register");
        }
        return;
    case Connection::State::Registered:
        break;
    default:
        return;
    }
    std::visit(msg::Overloaded{
                   [&](const msg::Call& x) { handleCall(c, x); },
                   [&](const msg::Accept& x) { handleAccept(c, x); },
                   [&](const msg::Reject& x) { handleReject(c, x); },
                   [&](const msg::Hangup& x) { handleHangup(c, x); },
                   [&](const msg::Resume& x) { handleResume(c, x); },
                   [&](const auto&) {
                       ++protocolErrors_;
                       sendErrorAndClose(c, ErrorCode::Protocol, "unexpected message");
                   },
               },
               m);
}

void RelayServer::handleHello(Connection& c, const msg::Hello& m) {
    if (m.protocolVersion != kProtocolVersion) {
        refuse(c, RefuseReason::UnsupportedVersion,
               "protocol version " + std::to_string(m.protocolVersion) +
                   " is not served (this relay speaks " + std::to_string(kProtocolVersion) + ")");
        return;
    }
    msg::Hello hello;
    hello.software = std::string("voice-relayd ") + VOICE_VERSION;
    msg::RegisterChallenge challenge;
    randomBytes(c.nonce);
    challenge.nonce = c.nonce;
    c.state = Connection::State::AwaitRegister;
    if (send(c, hello)) {
        send(c, challenge);
    }
}

void RelayServer::handleRegister(Connection& c, const msg::Register& m) {
    if (!isValidName(m.name)) {
        refuse(c, RefuseReason::BadName, "invalid name");
        return;
    }
    const auto signedBytes = registerSignedBytes(c.nonce, m.name);
    if (!Identity::verify(m.identityKey, signedBytes, m.signature)) {
        refuse(c, RefuseReason::BadSignature, "the signature over the challenge does not verify");
        return;
    }
    switch (registry_->checkName(m.name, m.identityKey)) {
    case Registry::NameCheck::NotAllowed:
        refuse(c, RefuseReason::NotAllowed, "'" + m.name + "' is not on this relay's allowlist");
        return;
    case Registry::NameCheck::AllowlistedToOther:
        refuse(c, RefuseReason::NameTaken,
               "'" + m.name + "' is bound to another identity key by the allowlist");
        return;
    case Registry::NameCheck::Taken:
        refuse(c, RefuseReason::NameTaken,
               "'" + m.name + "' is registered with another identity key");
        return;
    case Registry::NameCheck::Free:
        if (!newNames_->tryTake(c.peer)) {
            refuse(c, RefuseReason::RateLimited, "too many new names from this address; try later");
            return;
        }
        if (!registry_->bindName(m.name, m.identityKey)) {
            refuse(c, RefuseReason::ServerFull, "no room for another name");
            return;
        }
        break;
    case Registry::NameCheck::Owned:
        break;
    }
    // Device switch: the newest proven connection owns the name.
    auto existing = registry_->connectionOf(m.name);
    if (existing && *existing != c.id) {
        if (Connection* old = find(*existing)) {
            LOG_INFO("'%s' registered again from %s; closing the old connection", m.name.c_str(),
                     describe(c.peer).c_str());
            // Replaced, not bad-state: the old client (another device with
            // the same key) must stop, not reconnect and take the name back.
            sendErrorAndClose(*old, ErrorCode::Replaced,
                              "'" + m.name + "' was registered again from another connection");
        }
        registry_->setOffline(m.name, *existing);
    }
    c.name = m.name;
    c.key = m.identityKey;
    c.state = Connection::State::Registered;
    if (c.pending) {
        c.pending = false;
        pending_->remove(c.peer, c.id); // from now on only max_clients bounds it
    }
    registry_->setOnline(c.name, c.id);
    ++registrations_;
    msg::Registered r;
    r.name = c.name;
    r.udpPort = port_;
    r.keepaliveSeconds = uint16_t(std::clamp<int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(config_.keepaliveInterval).count(), 1,
        3600));
    LOG_INFO("'%s' registered from %s", c.name.c_str(), describe(c.peer).c_str());
    send(c, r);
}

void RelayServer::handleCall(Connection& c, const msg::Call& m) {
    auto calleeId = registry_->connectionOf(m.callee);
    Connection* callee = calleeId ? find(*calleeId) : nullptr;
    if (callee && callee->state != Connection::State::Registered) {
        callee = nullptr;
    }
    if (c.call != 0 && calls_.count(c.call) == 0) {
        setCall(
            c, 0,
            LineState::Idle); // cannot happen (endCall clears both sides); never trust it blindly
    }
    std::optional<call_matcher::CallView> mine;
    if (c.call != 0) {
        mine = viewOf(*calls_.find(c.call)->second);
    }
    call_matcher::CallRequest request;
    request.caller = c.name;
    request.callee = m.callee;
    request.calleeOnline = callee != nullptr;
    request.calleeLine = registry_->line(m.callee);
    request.callerCall = mine ? &*mine : nullptr;
    switch (call_matcher::onCall(request)) {
    case call_matcher::CallDecision::AlreadyInCall: {
        msg::Error e;
        e.code = ErrorCode::BadState;
        e.text = "already in a call";
        send(c, e);
        return;
    }
    case call_matcher::CallDecision::CancelRingingAndRing: {
        const call_matcher::End end = call_matcher::glareEnd();
        endCall(c.call, end.toCaller, end.toCallee);
        startCall(c, *callee);
        return;
    }
    case call_matcher::CallDecision::Offline: {
        ++rejectedOffline_;
        msg::Offline o;
        o.callee = m.callee;
        send(c, o);
        return;
    }
    case call_matcher::CallDecision::Busy: {
        ++rejectedBusy_;
        msg::Busy busy;
        busy.callee = m.callee;
        send(c, busy);
        return;
    }
    case call_matcher::CallDecision::Ring:
        startCall(c, *callee);
        return;
    }
}

void RelayServer::startCall(Connection& caller, Connection& callee) {
    auto call = std::make_unique<CallState>();
    call->serial = nextId_++;
    randomBytes(call->id);
    call->caller = caller.id;
    call->callee = callee.id;
    call->callerName = caller.name;
    call->calleeName = callee.name;
    const uint64_t serial = call->serial;
    call->ringTimer = loop_->addTimer(config_.ringTimeout, [this, serial] {
        auto it = calls_.find(serial);
        if (it == calls_.end()) {
            return;
        }
        if (auto end = call_matcher::onRingTimeout(viewOf(*it->second))) {
            it->second->ringTimer = 0;
            ++timeouts_;
            endCall(serial, end->toCaller, end->toCallee);
        }
    });
    setCall(caller, serial, LineState::Ringing);
    setCall(callee, serial, LineState::Ringing);
    ++callsTotal_;
    msg::Ringing ringing;
    ringing.callId = call->id;
    ringing.callee = callee.name;
    ringing.calleeKey = callee.key;
    msg::IncomingCall incoming;
    incoming.callId = call->id;
    incoming.caller = caller.name;
    incoming.callerKey = caller.key;
    calls_.emplace(serial, std::move(call));
    LOG_INFO("'%s' calls '%s'", caller.name.c_str(), callee.name.c_str());
    send(caller, ringing);
    send(callee, incoming);
}

void RelayServer::endCall(uint64_t serial, std::optional<HangupReason> toCaller,
                          std::optional<HangupReason> toCallee) {
    auto it = calls_.find(serial);
    if (it == calls_.end()) {
        return;
    }
    std::unique_ptr<CallState> call = std::move(it->second);
    calls_.erase(it);
    if (call->ringTimer != 0) {
        loop_->cancelTimer(call->ringTimer);
    }
    if (call->graceTimer != 0) {
        loop_->cancelTimer(call->graceTimer);
    }
    if (call->active) {
        // Remember how it ended: a party that was away learns why when it
        // comes back, and a replayed token cannot bring the call back.
        HangupReason why = HangupReason::Normal;
        if (call->caller == 0) {
            why = toCaller.value_or(HangupReason::PeerLost);
        } else if (call->callee == 0) {
            why = toCallee.value_or(HangupReason::PeerLost);
        }
        endedCalls_.emplace_back(call->id, why);
        if (endedCalls_.size() > kMaxEndedCalls) {
            endedCalls_.pop_front();
        }
    }
    if (call->routed) {
        auto a = router_->stats(call->callerSession);
        auto b = router_->stats(call->calleeSession);
        router_->removeCall(call->callerSession, call->calleeSession);
        LOG_INFO("call '%s' -> '%s' ended; caller sent %llu packets (lost %llu, jitter %.1f ms), "
                 "callee sent %llu (lost %llu, jitter %.1f ms)",
                 call->callerName.c_str(), call->calleeName.c_str(), (unsigned long long)a.packets,
                 (unsigned long long)a.lost, a.jitterUs / 1000.0, (unsigned long long)b.packets,
                 (unsigned long long)b.lost, b.jitterUs / 1000.0);
    }
    auto notify = [&](uint64_t connId, std::optional<HangupReason> reason) {
        Connection* c = find(connId);
        if (!c || c->call != serial) {
            return;
        }
        setCall(*c, 0, LineState::Idle);
        if (reason && c->state != Connection::State::Closing) {
            msg::Hangup h;
            h.callId = call->id;
            h.reason = *reason;
            send(*c, h);
        }
    };
    notify(call->caller, toCaller);
    notify(call->callee, toCallee);
}

void RelayServer::handleAccept(Connection& c, const msg::Accept& m) {
    auto it = calls_.find(c.call);
    const bool known = it != calls_.end() && it->second->id == m.callId;
    std::optional<call_matcher::CallView> view;
    if (known) {
        view = viewOf(*it->second);
    }
    const auto from = known && it->second->callee == c.id ? call_matcher::Side::Callee
                                                          : call_matcher::Side::Caller;
    switch (call_matcher::onAccept(view ? &*view : nullptr, from)) {
    case call_matcher::AcceptDecision::UnknownCall: {
        msg::Error e;
        e.code = ErrorCode::UnknownCall;
        e.text = "no such call";
        send(c, e);
        return;
    }
    case call_matcher::AcceptDecision::NotCallee: {
        msg::Error e;
        e.code = ErrorCode::BadState;
        e.text = "only the callee of a ringing call can accept it";
        send(c, e);
        return;
    }
    case call_matcher::AcceptDecision::CallerGone: {
        const call_matcher::End end = call_matcher::onAcceptCallerGone();
        endCall(it->second->serial, end.toCaller, end.toCallee);
        return;
    }
    case call_matcher::AcceptDecision::Start:
        break;
    }
    CallState& call = *it->second;
    Connection* caller = find(call.caller);
    loop_->cancelTimer(call.ringTimer);
    call.ringTimer = 0;
    call.active = true;
    registry_->setLine(caller->name, caller->id, LineState::InCall);
    registry_->setLine(c.name, c.id, LineState::InCall);
    call.callerSession = router_->unusedSessionId();
    do {
        call.calleeSession = router_->unusedSessionId();
    } while (call.calleeSession == call.callerSession);
    router_->addCall(call.callerSession, call.caller, call.calleeSession, call.callee);
    call.routed = true;
    ++callsAnswered_;
    msg::CallStarted forCaller;
    forCaller.callId = call.id;
    forCaller.sessionId = call.callerSession;
    forCaller.role = CallRole::Caller;
    msg::CallStarted forCallee = forCaller;
    forCallee.sessionId = call.calleeSession;
    forCallee.role = CallRole::Callee;
    LOG_INFO("'%s' answered '%s'", call.calleeName.c_str(), call.callerName.c_str());
    send(*caller, forCaller);
    send(c, forCallee);
    sendResumeToken(*caller, call, CallRole::Caller);
    sendResumeToken(c, call, CallRole::Callee);
}

void RelayServer::sendResumeToken(Connection& c, CallState& call, CallRole role) {
    msg::ResumeToken t;
    t.callId = call.id;
    const bool caller = role == CallRole::Caller;
    const uint64_t session = caller ? call.callerSession : call.calleeSession;
    t.token = resumeTokens_->issue(call.id, role, session, c.name, c.key,
                                   std::chrono::system_clock::now() + kResumeTokenLifetime);
    // A fresh route key with every token: probes MACed under an older key
    // (captured before a resume or a restart) no longer move anything.
    MediaRouter::RouteKey& key = caller ? call.callerRouteKey : call.calleeRouteKey;
    while (RAND_bytes(key.data(), int(key.size())) != 1) {
        // the DRBG does not fail once seeded; never hand out a weak key
    }
    if (call.routed) {
        router_->setRouteKey(session, key);
    }
    t.routeKey = key;
    send(c, t);
    OPENSSL_cleanse(t.routeKey.data(), t.routeKey.size());
}

void RelayServer::requestProbe(uint64_t connection) {
    Connection* c = find(connection);
    if (!c || c->state != Connection::State::Registered) {
        return;
    }
    auto it = calls_.find(c->call);
    if (it == calls_.end() || !it->second->routed) {
        return;
    }
    msg::ProbeRequest r;
    r.callId = it->second->id;
    send(*c, r);
}

void RelayServer::startGraceTimer(CallState& call) {
    if (call.graceTimer != 0) {
        return;
    }
    const uint64_t serial = call.serial;
    call.graceTimer = loop_->addTimer(config_.resumeGrace, [this, serial] {
        auto it = calls_.find(serial);
        if (it == calls_.end()) {
            return;
        }
        it->second->graceTimer = 0;
        LOG_INFO("call '%s' -> '%s': a party did not resume in time",
                 it->second->callerName.c_str(), it->second->calleeName.c_str());
        const call_matcher::End end = call_matcher::onGraceExpired();
        endCall(serial, end.toCaller, end.toCallee);
    });
}

void RelayServer::detachFromCall(Connection& c, CallState& call) {
    if (call.caller == c.id) {
        call.caller = 0;
    } else if (call.callee == c.id) {
        call.callee = 0;
    }
    setCall(c, 0, LineState::Idle);
    // Also when nobody is left (a call rebuilt after a restart whose only
    // resumed side dropped again): the grace timer bounds how long it stays.
    LOG_INFO("'%s' lost its connection in a call; waiting %lld ms for it to resume", c.name.c_str(),
             static_cast<long long>(config_.resumeGrace.count()));
    startGraceTimer(call);
}

void RelayServer::handleResume(Connection& c, const msg::Resume& m) {
    auto refuseResume = [&](ErrorCode code, std::string text) {
        ++resumesRefused_;
        LOG_INFO("refused resume from '%s': %s", c.name.c_str(), text.c_str());
        msg::Error e;
        e.code = code;
        e.text = std::move(text);
        send(c, e);
    };
    auto claim =
        resumeTokens_->verify(m.callId, m.token, c.name, c.key, std::chrono::system_clock::now());
    if (!claim.ok()) {
        refuseResume(ErrorCode::UnknownCall, claim.status().detail());
        return;
    }
    const bool asCaller = claim->role == CallRole::Caller;
    auto findCall = [&]() -> CallState* {
        for (auto& [serial, existing] : calls_) {
            if (CRYPTO_memcmp(existing->id.data(), m.callId.data(), m.callId.size()) == 0) {
                return existing.get();
            }
        }
        return nullptr;
    };
    CallState* call = c.call != 0 ? nullptr : findCall();
    std::optional<HangupReason> endedWith;
    if (c.call == 0 && !call) {
        for (auto& [id, reason] : endedCalls_) {
            if (id == m.callId) {
                endedWith = reason;
                break;
            }
        }
    }
    while (true) {
        call_matcher::ResumeRequest request;
        request.side = asCaller ? call_matcher::Side::Caller : call_matcher::Side::Callee;
        request.resumerInCall = c.call != 0;
        request.known = call        ? call_matcher::ResumeRequest::Known::Live
                        : endedWith ? call_matcher::ResumeRequest::Known::Ended
                                    : call_matcher::ResumeRequest::Known::Unknown;
        std::optional<call_matcher::CallView> view;
        if (call) {
            view = viewOf(*call);
            const uint64_t slot = asCaller ? call->caller : call->callee;
            const uint64_t session = asCaller ? call->callerSession : call->calleeSession;
            const std::string& name = asCaller ? call->callerName : call->calleeName;
            const uint64_t other = asCaller ? call->calleeSession : call->callerSession;
            request.call = &*view;
            request.sideTaken = slot != 0;
            request.sessionMismatch = session != 0 && session != claim->session;
            request.nameMismatch = !name.empty() && name != c.name;
            request.sessionInUse =
                session == 0 && (claim->session == other || router_->contains(claim->session));
        }
        switch (call_matcher::onResume(request)) {
        case call_matcher::ResumeDecision::BadStateInCall:
            refuseResume(ErrorCode::BadState, "already in a call");
            return;
        case call_matcher::ResumeDecision::Ended: {
            ++resumesRefused_;
            msg::Hangup h;
            h.callId = m.callId;
            h.reason = *endedWith;
            send(c, h);
            return;
        }
        case call_matcher::ResumeDecision::Rebuild: {
            // Unknown call with a valid token: this relay restarted. Rebuild the
            // call from what the token vouches for; the other side fills in its
            // half when it resumes too.
            auto fresh = std::make_unique<CallState>();
            fresh->serial = nextId_++;
            fresh->id = m.callId;
            fresh->active = true;
            call = fresh.get();
            calls_.emplace(call->serial, std::move(fresh));
            startGraceTimer(*call);
            continue;
        }
        case call_matcher::ResumeDecision::BadState:
            refuseResume(ErrorCode::BadState, "this call cannot be resumed by this connection");
            return;
        case call_matcher::ResumeDecision::SessionInUse:
            refuseResume(ErrorCode::BadState, "session id in use");
            return;
        case call_matcher::ResumeDecision::Resume:
            break;
        }
        break;
    }
    uint64_t& slot = asCaller ? call->caller : call->callee;
    uint64_t& session = asCaller ? call->callerSession : call->calleeSession;
    std::string& name = asCaller ? call->callerName : call->calleeName;
    slot = c.id;
    session = claim->session;
    name = c.name;
    setCall(c, call->serial, LineState::InCall);
    if (call->routed) {
        router_->setConnection(session, c.id);
    } else if (call->callerSession != 0 && call->calleeSession != 0) {
        router_->addCall(call->callerSession, call->caller, call->calleeSession, call->callee);
        call->routed = true;
        // The side that resumed first got its key before the router knew it.
        if (asCaller) {
            router_->setRouteKey(call->calleeSession, call->calleeRouteKey);
        } else {
            router_->setRouteKey(call->callerSession, call->callerRouteKey);
        }
    }
    if (call_matcher::resumeCompletes(viewOf(*call))) {
        if (call->graceTimer != 0) {
            loop_->cancelTimer(call->graceTimer);
            call->graceTimer = 0;
        }
        LOG_INFO("call '%s' -> '%s' resumed", call->callerName.c_str(), call->calleeName.c_str());
    } else {
        LOG_INFO("'%s' resumed its call; waiting for the other side", c.name.c_str());
        startGraceTimer(*call);
    }
    ++resumes_;
    sendResumeToken(c, *call, claim->role);
}

void RelayServer::handleReject(Connection& c, const msg::Reject& m) {
    auto it = calls_.find(c.call);
    std::optional<call_matcher::End> end;
    if (it != calls_.end() && it->second->id == m.callId) {
        const auto view = viewOf(*it->second);
        end = call_matcher::onReject(&view, sideOf(*it->second, c));
    }
    if (!end) {
        msg::Error e;
        e.code = ErrorCode::UnknownCall;
        e.text = "no ringing call with this id";
        send(c, e);
        return;
    }
    endCall(c.call, end->toCaller, end->toCallee);
}

void RelayServer::handleHangup(Connection& c, const msg::Hangup& m) {
    auto it = calls_.find(c.call);
    std::optional<call_matcher::End> end;
    if (it != calls_.end() && it->second->id == m.callId) {
        const auto view = viewOf(*it->second);
        end = call_matcher::onHangup(&view, sideOf(*it->second, c), m.reason);
    }
    if (!end) {
        // A hangup racing the call's end is normal; say so quietly.
        msg::Error e;
        e.code = ErrorCode::UnknownCall;
        e.text = "no such call";
        send(c, e);
        return;
    }
    endCall(c.call, end->toCaller, end->toCallee);
}

void RelayServer::handleHandshake(Connection& c, const Frame& frame) {
    // Check the call id (the first 16 bytes) and pass the frame on byte for byte.
    auto it = calls_.find(c.call);
    if (frame.payload.size() < 16 + 2 || it == calls_.end() ||
        !std::equal(it->second->id.begin(), it->second->id.end(), frame.payload.begin())) {
        msg::Error e;
        e.code = ErrorCode::UnknownCall;
        e.text = "handshake for no call of yours";
        send(c, e);
        return;
    }
    auto decoded = msg::E2eHandshake::decode(frame.payload);
    if (!decoded.ok()) {
        ++protocolErrors_;
        sendErrorAndClose(c, ErrorCode::Protocol, decoded.status().detail());
        return;
    }
    const CallState& call = *it->second;
    Connection* peer = find(call.caller == c.id ? call.callee : call.caller);
    if (!peer) {
        return;
    }
    std::vector<uint8_t> out;
    if (appendFrame(out, FrameType::E2eHandshake, frame.payload).ok()) {
        sendRaw(*peer, out);
    }
}

void RelayServer::handleTunnel(Connection& c, const Frame& frame) {
    auto it = calls_.find(c.call);
    if (it == calls_.end() || !it->second->active) {
        return; // media after a hangup: drop silently
    }
    auto header = MediaHeader::decode(frame.payload);
    const uint64_t mine =
        it->second->caller == c.id ? it->second->callerSession : it->second->calleeSession;
    if (!header.ok() || header->sessionId != mine) {
        router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    router_->tunnelledPackets.fetch_add(1, std::memory_order_relaxed);
    auto d = router_->route(frame.payload, nullptr, -1, Clock::now());
    if (d.kind == MediaRouter::Delivery::Kind::Udp) {
        auto sent = sendTo(d.fd, std::as_bytes(frame.payload), d.to);
        if (!sent.ok() || !*sent) {
            router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        }
    } else if (d.kind == MediaRouter::Delivery::Kind::Tunnel) {
        deliverTunnel(d.connection, frame.payload);
    }
}

void RelayServer::deliverTunnel(uint64_t connection, std::span<const uint8_t> packet) {
    Connection* c = find(connection);
    if (!c || c->state != Connection::State::Registered) {
        router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // Media is expendable: never let it fill a slow reader's buffer past
    // half, so control messages still fit.
    if (c->tls->pendingOutput() > config_.outputBufferBytes / 2) {
        router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    std::vector<uint8_t> out;
    if (appendFrame(out, FrameType::MediaTunnel, packet).ok()) {
        sendRaw(*c, out);
    }
}

// ---------------------------------------------------------------------------
// Timers, reload, shutdown

void RelayServer::sweep() {
    const auto now = Clock::now();
    std::vector<uint64_t> expired;
    std::vector<uint64_t> idle;
    std::vector<uint64_t> lingering;
    for (auto& [id, c] : connections_) {
        switch (c->state) {
        case Connection::State::Closing:
            if (now >= c->lingerDeadline) {
                lingering.push_back(id);
            }
            break;
        case Connection::State::Registered:
            if (now - c->lastHeard > config_.idleTimeout) {
                idle.push_back(id);
            }
            break;
        default:
            if (now >= c->registrationDeadline) {
                expired.push_back(id);
            }
            break;
        }
    }
    for (uint64_t id : expired) {
        if (Connection* c = find(id)) {
            ++timeouts_;
            if (c->state == Connection::State::Handshake) {
                destroy(id);
            } else {
                refuse(*c, RefuseReason::Timeout, "registration took too long");
            }
        }
    }
    for (uint64_t id : idle) {
        if (Connection* c = find(id)) {
            ++timeouts_;
            LOG_INFO("'%s' silent for too long; dropping", c->name.c_str());
            sendErrorAndClose(*c, ErrorCode::Protocol, "no keepalive received");
        }
    }
    for (uint64_t id : lingering) {
        destroy(id);
    }
    if (metrics_) {
        metrics_->expire(now);
    }
}

void RelayServer::reload() {
    (void)notifyReloading();
    auto fresh = reloader_ ? reloader_() : Result<RelayConfig>(config_);
    if (!fresh.ok()) {
        LOG_ERROR("reload failed, keeping the old configuration: %s",
                  fresh.status().toString().c_str());
        (void)notifyReady();
        return;
    }
    std::optional<NameBindings> allow;
    if (fresh->allowlist) {
        auto loaded = NameBindings::loadAllowlist(*fresh->allowlist);
        if (!loaded.ok()) {
            LOG_ERROR("reload failed, keeping the old configuration: %s",
                      loaded.status().toString().c_str());
            (void)notifyReady();
            return;
        }
        allow = std::move(*loaded);
    }
    if (!(fresh->listen == config_.listen) || fresh->stateDir != config_.stateDir ||
        fresh->metrics != config_.metrics || fresh->mediaThreads != config_.mediaThreads ||
        fresh->maxConnectionsPerAddress != config_.maxConnectionsPerAddress) {
        LOG_WARNING("listen, state_dir, metrics, media_threads and max_connections_per_address "
                    "change only on restart");
        fresh->listen = config_.listen;
        fresh->stateDir = config_.stateDir;
        fresh->metrics = config_.metrics;
        fresh->mediaThreads = config_.mediaThreads;
        fresh->maxConnectionsPerAddress = config_.maxConnectionsPerAddress;
    }
    fresh->udpFreshness = config_.udpFreshness; // the router keeps its own copy
    config_ = std::move(*fresh);
    registry_->setAllowlist(std::move(allow));
    setLogLevel(config_.logLevel);
    newNames_ = std::make_unique<SourceRateLimiter>(MonotonicClock::system(),
                                                    double(config_.newNamesPerMinute) / 60.0,
                                                    double(config_.newNamesPerMinute), 100000);
    LOG_NOTICE("configuration reloaded%s", registry_->hasAllowlist() ? " (allowlist on)" : "");
    (void)notifyReady();
}

void RelayServer::beginShutdown() {
    if (shuttingDown_) {
        return;
    }
    shuttingDown_ = true;
    (void)notifyStopping();
    std::vector<uint64_t> ids;
    for (auto& [id, c] : connections_) {
        ids.push_back(id);
    }
    for (uint64_t id : ids) {
        if (Connection* c = find(id); c && c->state != Connection::State::Closing) {
            if (c->state == Connection::State::Handshake) {
                destroy(id);
            } else {
                sendErrorAndClose(*c, ErrorCode::Internal, "relay is shutting down");
            }
        }
    }
    // Give the goodbyes a moment to drain, then exit.
    loop_->addTimer(milliseconds(300), [this] { finishShutdown(); });
}

void RelayServer::finishShutdown() {
    std::vector<uint64_t> ids;
    for (auto& [id, c] : connections_) {
        ids.push_back(id);
    }
    for (uint64_t id : ids) {
        destroy(id);
    }
    loop_->stop();
}

} // namespace voice
