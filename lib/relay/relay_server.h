// SPDX-License-Identifier: MIT
// RelayServer: voice-relayd's control loop (TLS, registry, matching) and media forwarding threads.
#pragma once

#include "core/result.h"
#include "net/event_loop.h"
#include "net/rate_limiter.h"
#include "net/socket.h"
#include "net/tls.h"
#include "relay/call_matcher.h"
#include "relay/media_router.h"
#include "relay/registry.h"
#include "relay/relay_config.h"
#include "relay/resume_tokens.h"
#include "relay/trunk.h"
#include "relay/trunk_replay.h"
#include "wire/frame.h"
#include "wire/messages.h"

#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace voice {

class MetricsEndpoint;
class RedisRegistry;
class ClusterMatcher;
class ClusterSignals;
struct ClusterSignal;
/// The secret the relays of one cluster share (cluster_key_file).
using ClusterKey = std::array<uint8_t, 32>;

/// The relay. Threads (see relay/README.md for the design note):
///  - the control thread runs one EventLoop owning every TLS connection, the
///    name registry, the calls and the metrics endpoint. Nothing there is
///    shared, so it needs no locks; control traffic is small.
///  - N media threads (one per core by default) each run an EventLoop over
///    their own SO_REUSEPORT UDP socket(s) and forward datagrams through the
///    shared, sharded MediaRouter. They touch a control connection only by
///    post()ing a tunnelled packet to the control loop.
///
/// Protocol flow and limits are described in relay/README.md.
class RelayServer {
public:
    /// Loads the configuration again (file plus command-line overrides) on SIGHUP.
    using Reloader = std::function<Result<RelayConfig>()>;

    /// Binds sockets (or takes systemd's), loads the state directory (TLS
    /// identity, bindings) and the allowlist. Nothing runs yet.
    static Result<std::unique_ptr<RelayServer>> create(RelayConfig config, Reloader reloader);
    ~RelayServer();
    RelayServer(const RelayServer&) = delete;
    RelayServer& operator=(const RelayServer&) = delete;

    /// Starts the media threads, notifies systemd READY=1 and runs the
    /// control loop until SIGTERM/SIGINT (or stop()). Call from the thread
    /// that created the server, before any other thread exists: it blocks
    /// the signals for the whole process.
    Status run();
    /// Starts a graceful shutdown. Thread-safe.
    void stop();

    /// The bound control/media port (the real one when configured as 0).
    uint16_t port() const { return port_; }
    std::optional<uint16_t> metricsPort() const { return metricsPort_; }

private:
    struct Connection;
    struct CallState;
    struct MediaThread;

    RelayServer() = default;
    Status bindSockets();
    void onAccept(int listenFd);
    void evictPending(const SocketAddress& peer);
    void onConnectionEvent(uint64_t id, uint32_t events);
    void updateWatch(Connection& c);
    void handleFrame(Connection& c, const Frame& frame);
    void handleHello(Connection& c, const msg::Hello& m);
    void handleRegister(Connection& c, const msg::Register& m);
    void claimInCluster(Connection& c, const std::string& name, const IdentityKey& key, bool bind);
    void completeRegister(Connection& c, const std::string& name, const IdentityKey& key);
    /// Cluster mode (issue 19): the cluster key and the RedisRegistry.
    Status joinCluster(std::optional<NameBindings> allowlist);
    /// Call{callee} for a callee on another relay, matched in Redis.
    void clusterCall(Connection& c, const msg::Call& m);
    void ringRemote(Connection& caller, const std::string& callee, const CallId& id,
                    const std::string& relay);
    void onClusterSignal(const ClusterSignal& s);
    void onRemoteRing(const ClusterSignal& s);
    /// Accept by our callee of a call from another relay's caller.
    void acceptRemote(Connection& c, CallState& ringing);
    void signalPeer(const CallState& call, ClusterSignal s);
    /// ClusterMatcher::end, retried each second while Redis is down.
    void endInCluster(const CallId& id, int attemptsLeft);
    /// Media of a cross-relay call: our side (its connection, 0 while away)
    /// in the router, the far side behind the trunk.
    void routeRemote(CallState& call, uint64_t mine);
    /// Resume across relays (relay_cluster_resume.cpp): a verified Resume
    /// for a call this relay does not know, looked up in Redis first.
    void locateForResume(Connection& c, const msg::Resume& m, const ResumeTokens::Claim& claim);
    /// The other side is on this relay: our half and the resumer become one local call.
    void mergeHere(Connection& c, const CallId& id, const ResumeTokens::Claim& claim);
    void askPeerRelay(Connection& c, const CallId& id, const ResumeTokens::Claim& claim,
                      const std::string& otherName, const std::string& relay);
    /// At the other side's relay: the far side resumed at the sender.
    void onRemoteResume(const ClusterSignal& s);
    /// At the resumer's relay: the other side's relay moved its trunk here.
    void onRemoteResumed(CallState& call, const ClusterSignal& s);
    void refuseResume(Connection& c, ErrorCode code, std::string text);
    /// Ends a cross-relay call telling only our side (the other relay is
    /// gone or never answered).
    void endOurSide(uint64_t serial, HangupReason reason);
    /// Each sweep: an answered call whose far side's relay stopped
    /// heartbeating waits resume_grace for that side to resume elsewhere.
    void watchPeerRelays();
    CallState* findRemoteCall(const CallId& id);
    void handleCall(Connection& c, const msg::Call& m);
    void handleAccept(Connection& c, const msg::Accept& m);
    void handleReject(Connection& c, const msg::Reject& m);
    void handleHangup(Connection& c, const msg::Hangup& m);
    /// clusterChecked: the cluster's record was looked up already (or there is no cluster).
    void handleResume(Connection& c, const msg::Resume& m, bool clusterChecked = false);
    /// Takes a broken connection out of its answered call, which waits
    /// resume_grace for it to come back (Resume) before ending.
    void detachFromCall(Connection& c, CallState& call);
    void startGraceTimer(CallState& call);
    void sendResumeToken(Connection& c, CallState& call, CallRole role);
    /// Control loop: ProbeRequest to this connection's call (MediaRouter asked).
    void requestProbe(uint64_t connection);
    void handleHandshake(Connection& c, const Frame& frame);
    void handleTunnel(Connection& c, const Frame& frame);
    template <typename M>
    bool send(Connection& c, const M& message);
    bool sendRaw(Connection& c, const std::vector<uint8_t>& frame);
    void sendErrorAndClose(Connection& c, ErrorCode code, std::string text);
    void refuse(Connection& c, RefuseReason reason, std::string text);
    /// Ends the connection's part in the registry and its call at once, then
    /// closes it after its output drained (or a short linger).
    void closeGracefully(Connection& c);
    /// closeGracefully()'s first half: takes the connection out of the
    /// registry and out of its call (ended, or detached when answered).
    void leave(Connection& c);
    /// Links the connection to a call (0: none) and tells the registry its line.
    void setCall(Connection& c, uint64_t serial, LineState line);
    /// A call as CallMatcher sees it, and which side of it a connection is.
    call_matcher::CallView viewOf(const CallState& call);
    static call_matcher::Side sideOf(const CallState& call, const Connection& c);
    void destroy(uint64_t id);
    void startCall(Connection& caller, Connection& callee);
    void endCall(uint64_t serial, std::optional<HangupReason> toCaller,
                 std::optional<HangupReason> toCallee);
    void deliverTunnel(uint64_t connection, std::span<const uint8_t> packet);
    void sweep();
    void reload();
    void beginShutdown();
    void finishShutdown();

    std::string renderMetrics() const;

    Connection* find(uint64_t id);

    RelayConfig config_;
    Reloader reloader_;
    std::unique_ptr<EventLoop> loop_;
    std::shared_ptr<TlsContext> tls_;
    std::vector<UniqueFd> listeners_;
    std::vector<std::vector<UniqueFd>> udpByThread_; // [thread][socket]
    std::unique_ptr<MetricsEndpoint> metrics_;
    uint16_t port_ = 0;
    std::optional<uint16_t> metricsPort_;

    std::unique_ptr<Registry> registry_;              // names -> keys, presence, line state
    RedisRegistry* cluster_ = nullptr;                // registry_ in cluster mode, else null
    ClusterKey clusterKey_{};                         // wiped on exit
    std::optional<std::array<uint8_t, 32>> trunkKey_; // cluster mode; wiped on exit
    // The control loop's own keyed MAC (the media threads have theirs).
    std::unique_ptr<trunk::Mac> trunkMac_;
    // Cluster mode: this process's trunk epoch and sequence (every sender
    // thread), and the replay windows of the relays sending to it.
    std::unique_ptr<trunk::Sender> trunkSender_;
    std::unique_ptr<trunk::ReplayGuard> trunkReplay_;
    std::optional<SocketAddress> advertised_; // this relay's trunk address
    std::unique_ptr<ClusterMatcher> matcher_;
    std::unique_ptr<ClusterSignals> signals_;
    std::unordered_map<std::string, uint64_t> remoteCalls_; // hex call id -> serial
    std::chrono::steady_clock::time_point nextPeerWatch_;   // watchPeerRelays()
    std::optional<ResumeTokens> resumeTokens_;
    /// Answered calls that ended, with the reason to tell a party that was
    /// away when it comes back to resume (bounded; oldest first).
    std::deque<std::pair<CallId, HangupReason>> endedCalls_;

    std::unique_ptr<MediaRouter> router_;
    std::vector<std::unique_ptr<MediaThread>> mediaThreads_;
    std::unique_ptr<PendingConnections> pending_; // not yet registered, per source
    std::unique_ptr<SourceRateLimiter> newNames_;

    std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
    std::unordered_map<uint64_t, std::unique_ptr<CallState>> calls_;
    uint64_t nextId_ = 1;
    bool shuttingDown_ = false;
    std::atomic<uint64_t> pendingTunnel_{0};

    // Counters (control thread; rendered by the metrics endpoint).
    uint64_t callsTotal_ = 0;
    uint64_t callsAnswered_ = 0;
    uint64_t rejectedBusy_ = 0;
    uint64_t rejectedOffline_ = 0;
    uint64_t rejectedUnavailable_ = 0; // cluster: Redis did not answer
    uint64_t registrations_ = 0;
    uint64_t registrationsRefused_ = 0;
    uint64_t connectionsRefused_ = 0;
    uint64_t connectionsEvicted_ = 0;
    uint64_t protocolErrors_ = 0;
    uint64_t slowReadersDropped_ = 0;
    uint64_t timeouts_ = 0;
    uint64_t resumes_ = 0;
    uint64_t resumesRefused_ = 0;
};

} // namespace voice
