// SPDX-License-Identifier: MIT
// MetricsEndpoint: the relay's Prometheus text endpoint, a minimal HTTP/1.0 responder on an
// EventLoop.
#pragma once

#include "core/result.h"
#include "net/event_loop.h"
#include "net/socket.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace voice {

/// Answers `GET /metrics` (and `GET /`) with render()'s text, anything else
/// with 404, then closes. Bounded: at most 8 clients (more are closed at
/// accept), 4 KiB of request, 5 s per client (expire()). Runs on one
/// EventLoop's thread; render() is called there.
class MetricsEndpoint {
public:
    using Render = std::function<std::string()>;

    /// Binds the listener (numeric address); nothing is served before start().
    static Result<std::unique_ptr<MetricsEndpoint>> bind(const HostPort& address);
    MetricsEndpoint(const MetricsEndpoint&) = delete;
    MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

    /// Serves on `loop` until the endpoint is destroyed (before the loop).
    Status start(EventLoop& loop, Render render);
    /// The bound port (the real one when configured as 0).
    uint16_t port() const { return port_; }
    /// Drops the clients whose 5 s are up (the owner's periodic sweep).
    void expire(std::chrono::steady_clock::time_point now);

private:
    struct Client {
        UniqueFd fd;
        std::string in;
        std::string out;
        size_t written = 0;
        std::chrono::steady_clock::time_point deadline;
    };

    MetricsEndpoint() = default;
    void onAccept();
    void onEvent(uint64_t id, uint32_t events);

    UniqueFd listener_;
    uint16_t port_ = 0;
    EventLoop* loop_ = nullptr;
    Render render_;
    std::unordered_map<uint64_t, std::unique_ptr<Client>> clients_;
    uint64_t nextId_ = 1;
};

} // namespace voice
