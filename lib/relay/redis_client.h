// SPDX-License-Identifier: MIT
// RedisClient: one hiredis 0.14 async connection driven by the relay's own EventLoop.
#pragma once

#include "net/event_loop.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace voice {

/// Where Redis is: "unix:/path" or "host:port" (the `redis` setting).
struct RedisEndpoint {
    std::string unixPath; // set for unix:
    std::string host;
    uint16_t port = 0;
    /// Parses the setting; an error names what is wrong.
    static bool parse(std::string_view text, RedisEndpoint& out, std::string& error);
    std::string toString() const;
};

/// A Redis connection on an EventLoop (issue 19). hiredis's async context is
/// attached to the loop by its addRead/delRead/addWrite/delWrite/cleanup
/// hooks, which register the socket as one loop watch. Nothing blocks: the
/// connect is non-blocking, every command has a deadline (its callback gets
/// nullptr when it passes, when the connection drops or when Redis answers
/// an error), and a lost connection is retried every reconnectInterval.
/// Loop thread only.
class RedisClient {
public:
    /// The reply (owned by hiredis, valid during the call) or nullptr on
    /// failure: timeout, no connection, lost connection or an error reply.
    using Callback = std::function<void(const redisReply* reply)>;
    /// A pub/sub message: channel, payload.
    using MessageCallback = std::function<void(const std::string&, const std::string&)>;

    RedisClient(EventLoop& loop, RedisEndpoint endpoint,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(500),
                std::chrono::milliseconds reconnectInterval = std::chrono::milliseconds(500));
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    /// Starts connecting (and reconnecting whenever the connection is lost).
    void start();
    bool connected() const { return connected_; }
    /// Called after every (re)connect, before queued work (re-assert state here).
    void onConnected(std::function<void()> fn) { onConnected_ = std::move(fn); }

    /// Sends a command; done runs exactly once (reply or nullptr), never
    /// inside this call. Without a connection it fails at once (next loop turn).
    void command(std::vector<std::string> args, Callback done);
    /// Subscribes this connection to channel (it then carries pub/sub only);
    /// subscriptions are renewed after a reconnect.
    void subscribe(const std::string& channel, MessageCallback onMessage);

    /// Round trip of the last answered command (metrics).
    std::chrono::microseconds lastRoundTrip() const { return lastRoundTrip_; }
    uint64_t commandsSent() const { return commandsSent_; }
    uint64_t commandsFailed() const { return commandsFailed_; }

private:
    struct Pending {
        Callback done;
        EventLoop::TimerId timer = 0;
        EventLoop::Clock::time_point sent;
    };
    static void onConnect(const redisAsyncContext* ac, int status);
    static void onDisconnect(const redisAsyncContext* ac, int status);
    static void onReply(redisAsyncContext* ac, void* reply, void* privdata);
    static void onMessage(redisAsyncContext* ac, void* reply, void* privdata);
    static void addRead(void* self);
    static void delRead(void* self);
    static void addWrite(void* self);
    static void delWrite(void* self);
    static void cleanup(void* self);

    void connect();
    void updateWatch();
    void onEvents(uint32_t events);
    void lost(const char* why);
    void scheduleReconnect();
    void failLater(Callback done);
    void finish(uint64_t id, const redisReply* reply);
    void sendSubscribe(const std::string& channel);

    EventLoop& loop_;
    RedisEndpoint endpoint_;
    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds reconnectInterval_;
    redisAsyncContext* ctx_ = nullptr;
    int fd_ = -1;
    uint32_t events_ = 0; // what hiredis asked for
    bool watching_ = false;
    bool connected_ = false;
    bool started_ = false;
    EventLoop::TimerId connectTimer_ = 0;
    EventLoop::TimerId reconnectTimer_ = 0;
    std::function<void()> onConnected_;
    std::map<uint64_t, Pending> pending_;
    uint64_t nextId_ = 1;
    std::map<std::string, MessageCallback> subscriptions_;
    std::chrono::microseconds lastRoundTrip_{0};
    uint64_t commandsSent_ = 0;
    uint64_t commandsFailed_ = 0;
};

/// reply as a string (status, bulk string or integer); empty otherwise.
std::string replyString(const redisReply* reply);

} // namespace voice
