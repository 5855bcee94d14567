// SPDX-License-Identifier: MIT
// Test harness for voice-relayd: spawns the real binary and drives it with scripted clients.
#pragma once

#include "core/unique_fd.h"
#include "crypto/identity.h"
#include "net/socket.h"
#include "net/tls.h"
#include "wire/frame.h"
#include "wire/media_header.h"
#include "wire/messages.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

namespace voice::test {

using namespace std::chrono_literals;

/// Polls cond until it holds or the deadline passes.
template <typename F>
bool waitUntil(F cond, std::chrono::milliseconds deadline = 10s) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (cond()) {
            return true;
        }
        ::usleep(10000);
    }
    return cond();
}

/// The voice-relayd binary as a child process with its own state directory
/// and a stand-in systemd notify socket (to learn its port and readiness).
class RelayProcess {
public:
    /// `config` is the text of voice-relayd.conf; listen/state_dir are added.
    explicit RelayProcess(std::string config = "", std::string stateDir = "");
    ~RelayProcess();
    /// Starts the binary and waits for READY=1. False on failure.
    bool start(std::vector<std::string> extraArgs = {});
    /// Sends SIGTERM and waits; returns the exit status (or -1).
    int terminate();
    void sendSignal(int signal);
    bool running();

    uint16_t port() const { return port_; }
    std::optional<uint16_t> metricsPort() const { return metricsPort_; }
    pid_t pid() const { return pid_; }
    const std::string& stateDir() const { return stateDir_; }
    const std::string& dir() const { return dir_; }
    /// Resident memory in KiB from /proc/PID/status.
    long vmRssKb() const;
    /// Every notify datagram received so far ("READY=1", "STATUS=...").
    std::vector<std::string> notifications();
    /// GET /metrics; empty on failure.
    std::string metrics();
    /// A value from the metrics text (first sample of that name), or -1.
    double metric(const std::string& name);
    void rewriteConfig(const std::string& config);
    /// An environment variable for the next start().
    void setEnv(std::string name, std::string value) {
        env_.emplace_back(std::move(name), std::move(value));
    }
    /// Passes these sockets as systemd socket activation (LISTEN_FDS) on start().
    void passSockets(std::vector<int> fds) { passed_ = std::move(fds); }

private:
    std::string dir_, stateDir_, configPath_, notifyPath_, config_;
    UniqueFd notify_;
    pid_t pid_ = -1;
    uint16_t port_ = 0;
    std::optional<uint16_t> metricsPort_;
    std::vector<std::string> received_;
    std::vector<std::pair<std::string, std::string>> env_;
    std::vector<int> passed_;
};

/// A blocking scripted client speaking the real protocol over TLS 1.3.
class Client {
public:
    /// TCP connect + TLS handshake to 127.0.0.1:port. nullptr on failure.
    static std::unique_ptr<Client> connect(uint16_t port, bool withUdp = true);
    /// The same to a relay at another address (127.0.0.2, .3: cluster benches).
    static std::unique_ptr<Client> connect(const SocketAddress& relay, bool withUdp = true);
    /// Hello, challenge, Register signed with identity. Returns the relay's
    /// answer (Registered or Refused) or nullopt.
    std::optional<msg::Message> registerAs(const std::string& name, const Identity& identity);
    /// Registers and asserts success (for brevity in tests).
    bool registerOk(const std::string& name, const Identity& identity);

    template <typename M>
    bool send(const M& m) {
        std::vector<uint8_t> out;
        if (!msg::appendMessage(out, m).ok()) {
            return false;
        }
        return sendBytes(out);
    }
    /// Raw bytes inside TLS (bad-input tests).
    bool sendBytes(std::span<const uint8_t> bytes);
    /// The next message other than KeepaliveEcho, ProbeRequest and
    /// ResumeToken, or nullopt on timeout/close/error. ResumeTokens are kept
    /// aside for expectResumeToken(), ProbeRequests counted in probeRequests().
    std::optional<msg::Message> receive(std::chrono::milliseconds timeout = 5s);
    /// The next ResumeToken the relay sent (in order), or nullopt on timeout.
    std::optional<msg::ResumeToken> expectResumeToken(std::chrono::milliseconds timeout = 5s);
    template <typename M>
    std::optional<M> expect(std::chrono::milliseconds timeout = 5s) {
        auto m = receive(timeout);
        if (!m || !std::holds_alternative<M>(*m)) {
            lastUnexpected_ = m ? std::string(frameTypeName(msg::messageType(*m))) : "nothing";
            return std::nullopt;
        }
        return std::get<M>(*m);
    }
    /// True once the relay closed the connection (reads until EOF).
    bool waitClosed(std::chrono::milliseconds timeout = 5s);
    const std::string& lastUnexpected() const { return lastUnexpected_; }

    // Media over UDP from this client's own socket.
    bool sendUdp(std::span<const uint8_t> packet);
    /// An authenticated probe for `session` under the route key of the
    /// latest ResumeToken (waits up to 5 s for one), with a rising counter.
    bool sendProbe(uint64_t session);
    /// The route key of the latest ResumeToken received, if any.
    std::optional<RouteKey> routeKey() const { return routeKey_; }
    /// ProbeRequests received so far (reads what arrived within `wait`).
    int probeRequests(std::chrono::milliseconds wait = 0ms) {
        pump(wait);
        return probeRequests_;
    }
    /// The next datagram from the relay, skipping echoes of our own probes
    /// (as voiced does; they are counted in probeEchoes()).
    std::optional<std::vector<uint8_t>> receiveUdp(std::chrono::milliseconds timeout = 2s);
    int probeEchoes() const { return probeEchoes_; }
    uint16_t relayPort() const { return relay_.port(); }
    /// The relay's address (its UDP media port too).
    const SocketAddress& relayAddress() const { return relay_; }
    /// This client's own UDP socket (-1 without one), for load generators.
    int udpFd() const { return udp_.get(); }

private:
    bool pump(std::chrono::milliseconds timeout); // waits for and reads more bytes
    std::unique_ptr<TlsConnection> tls_;
    FrameDecoder decoder_;
    std::deque<msg::Message> inbox_;
    std::deque<msg::ResumeToken> resumeTokens_;
    std::optional<RouteKey> routeKey_;
    uint64_t probeCounter_ = 0;
    int probeRequests_ = 0;
    int probeEchoes_ = 0;
    bool closed_ = false;
    SocketAddress relay_;
    UniqueFd udp_;
    std::string lastUnexpected_;
};

/// A media packet: header for session ‖ payload.
std::vector<uint8_t> mediaPacket(uint64_t session, uint64_t sequence,
                                 std::span<const uint8_t> payload,
                                 MediaKind kind = MediaKind::Audio);

} // namespace voice::test
