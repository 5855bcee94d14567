// SPDX-License-Identifier: MIT
// Cluster bench (issue 19): 1, 2, 3 voice-relayd on 127.0.0.1/.2/.3 sharing a real redis-server.
//
// Usage: cluster_bench [--relay PATH] [--relays 1,2,3] [--calls N] [--pairs P] [--seconds S]
//                      [--users U]
//   --relay    the voice-relayd binary (default $VOICE_RELAYD, else build/relay/voice-relayd)
//   --relays   cluster sizes to run, each a fresh Redis and fresh relays (default 1,2,3)
//   --calls    calls placed one after another between random users (default 300)
//   --pairs    media pairs (default 100): each a cross-relay call and a same-relay call
//              whose packets leave one socket at the same moment
//   --seconds  per media phase (default 10)
//   --users    registered users per relay for the random calls (default 20)
//
// Per cluster size: starts redis-server (unix socket, --port 0, scratch dir;
// tests/relay/redis_process.h) and N relays in cluster mode (listen and
// advertise 127.0.0.K, one cluster key), registers U users on each with real
// TLS clients (tests/relay/relay_harness.h), then:
//  - setup: --calls calls between random users, each dial -> Ringing and
//    dial -> CallStarted at the caller (the callee answers as soon as its
//    IncomingCall arrives, as relay_cluster_test does), then a hangup;
//    same-relay and cross-relay apart. Around each call the relays'
//    own count of Redis commands sent (metrics) and Redis's INFO (commands
//    processed, its scripts' commands included; PUBLISH = pub/sub messages;
//    CPU) are read; the background (heartbeats) measured over an idle second
//    first is taken off, and so is the INFO itself.
//  - media: P pairs of calls; pair p's sender socket is probed for both its
//    cross-relay session and a same-relay one on the same relay, and sends
//    each packet to both, back to back, in turns (the same-relay twin first
//    on even sequence numbers, the trunked one on odd), each stamped just
//    before its own send. One-way latency per packet, to the kernel's
//    receive timestamp at the callee's socket (SO_TIMESTAMPNS; the stamps
//    are CLOCK_REALTIME, its clock, the one host clock): the callee's own
//    wake-up is no part of either path. The trunk hop's added latency is
//    cross minus same for the two twins, pair by pair, so both saw the
//    machine at the same moment. Why the turns and the two stamps: the first
//    twin's send wakes the relay, which can take the sender's core before
//    the second send (the kernel has a preemption point there, even inside
//    sendmmsg), and the relay serves its datagrams in arrival order; with one
//    stamp and a fixed order, that wait fell on the trunked twin alone. Phases of S seconds:
//    same-relay only and trunked only (relay CPU from /proc/PID/stat, every relay, less their idle
//    CPU measured over 2 s before, per packet the bench received: a trunked packet costs both
//    relays), then both at once (the added latency). /proc/PID/stat counts 10 ms ticks: the figure
//    needs many packets per phase (P x 50 x S) to mean much.
// 50 packets/s per flow, 160-byte packets; the receivers probe every 200 ms
// as voiced does, so their UDP addresses stay fresh.
#include "../tests/relay/redis_process.h"
#include "../tests/relay/relay_harness.h"
#include "bench_stats.h"
#include "crypto/probe_auth.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unordered_map>

using namespace voice;
using namespace voice::test;
using namespace voice::bench;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kPacketBytes = 160;
constexpr int kRate = 50; // packets per second per flow
constexpr double kSetupP99TargetMs = 50, kTrunkHopP99TargetUs = 100, kCommandsTarget = 20;

struct Options {
    std::string binary;
    std::vector<size_t> relays = {1, 2, 3};
    size_t calls = 300, pairs = 100, users = 20;
    double seconds = 10;
};

/// A redis-server and N relays in cluster mode on 127.0.0.1 .. 127.0.0.N.
struct Cluster {
    RedisProcess redis;
    std::vector<std::unique_ptr<RelayProcess>> relays;
    std::vector<SocketAddress> addresses; // each relay's TLS and UDP address

    bool start(size_t n) {
        if (!redis.start()) {
            std::fprintf(stderr, "redis-server: %s\n", redis.error().c_str());
            return false;
        }
        const std::string keyFile = redis.dir() + "/cluster.key";
        std::ofstream(keyFile) << "00112233445566778899aabbccddeeff"
                                  "00112233445566778899aabbccddeeff\n";
        ::chmod(keyFile.c_str(), 0600);
        for (size_t i = 0; i < n; ++i) {
            const std::string host = "127.0.0." + std::to_string(i + 1);
            relays.push_back(std::make_unique<RelayProcess>(
                redis.configLine() + "relay_id = r" + std::to_string(i + 1) + "\nlisten = " + host +
                ":0\nadvertise = " + host + ":0\ncluster_key_file = " + keyFile +
                "\nmetrics = 127.0.0.1:0\nmax_clients = 100000\n"
                "max_connections_per_address = 100000\nnew_names_per_minute = 1000000\n"
                "registration_timeout = 10m\nkeepalive_interval = 1h\nidle_timeout = 3h\n"
                "ring_timeout = 60s\nlog_level = warning\n"));
            if (!relays.back()->start()) {
                std::fprintf(stderr, "relay %zu did not start\n", i + 1);
                return false;
            }
            auto a = SocketAddress::parse(host + ":" + std::to_string(relays.back()->port()));
            if (!a.ok()) {
                return false;
            }
            addresses.push_back(*a);
        }
        return waitUntil(
            [&] {
                for (auto& r : relays) {
                    if (r->metric("voice_relayd_cluster_relays") != double(n)) {
                        return false;
                    }
                }
                return true;
            },
            10s);
    }

    /// Redis commands the relays sent so far (their own metric).
    double commandsSent() {
        double sum = 0;
        for (auto& r : relays) {
            sum += r->metric("voice_relayd_cluster_redis_commands_total");
        }
        return sum;
    }
    double relaysCpu() {
        double sum = 0;
        for (auto& r : relays) {
            sum += cpuSeconds(r->pid());
        }
        return sum;
    }
};

/// Redis's own counters, from one INFO.
struct RedisCounters {
    double processed = 0, publish = 0, info = 0, cpu = 0;

    static RedisCounters read(RedisProcess& redis) {
        const std::string text = redis.command({"INFO", "stats", "commandstats", "cpu"});
        auto field = [&](const std::string& key) {
            auto at = text.find(key);
            return at == std::string::npos ? 0.0 : std::atof(text.c_str() + at + key.size());
        };
        RedisCounters c;
        c.processed = field("total_commands_processed:");
        c.publish = field("cmdstat_publish:calls=");
        c.info = field("cmdstat_info:calls=");
        c.cpu = field("used_cpu_sys:") + field("used_cpu_user:");
        return c;
    }
};

struct User {
    std::string name;
    size_t relay = 0;
    std::unique_ptr<Client> client;
};

std::unique_ptr<Client> registerUser(Cluster& cluster, size_t relay, const std::string& name) {
    auto id = Identity::generate();
    auto c = Client::connect(cluster.addresses[relay]);
    if (!id.ok() || !c || !c->registerOk(name, *id)) {
        return nullptr;
    }
    // Present cluster-wide once its location is in Redis.
    if (!waitUntil([&] {
            return cluster.redis.command({"GET", "voice:loc:" + name}).find(' ') !=
                   std::string::npos;
        })) {
        return nullptr;
    }
    return c;
}

/// Call set-up times (ms) and Redis use of one kind of call.
struct SetupStats {
    std::vector<double> ringing, answered;
    double sent = 0, processed = 0, publish = 0, cpu = 0;
};

struct CallEnds {
    CallId id;
    uint64_t callerSession = 0, calleeSession = 0;
    RouteKey callerKey{}, calleeKey{};
};

/// caller dials callee, who answers at once; times at the caller.
std::optional<CallEnds> placeCall(Client& caller, Client& callee, const std::string& calleeName,
                                  double& ringingMs, double& answeredMs) {
    const auto t0 = Clock::now();
    msg::Call call;
    call.callee = calleeName;
    if (!caller.send(call)) {
        return std::nullopt;
    }
    auto incoming = callee.expect<msg::IncomingCall>();
    if (!incoming) {
        return std::nullopt;
    }
    msg::Accept accept;
    accept.callId = incoming->callId;
    if (!callee.send(accept) || !caller.expect<msg::Ringing>()) {
        return std::nullopt;
    }
    const auto t1 = Clock::now();
    auto started = caller.expect<msg::CallStarted>();
    const auto t2 = Clock::now();
    auto calleeStarted = callee.expect<msg::CallStarted>();
    auto callerToken = caller.expectResumeToken();
    auto calleeToken = callee.expectResumeToken();
    if (!started || !calleeStarted || !callerToken || !calleeToken) {
        return std::nullopt;
    }
    ringingMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
    answeredMs = std::chrono::duration<double, std::milli>(t2 - t0).count();
    return CallEnds{incoming->callId, started->sessionId, calleeStarted->sessionId,
                    callerToken->routeKey, calleeToken->routeKey};
}

/// The random calls: one at a time, each hung up before the next.
bool runSetup(Cluster& cluster, std::vector<User>& users, size_t calls, SetupStats& same,
              SetupStats& cross) {
    // The background: heartbeats and presence refreshes with no call.
    const RedisCounters idle0 = RedisCounters::read(cluster.redis);
    const double idleSent0 = cluster.commandsSent();
    const auto idleStart = Clock::now();
    std::this_thread::sleep_for(1s);
    const RedisCounters idle1 = RedisCounters::read(cluster.redis);
    const double idleSeconds = std::chrono::duration<double>(Clock::now() - idleStart).count();
    const double sentPerS = (cluster.commandsSent() - idleSent0) / idleSeconds;
    const double processedPerS = (idle1.processed - idle0.processed - 1) / idleSeconds;
    const double cpuPerS = (idle1.cpu - idle0.cpu) / idleSeconds;

    std::mt19937 random(19);
    std::uniform_int_distribution<size_t> pick(0, users.size() - 1);
    for (size_t i = 0; i < calls; ++i) {
        size_t a = pick(random), b = pick(random);
        while (b == a) {
            b = pick(random);
        }
        User& caller = users[a];
        User& callee = users[b];
        const double sent0 = cluster.commandsSent();
        const RedisCounters r0 = RedisCounters::read(cluster.redis);
        const auto t0 = Clock::now();
        double ringingMs = 0, answeredMs = 0;
        auto ends = placeCall(*caller.client, *callee.client, callee.name, ringingMs, answeredMs);
        if (!ends) {
            std::fprintf(stderr, "call %zu %s -> %s failed (%s / %s)\n", i, caller.name.c_str(),
                         callee.name.c_str(), caller.client->lastUnexpected().c_str(),
                         callee.client->lastUnexpected().c_str());
            return false;
        }
        msg::Hangup h;
        h.callId = ends->id;
        if (!caller.client->send(h) || !callee.client->expect<msg::Hangup>()) {
            std::fprintf(stderr, "hangup %zu failed\n", i);
            return false;
        }
        // The hangup's Redis commands leave after the callee heard it: wait
        // for both lines to be free before counting.
        double mine = 1; // the INFO that read r0 counts itself after its reply
        waitUntil(
            [&] {
                ++mine;
                return cluster.redis.command({"EXISTS", "voice:line:" + caller.name,
                                              "voice:line:" + callee.name}) == "0";
            },
            2s);
        const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        const RedisCounters r1 = RedisCounters::read(cluster.redis);
        SetupStats& s = caller.relay == callee.relay ? same : cross;
        s.ringing.push_back(ringingMs);
        s.answered.push_back(answeredMs);
        // Less the background over the call's time and our own commands.
        s.sent += cluster.commandsSent() - sent0 - sentPerS * seconds;
        s.processed += r1.processed - r0.processed - mine - processedPerS * seconds;
        s.publish += r1.publish - r0.publish;
        s.cpu += r1.cpu - r0.cpu - cpuPerS * seconds;
    }
    return true;
}

/// One media pair: the same-relay call's caller socket sends for both calls.
struct Pair {
    int sendFd = -1;
    SocketAddress relay;       // the sender's relay
    uint64_t sameSession = 0;  // its own session, to a callee on the same relay
    uint64_t crossSession = 0; // the cross-relay caller's session (0 with one relay)
    std::vector<User> keep;    // the clients, kept registered and in their calls
};

/// A callee that only receives: it probes every 200 ms to stay fresh.
struct Receiver {
    int fd = -1;
    size_t pair = 0;
    int kind = 0; // 0 same-relay, 1 cross-relay
    uint64_t session = 0;
    RouteKey key{};
    SocketAddress relay;
    uint64_t counter = 0;
};

bool probe(int fd, const RouteKey& key, uint64_t session, uint64_t counter,
           const SocketAddress& relay) {
    auto p = probe_auth::make(key, session, counter, 0);
    auto sent = sendTo(fd, std::as_bytes(std::span(p)), relay);
    return sent.ok() && *sent;
}

/// Registers and connects the media pairs: per pair w -> y on relay A, and
/// (two relays or more) x on A -> z on the next relay.
bool setupPairs(Cluster& cluster, size_t count, std::vector<Pair>& pairs,
                std::vector<Receiver>& receivers) {
    const size_t n = cluster.relays.size();
    for (size_t p = 0; p < count; ++p) {
        const size_t a = p % n, b = (a + 1) % n;
        const std::string tag = std::to_string(p);
        Pair pair;
        User w{"mw" + tag, a, registerUser(cluster, a, "mw" + tag)};
        User y{"my" + tag, a, registerUser(cluster, a, "my" + tag)};
        if (!w.client || !y.client) {
            return false;
        }
        double ringing = 0, answered = 0;
        auto same = placeCall(*w.client, *y.client, y.name, ringing, answered);
        if (!same) {
            return false;
        }
        pair.sendFd = w.client->udpFd();
        pair.relay = cluster.addresses[a];
        pair.sameSession = same->callerSession;
        int probes = probe(pair.sendFd, same->callerKey, same->callerSession, 1, pair.relay) +
                     probe(y.client->udpFd(), same->calleeKey, same->calleeSession, 1, pair.relay);
        receivers.push_back(
            {y.client->udpFd(), p, 0, same->calleeSession, same->calleeKey, pair.relay, 1});
        pair.keep.push_back(std::move(w));
        pair.keep.push_back(std::move(y));
        if (n > 1) {
            User x{"mx" + tag, a, registerUser(cluster, a, "mx" + tag)};
            User z{"mz" + tag, b, registerUser(cluster, b, "mz" + tag)};
            if (!x.client || !z.client) {
                return false;
            }
            auto cross = placeCall(*x.client, *z.client, z.name, ringing, answered);
            if (!cross) {
                return false;
            }
            pair.crossSession = cross->callerSession;
            // x's session sends from w's socket, beside w's own.
            probes += probe(pair.sendFd, cross->callerKey, cross->callerSession, 1, pair.relay) +
                      probe(z.client->udpFd(), cross->calleeKey, cross->calleeSession, 1,
                            cluster.addresses[b]);
            receivers.push_back({z.client->udpFd(), p, 1, cross->calleeSession, cross->calleeKey,
                                 cluster.addresses[b], 1});
            pair.keep.push_back(std::move(x));
            pair.keep.push_back(std::move(z));
        }
        if (probes != (n > 1 ? 4 : 2)) {
            return false;
        }
        pairs.push_back(std::move(pair));
    }
    const double expected = double(count * (n > 1 ? 4 : 2));
    return waitUntil(
        [&] {
            double sum = 0;
            for (auto& r : cluster.relays) {
                sum += r->metric("voice_relayd_probes_total");
            }
            return sum >= expected;
        },
        10s);
}

struct MediaResult {
    uint64_t sent = 0, received = 0;
    std::vector<uint32_t> latencyUs[2]; // [same, cross]
    std::vector<int32_t> addedUs;       // cross minus same, twin by twin
    double cpuUsPerPacket = 0;
};

/// One datagram from `fd` (non-blocking) and when the kernel queued it on
/// the socket (SO_TIMESTAMPNS, CLOCK_REALTIME µs; now if it gave none).
ssize_t recvStamped(int fd, std::array<uint8_t, 2048>& buf, uint64_t& arrivalUs) {
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    const ssize_t len = ::recvmsg(fd, &m, MSG_DONTWAIT);
    arrivalUs = wallUs();
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); len > 0 && c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts;
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            arrivalUs = uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
        }
    }
    return len;
}

/// `seconds` of media on the chosen kinds of flows.
/// `idleCpuPerS`: the relays' CPU seconds per second with no media (their
/// timers, heartbeats), taken off before dividing by the packets.
MediaResult runMedia(Cluster& cluster, std::vector<Pair>& pairs, std::vector<Receiver>& receivers,
                     bool same, bool cross, double seconds, double idleCpuPerS) {
    const size_t perPair = size_t(seconds * kRate) + 8;
    // [kind][pair * perPair + sequence]: one-way µs, -1 not received.
    std::vector<int32_t> lat[2] = {std::vector<int32_t>(pairs.size() * perPair, -1),
                                   std::vector<int32_t>(pairs.size() * perPair, -1)};
    std::unordered_map<int, const Receiver*> byFd;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (const auto& r : receivers) {
        byFd[r.fd] = &r;
        int one = 1;
        ::setsockopt(r.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = r.fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, r.fd, &ev);
    }
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> received{0};
    std::thread receiver([&] {
        std::array<uint8_t, 2048> buf;
        epoll_event events[64];
        while (!stop.load()) {
            int n = epoll_wait(ep, events, 64, 50);
            for (int e = 0; e < n; ++e) {
                const Receiver& r = *byFd[events[e].data.fd];
                for (;;) {
                    uint64_t t = 0;
                    const ssize_t len = recvStamped(r.fd, buf, t);
                    if (len <= 0) {
                        break;
                    }
                    auto h = MediaHeader::decode(std::span<const uint8_t>(buf.data(), size_t(len)));
                    if (!h.ok() || h->kind != MediaKind::Audio || h->sequence >= perPair) {
                        continue; // probe echoes
                    }
                    lat[r.kind][r.pair * perPair + h->sequence] = int32_t(
                        std::min<uint64_t>(t > h->timestampUs ? t - h->timestampUs : 0, INT32_MAX));
                    received.fetch_add(1, std::memory_order_relaxed);
                }
            }
        }
    });

    MediaResult out;
    const double cpu0 = cluster.relaysCpu();
    const auto start = Clock::now();
    std::array<uint8_t, kPacketBytes> packet{};
    const long ticks = long(seconds * 1000);
    constexpr long kSlots = 1000 / kRate; // 1 ms slots in a packet interval
    timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long tick = 0; tick < ticks; ++tick) {
        if (tick % 200 == 0) {
            for (auto& r : receivers) {
                probe(r.fd, r.key, r.session, ++r.counter, r.relay);
            }
        }
        for (size_t p = size_t(tick % kSlots); p < pairs.size(); p += kSlots) {
            Pair& pair = pairs[p];
            MediaHeader h;
            h.sequence = uint64_t(tick / kSlots);
            for (int turn = 0; turn < 2; ++turn) {
                const int kind = turn ^ int(h.sequence % 2); // who goes first takes turns
                const bool on = kind == 0 ? same : cross && pair.crossSession != 0;
                if (!on) {
                    continue;
                }
                h.sessionId = kind == 0 ? pair.sameSession : pair.crossSession;
                h.timestampUs = wallUs();
                h.encode(std::span<uint8_t, MediaHeader::kSize>(packet.data(), MediaHeader::kSize));
                auto sent = sendTo(pair.sendFd, std::as_bytes(std::span(packet)), pair.relay);
                out.sent += sent.ok() && *sent;
            }
        }
        next.tv_nsec += 1000000L;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            ++next.tv_sec;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    }
    std::this_thread::sleep_for(300ms); // the last ones in flight
    const double cpu1 = cluster.relaysCpu();
    stop = true;
    receiver.join();
    ::close(ep);
    out.received = received.load();
    const double busy =
        cpu1 - cpu0 - idleCpuPerS * std::chrono::duration<double>(Clock::now() - start).count();
    out.cpuUsPerPacket = out.received ? std::max(0.0, busy) / double(out.received) * 1e6 : 0;
    for (size_t i = 0; i < lat[0].size(); ++i) {
        for (int kind = 0; kind < 2; ++kind) {
            if (lat[kind][i] >= 0) {
                out.latencyUs[kind].push_back(uint32_t(lat[kind][i]));
            }
        }
        if (lat[0][i] >= 0 && lat[1][i] >= 0) {
            out.addedUs.push_back(lat[1][i] - lat[0][i]);
        }
    }
    return out;
}

const char* verdict(bool ok) {
    return ok ? "ok" : "MISSED";
}

int runCluster(const Options& o, size_t n, std::vector<std::string>& targets) {
    Cluster cluster;
    if (!cluster.start(n)) {
        std::fprintf(stderr, "the cluster of %zu did not come up\n", n);
        return 1;
    }
    std::vector<User> users;
    for (size_t r = 0; r < n; ++r) {
        for (size_t i = 0; i < o.users; ++i) {
            std::string name = "u" + std::to_string(r + 1) + "x" + std::to_string(i);
            auto c = registerUser(cluster, r, name);
            if (!c) {
                std::fprintf(stderr, "%s did not register\n", name.c_str());
                return 1;
            }
            users.push_back({name, r, std::move(c)});
        }
    }
    SetupStats same, cross;
    if (!runSetup(cluster, users, o.calls, same, cross)) {
        return 1;
    }
    std::vector<Pair> pairs;
    std::vector<Receiver> receivers;
    if (!setupPairs(cluster, o.pairs, pairs, receivers)) {
        std::fprintf(stderr, "the media pairs did not connect\n");
        return 1;
    }
    // The relays' idle CPU (ticks of 10 ms: measured over 2 s).
    const double idle0 = cluster.relaysCpu();
    std::this_thread::sleep_for(2s);
    const double idleCpuPerS = (cluster.relaysCpu() - idle0) / 2;
    MediaResult sameOnly = runMedia(cluster, pairs, receivers, true, false, o.seconds, idleCpuPerS);
    MediaResult trunked, both;
    if (n > 1) {
        trunked = runMedia(cluster, pairs, receivers, false, true, o.seconds, idleCpuPerS);
        both = runMedia(cluster, pairs, receivers, true, true, o.seconds, idleCpuPerS);
    }

    // Net of the background, a call that sends nothing can come out a hair
    // below 0: shown as 0.
    auto perCall = [](double total, const SetupStats& s) {
        return s.ringing.empty() ? 0.0 : std::max(0.0, total / double(s.ringing.size()));
    };
    auto setupCell = [](SetupStats& s) {
        char cell[96];
        if (s.ringing.empty()) {
            return std::string("-");
        }
        std::snprintf(cell, sizeof cell, "%zu: %.2f / %.2f, %.2f / %.2f", s.ringing.size(),
                      quantile(s.ringing, 0.5), quantile(s.ringing, 0.99),
                      quantile(s.answered, 0.5), quantile(s.answered, 0.99));
        return std::string(cell);
    };
    auto loss = [](const MediaResult& m) {
        return m.sent ? 100.0 * (1.0 - double(m.received) / double(m.sent)) : 0.0;
    };
    char trunkCells[160] = "- | - | -";
    if (n > 1) {
        std::snprintf(trunkCells, sizeof trunkCells, "%.0f / %.0f | %.0f / %.0f | %.2f (%.3f%%)",
                      quantile(trunked.latencyUs[1], 0.5), quantile(trunked.latencyUs[1], 0.99),
                      quantile(both.addedUs, 0.5), quantile(both.addedUs, 0.99),
                      trunked.cpuUsPerPacket, loss(trunked));
    }
    std::printf("| %zu | %s | %s | %.0f / %.0f | %s | %.2f (%.3f%%) | %.1f / %.1f | %.1f / %.1f | "
                "%.1f | %.0f / %.0f | %.1f |\n",
                n, setupCell(same).c_str(), setupCell(cross).c_str(),
                quantile(sameOnly.latencyUs[0], 0.5), quantile(sameOnly.latencyUs[0], 0.99),
                trunkCells, sameOnly.cpuUsPerPacket, loss(sameOnly), perCall(same.sent, same),
                perCall(cross.sent, cross), perCall(same.processed, same),
                perCall(cross.processed, cross), perCall(cross.publish, cross),
                perCall(same.cpu, same) * 1e6, perCall(cross.cpu, cross) * 1e6, idleCpuPerS * 1e3);
    std::fflush(stdout);
    if (n > 1) {
        const double setupP99 = quantile(cross.answered, 0.99);
        const double hopP99 = quantile(both.addedUs, 0.99);
        const double commands = perCall(cross.sent, cross);
        char line[256];
        std::snprintf(line, sizeof line,
                      "%zu relays: cross-relay setup p99 %.2f ms (<= %.0f ms: %s), trunk hop "
                      "added p99 %.0f us (<= %.0f us: %s), Redis commands per cross-relay call "
                      "%.1f sent by the relays (<= %.0f: %s; %.1f processed with the scripts' own)",
                      n, setupP99, kSetupP99TargetMs, verdict(setupP99 <= kSetupP99TargetMs),
                      hopP99, kTrunkHopP99TargetUs, verdict(hopP99 <= kTrunkHopP99TargetUs),
                      commands, kCommandsTarget, verdict(commands <= kCommandsTarget),
                      perCall(cross.processed, cross));
        targets.push_back(line);
    }
    int rc = 0;
    for (auto& r : cluster.relays) {
        rc |= r->terminate() == 0 ? 0 : 1;
    }
    return rc;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    o.binary =
        std::getenv("VOICE_RELAYD") ? std::getenv("VOICE_RELAYD") : "build/relay/voice-relayd";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--relay") {
            o.binary = v;
        } else if (a == "--relays") {
            o.relays.clear();
            std::stringstream ss(v);
            std::string item;
            while (std::getline(ss, item, ',')) {
                o.relays.push_back(std::clamp<size_t>(std::stoul(item), 1, 3));
            }
        } else if (a == "--calls") {
            o.calls = std::clamp<size_t>(std::stoul(v), 1, 100000);
        } else if (a == "--pairs") {
            o.pairs = std::clamp<size_t>(std::stoul(v), 1, 2000);
        } else if (a == "--seconds") {
            o.seconds = std::clamp(std::stod(v), 1.0, 120.0);
        } else if (a == "--users") {
            o.users = std::clamp<size_t>(std::stoul(v), 2, 1000);
        } else {
            std::fprintf(stderr, "unknown option %s (see the header of bench/cluster_bench.cpp)\n",
                         a.c_str());
            return 2;
        }
    }
    setenv("VOICE_RELAYD", o.binary.c_str(), 1);
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    std::printf("cluster_bench: %zu random calls between %zu users per relay, one at a time; "
                "%zu media pairs, %zu-byte packets at %d/s per flow, %.0f s per phase\n",
                o.calls, o.users, o.pairs, kPacketBytes, kRate, o.seconds);
    std::printf(
        "| relays | same-relay calls: n: ringing p50 / p99, answered p50 / p99 ms | "
        "cross-relay calls: the same | same-relay one-way p50 / p99 us | trunked "
        "one-way p50 / p99 us | trunk hop added p50 / p99 us | relay CPU us/pkt "
        "trunked (loss) | relay CPU us/pkt same-relay (loss) | Redis commands per call "
        "sent by the relays same / cross | processed by Redis same / cross | PUBLISH per "
        "cross call | Redis CPU us per call same / cross | relays' idle CPU ms/s (taken off "
        "the us/pkt) |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    std::vector<std::string> targets;
    int rc = 0;
    for (size_t n : o.relays) {
        rc |= runCluster(o, n, targets);
    }
    for (const auto& t : targets) {
        std::printf("targets, %s\n", t.c_str());
    }
    return rc;
}
