// SPDX-License-Identifier: MIT
// RedisClient: hiredis async on the relay's EventLoop.
#include "relay/redis_client.h"

#include "core/log.h"

#include <charconv>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

namespace voice {

bool RedisEndpoint::parse(std::string_view text, RedisEndpoint& out, std::string& error) {
    out = RedisEndpoint{};
    if (text.starts_with("unix:")) {
        out.unixPath = std::string(text.substr(5));
        if (out.unixPath.empty() || out.unixPath.front() != '/' || out.unixPath.size() > 107) {
            error = "expected unix:/absolute/path (at most 107 characters)";
            return false;
        }
        return true;
    }
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
        error = "expected unix:/path or host:port";
        return false;
    }
    std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
        error = "bad port '" + std::string(port) + "'";
        return false;
    }
    out.host = std::string(host);
    out.port = uint16_t(value);
    return true;
}

std::string RedisEndpoint::toString() const {
    return unixPath.empty() ? host + ":" + std::to_string(port) : "unix:" + unixPath;
}

std::string replyString(const redisReply* r) {
    if (!r) {
        return {};
    }
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
    default:
        return {};
    }
}

RedisClient::RedisClient(EventLoop& loop, RedisEndpoint endpoint, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds reconnectInterval)
    : loop_(loop), endpoint_(std::move(endpoint)), timeout_(timeout),
      reconnectInterval_(reconnectInterval) {}

RedisClient::~RedisClient() {
    started_ = false;
    for (auto& [id, p] : pending_) {
        loop_.cancelTimer(p.timer);
    }
    pending_.clear();
    loop_.cancelTimer(connectTimer_);
    loop_.cancelTimer(reconnectTimer_);
    if (ctx_) {
        redisAsyncContext* ctx = ctx_;
        ctx_ = nullptr;
        ctx->data = nullptr;
        redisAsyncFree(ctx);
    }
    if (watching_) {
        loop_.removeFd(fd_);
    }
}

void RedisClient::start() {
    started_ = true;
    connect();
}

void RedisClient::connect() {
    reconnectTimer_ = 0;
    if (!started_ || ctx_) {
        return;
    }
    redisAsyncContext* ctx = endpoint_.unixPath.empty()
                                 ? redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port)
                                 : redisAsyncConnectUnix(endpoint_.unixPath.c_str());
    if (!ctx) {
        scheduleReconnect();
        return;
    }
    if (ctx->err) {
        LOG_DEBUG("redis %s: %s", endpoint_.toString().c_str(), ctx->errstr);
        redisAsyncFree(ctx);
        scheduleReconnect();
        return;
    }
    ctx_ = ctx;
    fd_ = ctx->c.fd;
    ctx->data = this;
    ctx->ev.data = this;
    ctx->ev.addRead = &RedisClient::addRead;
    ctx->ev.delRead = &RedisClient::delRead;
    ctx->ev.addWrite = &RedisClient::addWrite;
    ctx->ev.delWrite = &RedisClient::delWrite;
    ctx->ev.cleanup = &RedisClient::cleanup;
    redisAsyncSetConnectCallback(ctx, &RedisClient::onConnect);
    redisAsyncSetDisconnectCallback(ctx, &RedisClient::onDisconnect);
    connectTimer_ = loop_.addTimer(timeout_, [this] {
        connectTimer_ = 0;
        if (!connected_) {
            lost("connect timed out");
        }
    });
}

void RedisClient::scheduleReconnect() {
    if (started_ && reconnectTimer_ == 0) {
        reconnectTimer_ = loop_.addTimer(reconnectInterval_, [this] { connect(); });
    }
}

// hiredis event hooks: one loop watch for the context's socket.
void RedisClient::addRead(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    self->events_ |= EventLoop::kReadable;
    self->updateWatch();
}
void RedisClient::delRead(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    self->events_ &= ~EventLoop::kReadable;
    self->updateWatch();
}
void RedisClient::addWrite(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    self->events_ |= EventLoop::kWritable;
    self->updateWatch();
}
void RedisClient::delWrite(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    self->events_ &= ~EventLoop::kWritable;
    self->updateWatch();
}
void RedisClient::cleanup(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    self->events_ = 0;
    if (self->watching_) {
        self->loop_.removeFd(self->fd_);
        self->watching_ = false;
    }
    self->fd_ = -1;
}

void RedisClient::updateWatch() {
    if (fd_ < 0) {
        return;
    }
    if (!watching_) {
        // Watched for read always (hangups arrive either way); the bits say what hiredis wants.
        if (loop_.addFd(fd_, events_, [this](uint32_t ev) { onEvents(ev); }).ok()) {
            watching_ = true;
        }
        return;
    }
    (void)loop_.modifyFd(fd_, events_);
}

void RedisClient::onEvents(uint32_t events) {
    if (!ctx_) {
        return;
    }
    if (events & (EventLoop::kReadable | EventLoop::kHangup | EventLoop::kError)) {
        redisAsyncHandleRead(ctx_);
    }
    if (ctx_ && (events & EventLoop::kWritable)) {
        redisAsyncHandleWrite(ctx_);
    }
}

void RedisClient::onConnect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisClient*>(ac->data);
    if (!self) {
        return;
    }
    self->loop_.cancelTimer(self->connectTimer_);
    self->connectTimer_ = 0;
    if (status != REDIS_OK) {
        // hiredis frees the context when this returns.
        LOG_DEBUG("redis %s: connect failed: %s", self->endpoint_.toString().c_str(), ac->errstr);
        self->ctx_ = nullptr;
        self->connected_ = false;
        self->scheduleReconnect();
        return;
    }
    LOG_NOTICE("connected to redis at %s", self->endpoint_.toString().c_str());
    self->connected_ = true;
    for (const auto& [channel, cb] : self->subscriptions_) {
        self->sendSubscribe(channel);
    }
    if (self->onConnected_) {
        self->onConnected_();
    }
}

void RedisClient::onDisconnect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisClient*>(ac->data);
    if (!self) {
        return;
    }
    if (self->connected_) {
        LOG_WARNING("lost redis at %s%s%s", self->endpoint_.toString().c_str(),
                    status == REDIS_OK ? "" : ": ", status == REDIS_OK ? "" : ac->errstr);
    }
    self->ctx_ = nullptr; // hiredis frees it when this returns
    self->connected_ = false;
    self->scheduleReconnect();
}

void RedisClient::lost(const char* why) {
    if (!ctx_) {
        return;
    }
    LOG_WARNING("redis at %s: %s", endpoint_.toString().c_str(), why);
    redisAsyncContext* ctx = ctx_;
    ctx_ = nullptr;
    connected_ = false;
    ctx->data = nullptr; // no callbacks into this object from the free, except replies
    redisAsyncFree(ctx); // pending commands' callbacks run with nullptr
    scheduleReconnect();
}

void RedisClient::failLater(Callback done) {
    ++commandsFailed_;
    loop_.addTimer(std::chrono::milliseconds(0), [done = std::move(done)] { done(nullptr); });
}

void RedisClient::command(std::vector<std::string> args, Callback done) {
    if (!ctx_ || !connected_) {
        failLater(std::move(done));
        return;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    const uint64_t id = nextId_++;
    if (redisAsyncCommandArgv(ctx_, &RedisClient::onReply, reinterpret_cast<void*>(uintptr_t(id)),
                              int(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
        failLater(std::move(done));
        return;
    }
    ++commandsSent_;
    Pending& p = pending_[id];
    p.done = std::move(done);
    p.sent = EventLoop::Clock::now();
    p.timer = loop_.addTimer(timeout_, [this, id] {
        auto it = pending_.find(id);
        if (it == pending_.end()) {
            return;
        }
        it->second.timer = 0;
        finish(id, nullptr); // a late reply finds nothing pending and is dropped
    });
}

void RedisClient::onReply(redisAsyncContext* ac, void* reply, void* privdata) {
    auto* self = static_cast<RedisClient*>(ac->data);
    const uint64_t id = uint64_t(reinterpret_cast<uintptr_t>(privdata));
    if (!self) {
        // Freed by lost(): the owner is reachable only through the ev hooks.
        self = static_cast<RedisClient*>(ac->ev.data);
        if (!self || !self->started_) {
            return;
        }
    }
    self->finish(id, static_cast<const redisReply*>(reply));
}

void RedisClient::finish(uint64_t id, const redisReply* reply) {
    auto it = pending_.find(id);
    if (it == pending_.end()) {
        return;
    }
    Pending p = std::move(it->second);
    pending_.erase(it);
    if (p.timer) {
        loop_.cancelTimer(p.timer);
    }
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        LOG_WARNING("redis error: %.*s", int(reply->len), reply->str);
        reply = nullptr;
    }
    if (reply) {
        lastRoundTrip_ =
            std::chrono::duration_cast<std::chrono::microseconds>(EventLoop::Clock::now() - p.sent);
    } else {
        ++commandsFailed_;
    }
    p.done(reply);
}

void RedisClient::subscribe(const std::string& channel, MessageCallback onMessage) {
    subscriptions_[channel] = std::move(onMessage);
    if (connected_) {
        sendSubscribe(channel);
    }
}

void RedisClient::sendSubscribe(const std::string& channel) {
    const char* argv[2] = {"SUBSCRIBE", channel.c_str()};
    size_t lens[2] = {9, channel.size()};
    redisAsyncCommandArgv(ctx_, &RedisClient::onMessage, nullptr, 2, argv, lens);
}

void RedisClient::onMessage(redisAsyncContext* ac, void* reply, void*) {
    auto* self = static_cast<RedisClient*>(ac->data);
    auto* r = static_cast<redisReply*>(reply);
    if (!self || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        return;
    }
    if (replyString(r->element[0]) != "message") {
        return; // the subscribe confirmation
    }
    auto it = self->subscriptions_.find(replyString(r->element[1]));
    if (it != self->subscriptions_.end()) {
        it->second(it->first, replyString(r->element[2]));
    }
}

} // namespace voice
