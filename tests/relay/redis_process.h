// SPDX-License-Identifier: MIT
// RedisProcess: a private redis-server for a test (unix socket only, scratch dir).
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace voice::test {

/// `redis-server --port 0 --unixsocket DIR/redis.sock --dir DIR` as a child
/// process (REDIS_SERVER overrides the binary, default redis-server on PATH).
/// Stopped with SIGKILL and its directory removed on destruction.
class RedisProcess {
public:
    RedisProcess();
    ~RedisProcess();
    RedisProcess(const RedisProcess&) = delete;
    RedisProcess& operator=(const RedisProcess&) = delete;

    /// Starts it (with an append-only file when appendOnly) and waits until
    /// it answers PING. False (with the reason in error()) on failure.
    bool start(bool appendOnly = false);
    /// SIGKILL and wait.
    void kill();
    bool running();

    const std::string& socketPath() const { return socket_; }
    /// "redis = unix:..." for voice-relayd.conf.
    std::string configLine() const { return "redis = unix:" + socket_ + "\n"; }
    const std::string& dir() const { return dir_; }
    const std::string& error() const { return error_; }

    /// Runs one command synchronously (test side only); the reply as text
    /// (strings, status, integers; arrays joined by '\n'), "(nil)" for nil,
    /// "ERR ..." for errors and connection failures.
    std::string command(const std::vector<std::string>& args);

private:
    std::string dir_, socket_, error_;
    pid_t pid_ = -1;
};

} // namespace voice::test
