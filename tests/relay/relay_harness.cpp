// SPDX-License-Identifier: MIT
// Test harness for voice-relayd: spawns the real binary and drives it with scripted clients.
#include "relay_harness.h"

#include "crypto/probe_auth.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

namespace voice::test {

namespace {

std::string makeTempDir() {
    char tmpl[] = "/tmp/relay-test-XXXXXX";
    char* d = ::mkdtemp(tmpl);
    return d ? d : "";
}

bool waitFd(int fd, short events, std::chrono::milliseconds timeout) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, int(timeout.count())) > 0;
}

} // namespace

RelayProcess::RelayProcess(std::string config, std::string stateDir)
    : dir_(makeTempDir()), config_(std::move(config)) {
    stateDir_ = stateDir.empty() ? dir_ + "/state" : stateDir;
    configPath_ = dir_ + "/voice-relayd.conf";
    notifyPath_ = dir_ + "/notify";
    rewriteConfig(config_);
}

RelayProcess::~RelayProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

void RelayProcess::rewriteConfig(const std::string& config) {
    config_ = config;
    std::ofstream(configPath_) << config_;
}

bool RelayProcess::start(std::vector<std::string> extraArgs) {
    const char* binary = std::getenv("VOICE_RELAYD");
    if (!binary) {
        return false;
    }
    notify_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ::unlink(notifyPath_.c_str());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notifyPath_.c_str(), sizeof addr.sun_path - 1);
    if (::bind(notify_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return false;
    }
    received_.clear();
    std::vector<std::string> args = {binary, "--config", configPath_, "--state-dir", stateDir_};
    if (config_.find("listen") == std::string::npos && passed_.empty()) {
        args.push_back("--listen");
        args.push_back("127.0.0.1:0");
    }
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    // The tests bound the relay's resident memory. Under AddressSanitizer
    // freed blocks sit in a quarantine (256 MiB by default) instead of being
    // reused, so a churn of TLS connections would read as growth; a small
    // quarantine keeps the bound about the relay, not the sanitizer.
    const char* inherited = ::getenv("ASAN_OPTIONS");
    const std::string asanOptions =
        std::string(inherited ? inherited : "") + (inherited ? ":" : "") + "quarantine_size_mb=8";
    pid_ = ::fork();
    if (pid_ == 0) {
        ::setenv("ASAN_OPTIONS", asanOptions.c_str(), 1);
        ::setenv("NOTIFY_SOCKET", notifyPath_.c_str(), 1);
        for (auto& [k, v] : env_) {
            ::setenv(k.c_str(), v.c_str(), 1);
        }
        if (!passed_.empty()) {
            std::vector<int> high;
            for (int fd : passed_) {
                high.push_back(::fcntl(fd, F_DUPFD, 100));
            }
            for (size_t i = 0; i < high.size(); ++i) {
                ::dup2(high[i], 3 + int(i));
            }
            ::setenv("LISTEN_FDS", std::to_string(high.size()).c_str(), 1);
            ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
        }
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(binary, argv.data());
        ::_exit(127);
    }
    if (pid_ < 0) {
        return false;
    }
    bool ready = waitUntil(
        [&] {
            for (auto& n : notifications()) {
                if (n.find("READY=1") != std::string::npos) {
                    return true;
                }
            }
            return !running();
        },
        20s);
    if (!ready || !running()) {
        return false;
    }
    for (auto& n : received_) {
        auto p = n.find("port ");
        if (n.rfind("STATUS=", 0) == 0 && p != std::string::npos) {
            port_ = uint16_t(std::atoi(n.c_str() + p + 5));
            auto m = n.find("metrics port ");
            if (m != std::string::npos) {
                metricsPort_ = uint16_t(std::atoi(n.c_str() + m + 13));
            }
        }
    }
    return port_ != 0;
}

std::vector<std::string> RelayProcess::notifications() {
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(notify_.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) {
            break;
        }
        std::string text(buf, size_t(n));
        std::istringstream lines(text);
        std::string line;
        while (std::getline(lines, line)) {
            received_.push_back(line);
        }
    }
    return received_;
}

bool RelayProcess::running() {
    if (pid_ <= 0) {
        return false;
    }
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

void RelayProcess::sendSignal(int signal) {
    if (pid_ > 0) {
        ::kill(pid_, signal);
    }
}

int RelayProcess::terminate() {
    if (pid_ <= 0) {
        return -1;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1000; ++i) {
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        ::usleep(10000);
    }
    return -1;
}

long RelayProcess::vmRssKb() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::atol(line.c_str() + 6);
        }
    }
    return -1;
}

std::string RelayProcess::metrics() {
    if (!metricsPort_) {
        return "";
    }
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto addr = SocketAddress::loopbackV4(*metricsPort_);
    if (::connect(fd.get(), addr.data(), addr.length()) != 0) {
        return "";
    }
    const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    if (::send(fd.get(), req, sizeof req - 1, MSG_NOSIGNAL) != ssize_t(sizeof req - 1)) {
        return "";
    }
    std::string out;
    char buf[4096];
    while (waitFd(fd.get(), POLLIN, 5s)) {
        ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        out.append(buf, size_t(n));
    }
    return out;
}

double RelayProcess::metric(const std::string& name) {
    std::string text = metrics();
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(name + " ", 0) == 0) {
            return std::atof(line.c_str() + name.size() + 1);
        }
    }
    return -1;
}

// ---------------------------------------------------------------------------

std::unique_ptr<Client> Client::connect(uint16_t port, bool withUdp) {
    return connect(SocketAddress::loopbackV4(port), withUdp);
}

std::unique_ptr<Client> Client::connect(const SocketAddress& relay, bool withUdp) {
    auto fd = tcpConnect(relay);
    if (!fd.ok()) {
        return nullptr;
    }
    if (!waitFd(fd->get(), POLLOUT, 5s) || !connectResult(fd->get()).ok()) {
        return nullptr;
    }
    static auto ctx = TlsContext::createClient();
    auto tls = TlsConnection::connect(*ctx, std::move(*fd), "relay");
    if (!tls.ok()) {
        return nullptr;
    }
    std::unique_ptr<Client> c(new Client());
    c->tls_ = std::move(*tls);
    c->relay_ = relay;
    auto end = std::chrono::steady_clock::now() + 10s;
    for (;;) {
        TlsIo io = c->tls_->handshake();
        if (io.ok()) {
            break;
        }
        if (!io.wouldBlock() || std::chrono::steady_clock::now() > end) {
            return nullptr;
        }
        waitFd(c->tls_->fd(), io.state == TlsIo::State::WantRead ? POLLIN : POLLOUT, 100ms);
    }
    auto udp = withUdp ? udpBind(SocketAddress::loopbackV4(0)) : Result<UniqueFd>(UniqueFd());
    if (udp.ok()) {
        c->udp_ = std::move(*udp);
    }
    return c;
}

bool Client::sendBytes(std::span<const uint8_t> bytes) {
    if (!tls_->send(std::as_bytes(bytes)).ok()) {
        return false;
    }
    auto end = std::chrono::steady_clock::now() + 5s;
    while (tls_->pendingOutput() > 0 && std::chrono::steady_clock::now() < end) {
        TlsIo io = tls_->flush();
        if (io.state == TlsIo::State::Error || io.state == TlsIo::State::Closed) {
            return false;
        }
        if (!io.ok()) {
            waitFd(tls_->fd(), POLLOUT | POLLIN, 50ms);
        }
    }
    return tls_->pendingOutput() == 0;
}

bool Client::pump(std::chrono::milliseconds timeout) {
    if (closed_) {
        return false;
    }
    std::array<std::byte, 16384> buf;
    bool got = false;
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!got) {
        TlsIo io = tls_->read(buf);
        if (io.ok()) {
            std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(buf.data()), io.bytes);
            for (;;) {
                auto step = decoder_.next(in);
                if (!step.ok()) {
                    closed_ = true;
                    return false;
                }
                if (!*step) {
                    break;
                }
                auto m = msg::decodeMessage(**step);
                if (m.ok() && std::holds_alternative<msg::ResumeToken>(*m)) {
                    routeKey_ = std::get<msg::ResumeToken>(*m).routeKey;
                    resumeTokens_.push_back(std::get<msg::ResumeToken>(std::move(*m)));
                    got = true;
                } else if (m.ok() && std::holds_alternative<msg::ProbeRequest>(*m)) {
                    ++probeRequests_;
                } else if (m.ok() && !std::holds_alternative<msg::KeepaliveEcho>(*m)) {
                    inbox_.push_back(std::move(*m));
                }
            }
            got = got || !inbox_.empty();
            continue;
        }
        if (!io.wouldBlock()) {
            closed_ = true;
            return false;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        waitFd(tls_->fd(), POLLIN, std::min<std::chrono::milliseconds>(left, 100ms));
    }
    return true;
}

std::optional<msg::Message> Client::receive(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (inbox_.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !pump(left)) {
            break;
        }
    }
    if (inbox_.empty()) {
        return std::nullopt;
    }
    msg::Message m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
}

std::optional<msg::ResumeToken> Client::expectResumeToken(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (resumeTokens_.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !pump(left)) {
            break;
        }
    }
    if (resumeTokens_.empty()) {
        return std::nullopt;
    }
    msg::ResumeToken t = std::move(resumeTokens_.front());
    resumeTokens_.pop_front();
    return t;
}

bool Client::waitClosed(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < end) {
        pump(100ms);
        inbox_.clear();
    }
    return closed_;
}

std::optional<msg::Message> Client::registerAs(const std::string& name, const Identity& identity) {
    msg::Hello hello;
    hello.software = "relay-test";
    if (!send(hello)) {
        return std::nullopt;
    }
    auto theirHello = expect<msg::Hello>();
    auto challenge = expect<msg::RegisterChallenge>();
    if (!theirHello || !challenge) {
        return std::nullopt;
    }
    msg::Register reg;
    reg.name = name;
    reg.identityKey = identity.publicKey();
    auto sig = identity.sign(registerSignedBytes(challenge->nonce, name));
    if (!sig.ok()) {
        return std::nullopt;
    }
    reg.signature = *sig;
    if (!send(reg)) {
        return std::nullopt;
    }
    return receive();
}

bool Client::registerOk(const std::string& name, const Identity& identity) {
    auto m = registerAs(name, identity);
    return m && std::holds_alternative<msg::Registered>(*m);
}

bool Client::sendUdp(std::span<const uint8_t> packet) {
    auto r = sendTo(udp_.get(), std::as_bytes(packet), relay_);
    return r.ok() && *r;
}

bool Client::sendProbe(uint64_t session) {
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (!routeKey_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !pump(left)) {
            return false;
        }
    }
    auto p = probe_auth::make(*routeKey_, session, ++probeCounter_, 0);
    return sendUdp(p);
}

std::optional<std::vector<uint8_t>> Client::receiveUdp(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (!waitFd(udp_.get(), POLLIN, std::max(left, 0ms))) {
            return std::nullopt;
        }
        std::vector<uint8_t> buf(2048);
        auto d = recvFrom(udp_.get(), std::as_writable_bytes(std::span(buf)));
        if (!d.ok() || !*d) {
            return std::nullopt;
        }
        buf.resize((*d)->size);
        if (buf.size() == probe_auth::kProbeSize) {
            auto h = MediaHeader::decode(buf);
            if (h.ok() && h->kind == MediaKind::Probe) {
                ++probeEchoes_;
                continue;
            }
        }
        return buf;
    }
}

std::vector<uint8_t> mediaPacket(uint64_t session, uint64_t sequence,
                                 std::span<const uint8_t> payload, MediaKind kind) {
    MediaHeader h;
    h.kind = kind;
    h.sessionId = session;
    h.sequence = sequence;
    h.timestampUs = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
    std::vector<uint8_t> out(MediaHeader::kSize);
    h.encode(std::span<uint8_t, MediaHeader::kSize>(out.data(), MediaHeader::kSize));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

} // namespace voice::test
