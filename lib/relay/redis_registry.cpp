// SPDX-License-Identifier: MIT
// RedisRegistry: names and presence shared by the relays of a cluster through Redis.
#include "relay/redis_registry.h"

#include "core/log.h"

#include <cstdlib>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace voice {

namespace {

// KEYS[1] name key; ARGV[1] hex key, ARGV[2] "1" to bind a free name.
constexpr const char* kClaimScript = R"lua(
local v = redis.call('GET', KEYS[1])
if v then
  if v == ARGV[1] then return 'owned' end
  return 'taken'
end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], ARGV[1])
  return 'bound'
end
return 'free'
)lua";

// KEYS: this relay's users' location keys; ARGV[1] relay id, ARGV[2] TTL ms,
// ARGV[3] advertised address, ARGV[3+i] the location value of KEYS[i].
// A location that expired (or was lost with Redis) is set again; one that
// belongs to another relay now (the user moved) is left alone.
constexpr const char* kHeartbeatScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', 'voice:relays', now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', 'voice:relays', '-inf', now)
redis.call('SET', 'voice:relay:' .. ARGV[1], ARGV[3], 'PX', ttl)
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == ARGV[3 + i] then
    redis.call('PEXPIRE', k, ttl)
  elseif not v then
    redis.call('SET', k, ARGV[3 + i], 'PX', ttl)
  end
end
return redis.call('ZRANGE', 'voice:relays', 0, -1)
)lua";

// KEYS[1] location key; ARGV[1] the value this relay set.
constexpr const char* kCompareAndDeleteScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

constexpr size_t kHeartbeatBatch = 500; // location keys per heartbeat script

std::string hexOf(const Registry::Key& key) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : key) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

std::string nameKey(std::string_view name) {
    return "voice:name:" + std::string(name);
}

std::string locationKey(std::string_view name) {
    return "voice:loc:" + std::string(name);
}

} // namespace

RedisRegistry::RedisRegistry(EventLoop& loop, RedisEndpoint endpoint, std::string relayId,
                             std::string advertise, std::optional<NameBindings> allowlist)
    : loop_(loop), redis_(std::make_unique<RedisClient>(loop, std::move(endpoint))),
      relayId_(std::move(relayId)), advertise_(std::move(advertise)),
      local_(NameBindings{}, std::move(allowlist)) {
    while (RAND_bytes(reinterpret_cast<uint8_t*>(&epoch_), sizeof epoch_) != 1) {
    }
}

RedisRegistry::~RedisRegistry() {
    loop_.cancelTimer(heartbeatTimer_);
}

void RedisRegistry::start() {
    // Re-assert this relay's users at once after every (re)connect.
    redis_->onConnected([this] { heartbeat(); });
    redis_->start();
    heartbeatTimer_ = loop_.addRepeatingTimer(kHeartbeat, [this] { heartbeat(); });
}

std::string RedisRegistry::location(uint64_t connection) const {
    return relayId_ + " " + std::to_string(epoch_) + " " + std::to_string(connection);
}

void RedisRegistry::heartbeat() {
    if (!redis_->connected() || heartbeatInFlight_) {
        return;
    }
    auto it = present_.begin();
    do {
        std::vector<std::string> keys, values;
        for (; it != present_.end() && keys.size() < kHeartbeatBatch; ++it) {
            keys.push_back(locationKey(it->first));
            values.push_back(location(it->second));
        }
        std::vector<std::string> args{"EVAL", kHeartbeatScript, std::to_string(keys.size())};
        args.insert(args.end(), keys.begin(), keys.end());
        args.push_back(relayId_);
        args.push_back(std::to_string(kPresenceTtl.count()));
        args.push_back(advertise_);
        args.insert(args.end(), values.begin(), values.end());
        const bool last = it == present_.end();
        if (last) {
            heartbeatInFlight_ = true;
        }
        redis_->command(std::move(args), [this, last](const redisReply* r) {
            if (last) {
                heartbeatInFlight_ = false;
            }
            if (r && r->type == REDIS_REPLY_ARRAY) {
                peerRelays_ = r->elements;
                liveRelays_.clear();
                for (size_t i = 0; i < r->elements; ++i) {
                    liveRelays_.insert(replyString(r->element[i]));
                }
                relaysKnown_ = true;
            }
        });
    } while (it != present_.end());
}

void RedisRegistry::claim(const std::string& name, const Key& key, bool bindIfFree,
                          std::function<void(Claim)> done) {
    redis_->command({"EVAL", kClaimScript, "1", nameKey(name), hexOf(key), bindIfFree ? "1" : "0"},
                    [this, name, key, done = std::move(done)](const redisReply* r) {
                        const std::string answer = replyString(r);
                        Claim result = Claim::Unavailable;
                        if (answer == "owned") {
                            result = Claim::Owned;
                        } else if (answer == "taken") {
                            result = Claim::Taken;
                        } else if (answer == "bound") {
                            result = Claim::Bound;
                            LOG_INFO("bound name '%s' cluster-wide", name.c_str());
                        } else if (answer == "free") {
                            result = Claim::Free;
                        } else {
                            auto seen = known_.find(name);
                            if (seen != known_.end() &&
                                CRYPTO_memcmp(seen->second.data(), key.data(), key.size()) == 0) {
                                result = Claim::Owned;
                            }
                        }
                        if (result == Claim::Owned || result == Claim::Bound) {
                            if (known_.size() < 100000 || known_.count(name)) {
                                known_[name] = key;
                            }
                        } else if (result == Claim::Taken) {
                            known_.erase(name);
                        }
                        done(result);
                    });
}

Registry::NameCheck RedisRegistry::checkName(std::string_view name, const Key& key) const {
    if (local_.hasAllowlist()) {
        return local_.checkName(name, key);
    }
    return NameCheck::Free;
}

bool RedisRegistry::bindName(const std::string&, const Key&) {
    return true; // claim() bound it already
}

void RedisRegistry::setAllowlist(std::optional<NameBindings> allowlist) {
    local_.setAllowlist(std::move(allowlist));
}

std::optional<uint64_t> RedisRegistry::connectionOf(std::string_view name) const {
    return local_.connectionOf(name);
}

void RedisRegistry::setOnline(const std::string& name, uint64_t connection) {
    local_.setOnline(name, connection);
    present_[name] = connection;
    // GET: the old location, if another relay held the name (newest wins).
    redis_->command({"SET", locationKey(name), location(connection), "PX",
                     std::to_string(kPresenceTtl.count()), "GET"},
                    [this, name](const redisReply* r) {
                        const std::string old = replyString(r);
                        const auto a = old.find(' '), b = old.rfind(' ');
                        if (old.empty() || a == std::string::npos || a == b || !movedHere_) {
                            return;
                        }
                        const std::string relay = old.substr(0, a);
                        if (relay == relayId_) {
                            return; // this relay replaced it itself
                        }
                        const uint64_t epoch = std::strtoull(old.c_str() + a + 1, nullptr, 10);
                        const uint64_t oldConnection =
                            std::strtoull(old.c_str() + b + 1, nullptr, 10);
                        if (epoch != 0 && oldConnection != 0) {
                            movedHere_(name, relay, epoch, oldConnection);
                        }
                    });
}

void RedisRegistry::setOffline(std::string_view name, uint64_t connection) {
    local_.setOffline(name, connection);
    auto it = present_.find(std::string(name));
    if (it == present_.end() || it->second != connection) {
        return;
    }
    present_.erase(it);
    redis_->command({"EVAL", kCompareAndDeleteScript, "1", locationKey(name), location(connection)},
                    [](const redisReply*) {});
}

LineState RedisRegistry::line(std::string_view name) const {
    return local_.line(name);
}

void RedisRegistry::setLine(std::string_view name, uint64_t connection, LineState state) {
    local_.setLine(name, connection, state);
}

} // namespace voice
