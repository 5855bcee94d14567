// SPDX-License-Identifier: MIT
// RelayServer: set-up, the control loop's wiring, registration, frame dispatch and the media
// forwarding threads. Connection I/O: relay_connections.cpp; calls: relay_calls.cpp (rules in
// call_matcher); names and presence: Registry; metrics: relay_metrics.cpp, MetricsEndpoint.
#include "relay/relay_server.h"

#include "config/secure_file.h"
#include "core/log.h"
#include "crypto/identity.h"
#include "net/clock.h"
#include "net/systemd.h"
#include "net/tls_identity.h"
#include "relay/cluster_matcher.h"
#include "relay/cluster_signals.h"
#include "relay/junk_filter.h"
#include "relay/local_registry.h"
#include "relay/media_slice.h"
#include "relay/metrics_endpoint.h"
#include "relay/redis_registry.h"
#include "relay/relay_server_internal.h"
#include "relay/reuseport_steering.h"
#include "relay/trunk.h"
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
    // tokens it issued before); the in-memory copy is wiped on exit. A
    // cluster derives it from the cluster key instead (joinCluster).
    if (!s->config_.redis) {
        auto tokens = ResumeTokens::loadOrCreate(s->config_.stateDir + "/resume.key");
        if (!tokens.ok()) {
            return tokens.status();
        }
        s->resumeTokens_.emplace(std::move(*tokens));
    }
    std::optional<NameBindings> allowlist;
    if (s->config_.allowlist) {
        auto allow = NameBindings::loadAllowlist(*s->config_.allowlist);
        if (!allow.ok()) {
            return allow.status();
        }
        allowlist = std::move(*allow);
    }
    if (!s->config_.redis) {
        auto registry =
            LocalRegistry::load(s->config_.stateDir + "/bindings", std::move(allowlist));
        if (!registry.ok()) {
            return registry.status();
        }
        s->registry_ = std::make_unique<LocalRegistry>(std::move(*registry));
    }
    s->router_ = std::make_unique<MediaRouter>(s->config_.udpFreshness);
    s->pending_ = std::make_unique<PendingConnections>(s->config_.maxConnectionsPerAddress);
    s->newNames_ = std::make_unique<SourceRateLimiter>(
        MonotonicClock::system(), double(s->config_.newNamesPerMinute) / 60.0,
        double(s->config_.newNamesPerMinute), 100000);
    Status bound = s->bindSockets();
    if (!bound.ok()) {
        return bound;
    }
    if (s->config_.redis) {
        Status joined = s->joinCluster(std::move(allowlist)); // after bindSockets: port_ is known
        if (!joined.ok()) {
            return joined;
        }
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
    OPENSSL_cleanse(clusterKey_.data(), clusterKey_.size());
    if (trunkKey_) {
        OPENSSL_cleanse(trunkKey_->data(), trunkKey_->size());
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
        if (trunkKey_) {
            m->trunkMac = std::make_unique<trunk::Mac>(*trunkKey_);
            if (!m->trunkMac->ok()) {
                return Status(Errc::Crypto, "HMAC-SHA256 unavailable: no trunk MAC");
            }
        }
        MediaThread* mt = m.get();
        for (auto& fd : mt->sockets) {
            int ufd = fd.get();
            Status st = mt->loop->addFd(ufd, EventLoop::kReadable, [this, mt, ufd](uint32_t) {
                constexpr size_t kMaxIn = MediaHeader::kMaxDatagram + trunk::kOverhead;
                std::array<std::array<uint8_t, kMaxIn + 1>, kUdpBatch> bufs;
                // Trunk datagrams this batch sends (cluster mode only).
                std::array<std::array<uint8_t, kMaxIn>, kUdpBatch> sealed;
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
                        if (len > kMaxIn) {
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
                        bool fromTrunk = false;
                        if (trunk::looksLikeTrunk(packet)) {
                            // From another relay of the cluster, or dropped unread.
                            auto inner =
                                mt->trunkMac ? trunk::open(*mt->trunkMac, packet) : std::nullopt;
                            if (!inner) {
                                router_->trunkRejected.fetch_add(1, std::memory_order_relaxed);
                                router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
                                continue;
                            }
                            // Only after the tag verified, so nobody outside
                            // the cluster moves a window (counted by the guard).
                            if (trunkReplay_->accept(inner->epoch, inner->sequence) !=
                                trunk::Verdict::Fresh) {
                                router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
                                continue;
                            }
                            packet = inner->packet;
                            fromTrunk = true;
                        } else if (len > MediaHeader::kMaxDatagram) {
                            router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
                            continue;
                        }
                        auto d = router_->route(packet, &*from, ufd, now, fromTrunk);
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
                        std::span<const uint8_t> send = packet;
                        if (d.kind == MediaRouter::Delivery::Kind::Trunk) {
                            const size_t n2 =
                                mt->trunkMac
                                    ? trunk::seal(*mt->trunkMac, *trunkSender_, packet, sealed[i])
                                    : 0;
                            if (n2 == 0) {
                                router_->droppedPackets.fetch_add(1, std::memory_order_relaxed);
                                continue;
                            }
                            send = std::span<const uint8_t>(sealed[i].data(), n2);
                            d.kind = MediaRouter::Delivery::Kind::Udp;
                        }
                        if (d.kind == MediaRouter::Delivery::Kind::Udp) {
                            if (outFd != -1 && d.fd != outFd) {
                                flushOut();
                            }
                            outFd = d.fd;
                            outAddrs[out] = d.to;
                            outIovs[out] = {const_cast<uint8_t*>(send.data()), send.size()};
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
    for (size_t i = 0; i < mediaThreads_.size(); ++i) {
        MediaThread* mt = mediaThreads_[i].get();
        mt->thread = std::thread([mt, i] {
            // Named for ps/top and the tests (/proc/PID/task/*/comm).
            pthread_setname_np(pthread_self(), ("media-" + std::to_string(i)).c_str());
            // Woken per datagram: run at once on a busy machine (media_slice.h).
            if (Status slice = requestShortSlice(kMediaSlice); !slice.ok()) {
                LOG_INFO("media thread keeps the default slice: %s", slice.toString().c_str());
            }
            Status st = mt->loop->run();
            if (!st.ok()) {
                LOG_ERROR("media loop failed: %s", st.toString().c_str());
            }
        });
    }

    // Size the working media threads to the load (MediaThreadSizer): one
    // until the datagram rate needs more, so light load does not pay for
    // idle threads waking.
    if (mediaThreads_.size() > 1 && !mediaThreads_.front()->sockets.empty()) {
        const int groupFd = mediaThreads_.front()->sockets.front().get();
        Status st = setMediaSpread(groupFd, MediaSpread::First);
        if (!st.ok()) {
            LOG_WARNING("media load stays spread over all threads: %s", st.toString().c_str());
        } else {
            loop_->addRepeatingTimer(milliseconds(1000), [this, groupFd, sizer = MediaThreadSizer(),
                                                          last = uint64_t(0),
                                                          lastAt = Clock::now()]() mutable {
                const uint64_t count = router_->forwardedPackets.load() +
                                       router_->droppedPackets.load() + router_->probes.load();
                const auto now = Clock::now();
                const double rate =
                    double(count - last) / std::chrono::duration<double>(now - lastAt).count();
                last = count;
                lastAt = now;
                const MediaSpread before = sizer.spread();
                if (sizer.update(rate) != before) {
                    Status set = setMediaSpread(groupFd, sizer.spread());
                    LOG_INFO("media: %.0f datagrams/s, %s%s", rate,
                             sizer.spread() == MediaSpread::All ? "spread over all threads"
                                                                : "one thread",
                             set.ok() ? "" : (": " + set.toString()).c_str());
                }
            });
        }
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
        if (c.claiming) {
            sendErrorAndClose(c, ErrorCode::Protocol, "register sent twice");
        } else if (auto* r = std::get_if<msg::Register>(&m)) {
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
    if (cluster_) {
        watchPeerRelays();
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
