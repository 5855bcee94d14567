// SPDX-License-Identifier: MIT
// Load generator for voice-relayd: N concurrent calls on loopback, forwarded rate, loss, added
// latency.
//
// Usage: relay_load [--relay PATH] [--calls N[,N...]] [--seconds S] [--pool K]
//   --relay    the voice-relayd binary (default $VOICE_RELAYD, else build/relay/voice-relayd)
//   --calls    concurrent calls per run (default 1000; a list sweeps to find saturation)
//   --seconds  load per run (default 8)
//   --pool     0 (default): every client sends and receives on its own UDP
//              socket, as users do; K > 0: the media of all sessions shares K
//              sockets per side (a load generator shortcut that flatters the
//              relay: fewer flows, bigger batches)
//   --media-threads  the relay's media_threads (default 0: the relay's default)
//   --tick-ms  the sender wakes every 1 (default), 2, 5, 10 or 20 ms and sends
//              the flows due then: 20 sends every flow in one burst per
//              packet interval (like turnutils_uclient), 1 spreads them most
//
// For each run: starts a fresh relay (state on /dev/shm), registers 2N real
// clients over TLS (proof of key included), connects N calls, teaches the
// relay every side's address with a probe MACed under that side's route key,
// then sends 50 packets/s each way per call (160-byte media packets) for S
// seconds. Latency is one-way: send timestamp in the media header vs. receive
// time on the same CLOCK_MONOTONIC. The direct baseline is interleaved with
// the relayed load: every 10th packet of a flow also goes straight to its
// peer's socket, stamped with the same send time (marked by a session id no
// relay session has, the flow's own id in its payload). "added" is the
// relayed latency minus its direct twin's, pair by pair, so both halves of a
// sample saw the machine at the same moment (it used to go negative when the
// baseline was a separate phase on a shared machine). The relay's CPU time
// comes from /proc/PID/stat (utime+stime, all threads) over the load.
#include "../tests/relay/relay_harness.h"
#include "bench_stats.h"
#include "crypto/probe_auth.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>

using namespace voice;
using namespace voice::test;
using namespace voice::bench;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kPacketBytes = 160;
constexpr int kRate = 50;                                  // packets per second per direction
constexpr uint64_t kDirectSession = 0xD15EC7D15EC7D15Eull; // marks the direct samples
constexpr uint64_t kDirectEvery = 10;                      // one direct copy per 10 packets

struct Flow {
    uint64_t session;     // what the sender puts in its header
    int sendFd;           // socket it sends from
    SocketAddress to;     // the relay
    SocketAddress direct; // the peer's socket (the interleaved direct samples)
    uint64_t seq = 0;
};

struct PhaseResult {
    uint64_t sent = 0;     // relayed packets
    uint64_t received = 0; // relayed packets back
    std::vector<uint32_t> latencyUs;
    std::vector<uint32_t> directUs;
    std::vector<int32_t> addedUs; // relayed minus direct, per pair sent at the same moment
    double seconds = 0;
};

/// One latency sample of a packet that has a direct twin: (session, sequence, µs).
struct Sample {
    uint64_t session, seq;
    uint32_t us;
    bool operator<(const Sample& o) const {
        return session != o.session ? session < o.session : seq < o.seq;
    }
};

/// Sends every flow's packets at kRate for `seconds`, spread over slots of tickMs,
/// plus every kDirectEvery-th packet straight to the peer, while a receiver
/// thread drains the sockets.
PhaseResult runPhase(std::vector<Flow>& flows, const std::vector<int>& recvFds, double seconds,
                     int tickMs) {
    PhaseResult r;
    r.latencyUs.reserve(size_t(double(flows.size()) * kRate * seconds) + 1024);
    r.directUs.reserve(size_t(double(flows.size()) * kRate * seconds) / kDirectEvery + 1024);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> received{0};
    std::vector<Sample> directTwins, relayedTwins;
    std::thread receiver([&] {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        for (int fd : recvFds) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        constexpr int kBatch = 64;
        std::vector<std::array<uint8_t, 2048>> bufs(kBatch);
        std::array<iovec, kBatch> iov;
        std::array<mmsghdr, kBatch> msgs;
        epoll_event events[64];
        while (!stop.load()) {
            int n = epoll_wait(ep, events, 64, 50);
            for (int e = 0; e < n; ++e) {
                for (;;) {
                    for (int i = 0; i < kBatch; ++i) {
                        iov[i] = {bufs[i].data(), bufs[i].size()};
                        msgs[i] = {};
                        msgs[i].msg_hdr.msg_iov = &iov[i];
                        msgs[i].msg_hdr.msg_iovlen = 1;
                    }
                    int k = recvmmsg(events[e].data.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
                    if (k <= 0) {
                        break;
                    }
                    const uint64_t t = nowUs();
                    uint64_t relayed = 0;
                    for (int i = 0; i < k; ++i) {
                        auto h = MediaHeader::decode(
                            std::span<const uint8_t>(bufs[i].data(), msgs[i].msg_len));
                        if (!h.ok() || h->kind != MediaKind::Audio) {
                            continue;
                        }
                        const auto us =
                            uint32_t(std::min<uint64_t>(t - h->timestampUs, UINT32_MAX));
                        if (h->sessionId == kDirectSession) {
                            r.directUs.push_back(us);
                            uint64_t session = 0; // the twin's, in the payload
                            std::memcpy(&session, bufs[i].data() + MediaHeader::kSize,
                                        sizeof session);
                            directTwins.push_back({session, h->sequence, us});
                        } else {
                            r.latencyUs.push_back(us);
                            ++relayed;
                            if (h->sequence % kDirectEvery == 0) {
                                relayedTwins.push_back({h->sessionId, h->sequence, us});
                            }
                        }
                    }
                    received.fetch_add(relayed);
                    if (k < kBatch) {
                        break;
                    }
                }
            }
        }
        close(ep);
    });

    // Group flows by sending socket so each slot is one sendmmsg per socket.
    const int slots = 1000 / kRate / tickMs; // slots of tickMs per packet interval
    const size_t nSlots = size_t(slots);
    std::vector<std::vector<std::vector<Flow*>>> plan(nSlots); // [slot][group]
    {
        std::vector<std::vector<Flow*>> bySlot(nSlots);
        for (size_t i = 0; i < flows.size(); ++i) {
            bySlot[i % size_t(slots)].push_back(&flows[i]);
        }
        for (int s = 0; s < slots; ++s) {
            std::sort(bySlot[size_t(s)].begin(), bySlot[size_t(s)].end(),
                      [](Flow* a, Flow* b) { return a->sendFd < b->sendFd; });
            for (Flow* f : bySlot[size_t(s)]) {
                if (plan[size_t(s)].empty() ||
                    plan[size_t(s)].back().front()->sendFd != f->sendFd) {
                    plan[size_t(s)].emplace_back();
                }
                plan[size_t(s)].back().push_back(f);
            }
        }
    }
    std::vector<std::array<uint8_t, kPacketBytes>> packets(flows.size());
    std::vector<iovec> iov(flows.size());
    std::vector<mmsghdr> msgs(flows.size());
    std::array<uint8_t, kPacketBytes> directPacket{};
    std::vector<uint8_t> payload(kPacketBytes - MediaHeader::kSize, 0xa5);
    const auto start = Clock::now();
    const long totalSlots = long(seconds * 1000) / tickMs;
    timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long slot = 0; slot < totalSlots; ++slot) {
        for (auto& group : plan[size_t(slot % slots)]) {
            size_t n = 0;
            const uint64_t t = nowUs();
            for (Flow* f : group) {
                MediaHeader h;
                h.sessionId = f->session;
                h.sequence = f->seq++;
                h.timestampUs = t;
                auto& p = packets[n];
                h.encode(std::span<uint8_t, MediaHeader::kSize>(p.data(), MediaHeader::kSize));
                std::memcpy(p.data() + MediaHeader::kSize, payload.data(), payload.size());
                iov[n] = {p.data(), p.size()};
                msgs[n] = {};
                msgs[n].msg_hdr.msg_iov = &iov[n];
                msgs[n].msg_hdr.msg_iovlen = 1;
                msgs[n].msg_hdr.msg_name = const_cast<sockaddr*>(f->to.data());
                msgs[n].msg_hdr.msg_namelen = f->to.length();
                ++n;
                if (h.sequence % kDirectEvery == 0) {
                    h.sessionId = kDirectSession;
                    std::memcpy(directPacket.data(), p.data(), p.size());
                    std::memcpy(directPacket.data() + MediaHeader::kSize, &f->session,
                                sizeof f->session);
                    h.encode(std::span<uint8_t, MediaHeader::kSize>(directPacket.data(),
                                                                    MediaHeader::kSize));
                    (void)::sendto(f->sendFd, directPacket.data(), directPacket.size(), 0,
                                   f->direct.data(), f->direct.length());
                }
            }
            size_t done = 0;
            while (done < n) {
                int k = sendmmsg(group.front()->sendFd, msgs.data() + done, unsigned(n - done), 0);
                if (k <= 0) {
                    break;
                }
                done += size_t(k);
            }
            r.sent += done;
        }
        next.tv_nsec += 1000000L * tickMs;
        while (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            ++next.tv_sec;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // drain
    stop = true;
    receiver.join();
    r.received = received.load();
    // Pair each direct sample with its relayed twin (same flow, same send time).
    std::sort(directTwins.begin(), directTwins.end());
    std::sort(relayedTwins.begin(), relayedTwins.end());
    for (size_t d = 0, k = 0; d < directTwins.size() && k < relayedTwins.size();) {
        if (directTwins[d] < relayedTwins[k]) {
            ++d;
        } else if (relayedTwins[k] < directTwins[d]) {
            ++k;
        } else {
            const int64_t added = int64_t(relayedTwins[k].us) - int64_t(directTwins[d].us);
            r.addedUs.push_back(int32_t(std::clamp<int64_t>(added, INT32_MIN, INT32_MAX)));
            ++d;
            ++k;
        }
    }
    return r;
}

int runOnce(const std::string& binary, size_t calls, double seconds, size_t pool, int mediaThreads,
            int tickMs) {
    setenv("VOICE_RELAYD", binary.c_str(), 1);
    char tmpl[] = "/dev/shm/relay-load-XXXXXX";
    std::string shm = mkdtemp(tmpl) ? tmpl : "/tmp";
    RelayProcess relay("metrics = 127.0.0.1:0\nmax_clients = 1000000\n"
                       "max_connections_per_address = 1000000\nregistration_timeout = 10m\n"
                       "new_names_per_minute = 1000000\n"
                       "keepalive_interval = 1h\nidle_timeout = 3h\nring_timeout = 10m\n"
                       "log_level = warning\nmedia_threads = " +
                           std::to_string(mediaThreads) + "\n",
                       shm + "/state");
    if (!relay.start()) {
        std::fprintf(stderr, "relay did not start\n");
        return 1;
    }
    // Register 2N clients and connect N calls over the real control protocol.
    struct Side {
        uint64_t session;
        RouteKey key;
    };
    std::vector<std::unique_ptr<Client>> clients; // caller, callee, caller, ...
    std::vector<std::pair<Side, Side>> sessions;  // caller, callee
    auto t0 = Clock::now();
    for (size_t i = 0; i < calls; ++i) {
        auto id1 = Identity::generate().value();
        auto id2 = Identity::generate().value();
        auto a = Client::connect(relay.port(), pool == 0);
        auto b = Client::connect(relay.port(), pool == 0);
        const std::string na = "caller" + std::to_string(i), nb = "callee" + std::to_string(i);
        if (!a || !b || !a->registerOk(na, id1) || !b->registerOk(nb, id2)) {
            std::fprintf(stderr, "registration %zu failed\n", i);
            return 1;
        }
        msg::Call call;
        call.callee = nb;
        a->send(call);
        auto ringing = a->expect<msg::Ringing>();
        auto incoming = b->expect<msg::IncomingCall>();
        if (!ringing || !incoming) {
            std::fprintf(stderr, "call %zu failed\n", i);
            return 1;
        }
        msg::Accept accept;
        accept.callId = incoming->callId;
        b->send(accept);
        auto sa = a->expect<msg::CallStarted>();
        auto sb = b->expect<msg::CallStarted>();
        auto ta = a->expectResumeToken();
        auto tb = b->expectResumeToken();
        if (!sa || !sb || !ta || !tb) {
            std::fprintf(stderr, "call %zu did not start\n", i);
            return 1;
        }
        sessions.push_back({{sa->sessionId, ta->routeKey}, {sb->sessionId, tb->routeKey}});
        clients.push_back(std::move(a));
        clients.push_back(std::move(b));
    }
    const double setup = std::chrono::duration<double>(Clock::now() - t0).count();

    // Each side's socket: the client's own, or one of the K shared ones.
    std::vector<UniqueFd> callerPool, calleePool;
    for (size_t i = 0; i < pool; ++i) {
        auto a = udpBind(SocketAddress::loopbackV4(0));
        auto b = udpBind(SocketAddress::loopbackV4(0));
        if (!a.ok() || !b.ok()) {
            std::fprintf(stderr, "no UDP socket\n");
            return 1;
        }
        callerPool.push_back(std::move(*a));
        calleePool.push_back(std::move(*b));
    }
    auto callerFd = [&](size_t i) {
        return pool ? callerPool[i % pool].get() : clients[2 * i]->udpFd();
    };
    auto calleeFd = [&](size_t i) {
        return pool ? calleePool[i % pool].get() : clients[2 * i + 1]->udpFd();
    };
    std::vector<int> recvFds;
    for (size_t i = 0; i < (pool ? pool : calls); ++i) {
        recvFds.push_back(callerFd(i));
        recvFds.push_back(calleeFd(i));
    }
    for (int fd : recvFds) {
        int buf = pool ? 8 << 20 : 256 << 10;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    }
    const auto relayAddr = SocketAddress::loopbackV4(relay.port());

    // Teach the relay every session's address (an authenticated probe from
    // the socket the side sends from), then the load.
    std::vector<Flow> relayed;
    for (size_t i = 0; i < calls; ++i) {
        const auto& [caller, callee] = sessions[i];
        relayed.push_back({caller.session, callerFd(i), relayAddr, *localAddress(calleeFd(i))});
        relayed.push_back({callee.session, calleeFd(i), relayAddr, *localAddress(callerFd(i))});
        for (const Side* side : {&caller, &callee}) {
            auto probe = probe_auth::make(side->key, side->session, 1, 0);
            (void)sendTo(side == &caller ? callerFd(i) : calleeFd(i),
                         std::as_bytes(std::span(probe)), relayAddr);
        }
    }
    if (!waitUntil(
            [&] { return relay.metric("voice_relayd_probes_total") >= double(relayed.size()); },
            std::chrono::seconds(20))) {
        std::fprintf(stderr, "probes did not all arrive\n");
    }
    for (auto& f : relayed) {
        f.seq = 1;
    }
    const double cpu0 = cpuSeconds(relay.pid());
    PhaseResult rel = runPhase(relayed, recvFds, seconds, tickMs);
    const double cpu1 = cpuSeconds(relay.pid());
    const double forwarded = relay.metric("voice_relayd_packets_forwarded_total");
    const long rss = relay.vmRssKb();

    const double b50 = quantile(rel.directUs, 0.5), b99 = quantile(rel.directUs, 0.99),
                 b999 = quantile(rel.directUs, 0.999);
    const double r50 = quantile(rel.latencyUs, 0.5), r99 = quantile(rel.latencyUs, 0.99),
                 r999 = quantile(rel.latencyUs, 0.999);
    const double loss = rel.sent ? 1.0 - double(rel.received) / double(rel.sent) : 0;
    std::printf(
        "| %5zu | %7.0f | %8.0f | %7.4f%% | %5.0f / %5.0f / %6.0f | %5.0f / %5.0f / %6.0f | "
        "%5.0f / %5.0f / %6.0f | %5.2f | %6ld | %5.1f |\n",
        calls, double(rel.sent) / rel.seconds, double(rel.received) / rel.seconds, 100.0 * loss,
        b50, b99, b999, r50, r99, r999, quantile(rel.addedUs, 0.5), quantile(rel.addedUs, 0.99),
        quantile(rel.addedUs, 0.999), forwarded > 0 ? (cpu1 - cpu0) / forwarded * 1e6 : 0.0,
        rss / 1024, setup);
    std::fflush(stdout);
    int rc = relay.terminate() == 0 ? 0 : 1;
    std::string cleanup = "rm -rf '" + shm + "'";
    (void)std::system(cleanup.c_str());
    return rc;
}

} // namespace

int main(int argc, char** argv) {
    std::string binary =
        std::getenv("VOICE_RELAYD") ? std::getenv("VOICE_RELAYD") : "build/relay/voice-relayd";
    std::vector<size_t> calls = {1000};
    double seconds = 8;
    size_t pool = 0;
    int mediaThreads = 0;
    int tickMs = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--relay") {
            binary = v;
        } else if (a == "--calls") {
            calls.clear();
            std::stringstream ss(v);
            std::string item;
            while (std::getline(ss, item, ',')) {
                calls.push_back(std::min<size_t>(std::stoul(item), 20000));
            }
        } else if (a == "--seconds") {
            seconds = std::clamp(std::stod(v), 1.0, 120.0);
        } else if (a == "--media-threads") {
            mediaThreads = std::clamp(std::stoi(v), 0, 64);
        } else if (a == "--tick-ms") {
            tickMs = std::stoi(v);
            if (tickMs != 1 && tickMs != 2 && tickMs != 5 && tickMs != 10 && tickMs != 20) {
                std::fprintf(stderr, "--tick-ms: 1, 2, 5, 10 or 20\n");
                return 2;
            }
        } else if (a == "--pool") {
            pool = std::clamp<size_t>(std::stoul(v), 0, 1024);
        }
    }
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    std::printf(
        "relay_load: %zu-byte packets, %d/s each way per call, %.0f s per run, %s\n", kPacketBytes,
        kRate, seconds,
        pool
            ? ("media of all sessions on " + std::to_string(pool) + " UDP sockets per side").c_str()
            : "one UDP socket per client");
    std::printf("| calls | sent/s  | fwd/s    | loss     | direct p50/p99/p99.9 us | relayed "
                "p50/p99/p99.9 us | "
                "added p50/p99/p99.9 us | relay CPU us/pkt | RSS MiB | setup s |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    int rc = 0;
    for (size_t n : calls) {
        rc |= runOnce(binary, n, seconds, pool, mediaThreads, tickMs);
    }
    return rc;
}
