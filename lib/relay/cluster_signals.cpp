// SPDX-License-Identifier: MIT
// ClusterSignals: call signals between relays over Redis pub/sub.
#include "relay/cluster_signals.h"

#include "core/log.h"
#include "net/socket.h"
#include "relay/relay_config.h"
#include "wire/validate.h"

#include <charconv>
#include <chrono>
#include <hiredis/hiredis.h>
#include <openssl/rand.h>

namespace voice {

namespace {

constexpr const char* kKinds[] = {"ring",   "ringing",   "busy",     "offline", "accept",
                                  "hangup", "handshake", "replaced", "resume",  "resumed"};
constexpr size_t kSeenMax = 4096;
constexpr int kMaxAttempts = 10;         // delivered to nobody (the peer is reconnecting)
constexpr int kMaxAttemptsNoRedis = 300; // Redis unreachable: up to a minute
constexpr auto kRetryInterval = std::chrono::milliseconds(200);

void appendHex(std::string& out, std::span<const uint8_t> bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (uint8_t b : bytes) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
}

int hexDigit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

bool parseHex(std::string_view text, uint8_t* out, size_t size) {
    if (text.size() != 2 * size) {
        return false;
    }
    for (size_t i = 0; i < size; ++i) {
        int hi = hexDigit(text[2 * i]), lo = hexDigit(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = uint8_t(hi << 4 | lo);
    }
    return true;
}

std::string channelOf(const std::string& relay) {
    return "voice:sig:" + relay;
}

} // namespace

std::string ClusterSignal::encode() const {
    std::string out = "k=";
    out += kKinds[size_t(kind)];
    out += " r=" + std::to_string(request) + " f=" + from + " c=";
    appendHex(out, call);
    if (!caller.empty()) {
        out += " a=" + caller;
    }
    if (!callee.empty()) {
        out += " b=" + callee;
    }
    if (kind == Kind::Ring || kind == Kind::Ringing) {
        out += " y=";
        appendHex(out, key);
    }
    if (!trunk.empty()) {
        out += " u=" + trunk;
    }
    if (kind == Kind::Accept || kind == Kind::Replaced || kind == Kind::Resumed) {
        out += " s=" + std::to_string(callerSession) + " t=" + std::to_string(calleeSession);
    } else if (kind == Kind::Resume) {
        // Only the resumer's own session: which of the two says its role.
        out += callerSession != 0 ? " s=" + std::to_string(callerSession)
                                  : " t=" + std::to_string(calleeSession);
    }
    if (kind == Kind::Hangup) {
        out += " n=" + std::to_string(unsigned(reason));
    }
    if (kind == Kind::Handshake) {
        out += " p=";
        appendHex(out, payload);
    }
    return out;
}

std::optional<ClusterSignal> ClusterSignal::decode(std::string_view text) {
    if (text.size() > kMaxEncoded) {
        return std::nullopt;
    }
    ClusterSignal s;
    bool haveKind = false, haveRequest = false, haveCall = false, haveKey = false;
    bool haveReason = false, havePayload = false;
    while (!text.empty()) {
        auto space = text.find(' ');
        std::string_view token = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
        if (token.size() < 2 || token[1] != '=') {
            return std::nullopt;
        }
        std::string_view v = token.substr(2);
        switch (token[0]) {
        case 'k': {
            size_t i = 0;
            while (i < std::size(kKinds) && v != kKinds[i]) {
                ++i;
            }
            if (i == std::size(kKinds) || haveKind) {
                return std::nullopt;
            }
            s.kind = Kind(i);
            haveKind = true;
            break;
        }
        case 'r': {
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s.request);
            if (ec != std::errc() || end != v.data() + v.size() || haveRequest) {
                return std::nullopt;
            }
            haveRequest = true;
            break;
        }
        case 'f':
            if (!isValidRelayId(v) || !s.from.empty()) {
                return std::nullopt;
            }
            s.from = std::string(v);
            break;
        case 'c':
            if (haveCall || !parseHex(v, s.call.data(), s.call.size())) {
                return std::nullopt;
            }
            haveCall = true;
            break;
        case 'a':
        case 'b': {
            std::string& name = token[0] == 'a' ? s.caller : s.callee;
            if (!name.empty() || !isValidName(v)) {
                return std::nullopt;
            }
            name = std::string(v);
            break;
        }
        case 'y':
            if (haveKey || !parseHex(v, s.key.data(), s.key.size())) {
                return std::nullopt;
            }
            haveKey = true;
            break;
        case 'n': {
            unsigned n = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 8 || haveReason) {
                return std::nullopt;
            }
            s.reason = HangupReason(n);
            haveReason = true;
            break;
        }
        case 'u': {
            auto address = SocketAddress::parse(v);
            if (!s.trunk.empty() || !address.ok()) {
                return std::nullopt;
            }
            s.trunk = std::string(v);
            break;
        }
        case 's':
        case 't': {
            uint64_t& session = token[0] == 's' ? s.callerSession : s.calleeSession;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), session);
            if (ec != std::errc() || end != v.data() + v.size() || session == 0) {
                return std::nullopt;
            }
            break;
        }
        case 'p':
            if (havePayload || v.size() % 2 || v.size() > 2 * kMaxPayload) {
                return std::nullopt;
            }
            s.payload.resize(v.size() / 2);
            if (!parseHex(v, s.payload.data(), s.payload.size())) {
                return std::nullopt;
            }
            havePayload = true;
            break;
        default:
            return std::nullopt;
        }
    }
    if (!haveKind || !haveRequest || s.from.empty() || !haveCall) {
        return std::nullopt;
    }
    const bool needsKey = s.kind == Kind::Ring || s.kind == Kind::Ringing;
    const bool bothSessions =
        s.kind == Kind::Accept || s.kind == Kind::Replaced || s.kind == Kind::Resumed;
    const bool movesTrunk = s.kind == Kind::Resume || s.kind == Kind::Resumed;
    if (needsKey != haveKey || (s.kind == Kind::Hangup) != haveReason ||
        (s.kind == Kind::Handshake) != havePayload ||
        (s.kind == Kind::Ring && (s.caller.empty() || s.callee.empty())) ||
        (bothSessions && (s.callerSession == 0 || s.calleeSession == 0)) ||
        (s.kind == Kind::Resume && (s.callerSession == 0) == (s.calleeSession == 0)) ||
        (s.kind == Kind::Replaced && s.callee.empty()) || (movesTrunk && s.trunk.empty()) ||
        (!s.trunk.empty() && s.kind != Kind::Ring && s.kind != Kind::Ringing && !movesTrunk)) {
        return std::nullopt;
    }
    return s;
}

ClusterSignals::ClusterSignals(EventLoop& loop, RedisClient& publisher, RedisEndpoint endpoint,
                               std::string relayId, Handler handler)
    : loop_(loop), publisher_(publisher),
      subscriber_(std::make_unique<RedisClient>(loop, std::move(endpoint))),
      relayId_(std::move(relayId)), handler_(std::move(handler)) {
    // Receivers drop a (relay, request) pair they saw recently, and a relay
    // restarted under the same id would count from 1 again: its first
    // signals (a Ringing, a Hangup) were taken for retries and dropped, and a
    // call rang on with its caller never told. So each process starts at a
    // random number.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&nextRequest_), sizeof nextRequest_) != 1) {
        // The clock in ns: past anything an earlier process counted to from its own start.
        nextRequest_ =
            static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
}

ClusterSignals::~ClusterSignals() {
    *alive_ = false;
}

void ClusterSignals::start() {
    subscriber_->subscribe(
        channelOf(relayId_),
        [this](const std::string&, const std::string& text) { onMessage(text); });
    subscriber_->start();
}

void ClusterSignals::send(const std::string& relay, ClusterSignal signal) {
    signal.from = relayId_;
    signal.request = nextRequest_++;
    ++sent_;
    publish(channelOf(relay), signal.encode(), 1);
}

void ClusterSignals::publish(const std::string& channel, std::string text, int attempt) {
    publisher_.command({"PUBLISH", channel, text},
                       [this, alive = alive_, channel, text, attempt](const redisReply* r) {
                           if (!*alive) {
                               return;
                           }
                           if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
                               return;
                           }
                           // Redis unreachable (killed, restarting): keep the signal for when
                           // it is back (a lost hangup would leave a call up on the other relay).
                           if (attempt >= (r ? kMaxAttempts : kMaxAttemptsNoRedis)) {
                               ++lost_;
                               LOG_WARNING("cluster signal to %s not delivered after %d attempts",
                                           channel.c_str(), attempt);
                               return;
                           }
                           loop_.addTimer(kRetryInterval, [this, alive, channel, text, attempt] {
                               if (*alive) {
                                   publish(channel, text, attempt + 1);
                               }
                           });
                       });
}

void ClusterSignals::onMessage(const std::string& text) {
    auto s = ClusterSignal::decode(text);
    if (!s) {
        LOG_DEBUG("dropped a malformed cluster signal");
        return;
    }
    auto key = std::make_pair(s->from, s->request);
    if (!seen_.insert(key).second) {
        return; // a retry of one already handled
    }
    seenOrder_.push_back(key);
    if (seenOrder_.size() > kSeenMax) {
        seen_.erase(seenOrder_.front());
        seenOrder_.pop_front();
    }
    ++received_;
    handler_(*s);
}

} // namespace voice
