// SPDX-License-Identifier: MIT
// MetricsEndpoint: a minimal HTTP/1.0 responder for the relay's metrics.
#include "relay/metrics_endpoint.h"

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace voice {

namespace {
constexpr size_t kMaxMetricsClients = 8;
constexpr size_t kMaxMetricsRequest = 4096;
constexpr auto kClientTime = std::chrono::milliseconds(5000);
} // namespace

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::bind(const HostPort& hostPort) {
    auto address = SocketAddress::fromHostPort(hostPort);
    if (!address.ok()) {
        return Status(Errc::InvalidArgument,
                      "metrics address must be numeric: " + address.status().detail());
    }
    auto fd = tcpListen(*address, 16);
    if (!fd.ok()) {
        return fd.status();
    }
    std::unique_ptr<MetricsEndpoint> m(new MetricsEndpoint());
    auto local = localAddress(fd->get());
    m->port_ = local.ok() ? local->port() : 0;
    m->listener_ = std::move(*fd);
    return m;
}

Status MetricsEndpoint::start(EventLoop& loop, Render render) {
    loop_ = &loop;
    render_ = std::move(render);
    return loop.addFd(listener_.get(), EventLoop::kReadable, [this](uint32_t) { onAccept(); });
}

void MetricsEndpoint::onAccept() {
    for (int i = 0; i < 16; ++i) {
        auto fd = tcpAccept(listener_.get());
        if (!fd.ok() || !fd->isValid()) {
            return;
        }
        if (clients_.size() >= kMaxMetricsClients) {
            continue;
        }
        const uint64_t id = nextId_++;
        auto m = std::make_unique<Client>();
        m->fd = std::move(*fd);
        m->deadline = std::chrono::steady_clock::now() + kClientTime;
        int raw = m->fd.get();
        clients_.emplace(id, std::move(m));
        Status st = loop_->addFd(raw, EventLoop::kReadable,
                                 [this, id](uint32_t events) { onEvent(id, events); });
        if (!st.ok()) {
            clients_.erase(id);
        }
    }
}

void MetricsEndpoint::onEvent(uint64_t id, uint32_t events) {
    auto it = clients_.find(id);
    if (it == clients_.end()) {
        return;
    }
    Client& m = *it->second;
    auto drop = [&] {
        loop_->removeFd(m.fd.get());
        clients_.erase(id);
    };
    if (m.out.empty()) {
        char buf[1024];
        ssize_t n = ::read(m.fd.get(), buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno == EAGAIN) {
                return;
            }
            drop();
            return;
        }
        m.in.append(buf, size_t(n));
        if (m.in.find("\r\n\r\n") == std::string::npos && m.in.find("\n\n") == std::string::npos) {
            if (m.in.size() > kMaxMetricsRequest) {
                drop();
            }
            return;
        }
        const bool wanted = m.in.rfind("GET /metrics ", 0) == 0 || m.in.rfind("GET / ", 0) == 0;
        std::string body = wanted ? render_() : "not found\n";
        m.out = std::string(wanted ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.0 404 Not Found\r\n") +
                "Content-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        (void)loop_->modifyFd(m.fd.get(), EventLoop::kWritable);
        events |= EventLoop::kWritable;
    }
    if (events & EventLoop::kWritable) {
        ssize_t n = ::send(m.fd.get(), m.out.data() + m.written, m.out.size() - m.written,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN) {
            drop();
            return;
        }
        if (n > 0) {
            m.written += size_t(n);
        }
        if (m.written == m.out.size()) {
            drop();
        }
    }
}

void MetricsEndpoint::expire(std::chrono::steady_clock::time_point now) {
    std::vector<uint64_t> stale;
    for (auto& [id, m] : clients_) {
        if (now >= m->deadline) {
            stale.push_back(id);
        }
    }
    for (uint64_t id : stale) {
        loop_->removeFd(clients_[id]->fd.get());
        clients_.erase(id);
    }
}

} // namespace voice
