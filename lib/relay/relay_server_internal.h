// SPDX-License-Identifier: MIT
// RelayServer's per-object state, shared by the files that implement it
// (relay_server.cpp, relay_metrics.cpp ...). Control thread only, except
// MediaThread's atomics.
#pragma once

#include "core/log.h"
#include "relay/junk_filter.h"
#include "relay/relay_server.h"

#include <atomic>
#include <chrono>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <thread>

namespace voice {

using Clock = std::chrono::steady_clock;

inline void randomBytes(std::span<uint8_t> out) {
    while (RAND_bytes(out.data(), int(out.size())) != 1) {
    }
}

inline std::string describe(const SocketAddress& a) {
    return a.toString();
}

struct RelayServer::Connection {
    enum class State { Handshake, AwaitHello, AwaitRegister, Registered, Closing };
    Connection(uint64_t i, const MonotonicClock& clock, double rate, double burst)
        : id(i), bucket(clock, rate, burst) {}
    uint64_t id;
    std::unique_ptr<TlsConnection> tls;
    SocketAddress peer;
    State state = State::Handshake;
    FrameDecoder decoder;
    RegisterNonce nonce{};
    std::string name;
    IdentityKey key{};
    TokenBucket bucket;
    Clock::time_point registrationDeadline;
    Clock::time_point lastHeard;
    Clock::time_point lingerDeadline;
    uint32_t watched = 0;
    bool pending = true;   // counted in pending_ (not registered yet)
    bool claiming = false; // cluster mode: Register waits for Redis
    bool resuming = false; // cluster mode: a Resume waits for Redis
    uint64_t call = 0;     // serial of this connection's call (ringing or active), 0 if idle
};

struct RelayServer::CallState {
    uint64_t serial = 0;
    CallId id{};
    uint64_t caller = 0; // connection ids; 0 while that side is away (answered calls only)
    uint64_t callee = 0;
    std::string callerName;
    std::string calleeName;
    bool active = false;
    EventLoop::TimerId ringTimer = 0;
    uint64_t callerSession = 0; // 0: not known yet (a call resumed after a relay restart)
    uint64_t calleeSession = 0;
    bool routed = false;               // both sessions are in the MediaRouter
    EventLoop::TimerId graceTimer = 0; // running while a side is away
    // Each side's current route key (the last ResumeToken it got), kept so a
    // call rebuilt after a restart can hand the first resumed side's key to
    // the router once the second side completes it. Wiped with the call.
    MediaRouter::RouteKey callerRouteKey{};
    MediaRouter::RouteKey calleeRouteKey{};
    // Cluster (issue 19): a call with one side on another relay.
    std::string peerRelay;                 // that relay's id; empty: both sides are on this relay
    bool remoteCaller = false;             // which side is over there (the other is ours)
    bool toldRinging = false;              // the caller's relay: Ringing went to our caller
    bool awaitingPeer = false;             // resumed here: waiting for the other relay's Resumed
    EventLoop::TimerId peerGraceTimer = 0; // the far side's relay died: waiting for a resume
    bool clusterRecord = false;            // a local call (merged) that still has a record in Redis
    std::optional<SocketAddress> peerTrunk; // the other relay's trunk address
    bool remote() const { return !peerRelay.empty(); }
    ~CallState() {
        OPENSSL_cleanse(callerRouteKey.data(), callerRouteKey.size());
        OPENSSL_cleanse(calleeRouteKey.data(), calleeRouteKey.size());
    }
};

struct RelayServer::MediaThread {
    std::unique_ptr<EventLoop> loop;
    std::vector<UniqueFd> sockets;
    std::thread thread;
    std::atomic<int64_t> heartbeat{0};    // steady-clock seconds of the last loop turn
    JunkFilter junk;                      // this thread's only
    std::unique_ptr<trunk::Mac> trunkMac; // cluster mode: this thread's own (not thread-safe)
    // Copies of junk's counters for the metrics (written by this thread, read by the control loop).
    std::atomic<uint64_t> junkDroppedUnread{0}, junkLimits{0};
};

template <typename M>
bool RelayServer::send(Connection& c, const M& message) {
    std::vector<uint8_t> frame;
    Status st = msg::appendMessage(frame, message);
    if (!st.ok()) {
        LOG_ERROR("encoding %s: %s", std::string(frameTypeName(M::kType)).c_str(),
                  st.toString().c_str());
        return false;
    }
    return sendRaw(c, frame);
}

} // namespace voice
