// SPDX-License-Identifier: MIT
// RedisRegistry: the cluster Registry — names and presence shared through Redis.
#pragma once

#include "relay/local_registry.h"
#include "relay/redis_client.h"

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

namespace voice {

/// Cluster mode's Registry (issue 19). Names are claimed cluster-wide with an
/// atomic set-if-absent script in Redis (`voice:name:NAME` = hex key; the
/// first key wins; with an allowlist the file decides, as in single-relay
/// mode). Presence is this relay's own users in memory (line state, which
/// connection) mirrored to `voice:loc:NAME` = "RELAY EPOCH CONNECTION" with a
/// TTL (kPresenceTtl) that one heartbeat script per second refreshes for all
/// of this relay's users at once; going offline is a compare-and-delete, so a
/// newer location of a user that moved is never removed. The heartbeat also
/// refreshes `voice:relay:ID` and the `voice:relays` set (peer relays seen).
/// Every Redis call is asynchronous with a deadline (RedisClient).
class RedisRegistry final : public Registry {
public:
    static constexpr std::chrono::milliseconds kPresenceTtl{3000};
    static constexpr std::chrono::milliseconds kHeartbeat{1000};

    /// What claim() found for a name and a key.
    enum class Claim { Owned, Taken, Free, Bound, Unavailable };

    RedisRegistry(EventLoop& loop, RedisEndpoint endpoint, std::string relayId,
                  std::string advertise, std::optional<NameBindings> allowlist);
    ~RedisRegistry() override;
    /// Connects and starts the heartbeat.
    void start();

    /// Cluster-wide name check; with bindIfFree a free name is bound to key
    /// atomically (Bound), else Free is answered. Unavailable: Redis did not
    /// answer in time (a name this relay saw owned by key is still Owned).
    /// done runs later on the loop, exactly once.
    void claim(const std::string& name, const Key& key, bool bindIfFree,
               std::function<void(Claim)> done);

    // Registry. Without an allowlist checkName() answers Free for every name
    // it has not seen owned: claim() decides.
    bool sharesNames() const override { return true; }
    NameCheck checkName(std::string_view name, const Key& key) const override;
    bool bindName(const std::string& name, const Key& key) override;
    void setAllowlist(std::optional<NameBindings> allowlist) override;
    bool hasAllowlist() const override { return local_.hasAllowlist(); }
    std::optional<uint64_t> connectionOf(std::string_view name) const override;
    void setOnline(const std::string& name, uint64_t connection) override;
    void setOffline(std::string_view name, uint64_t connection) override;
    LineState line(std::string_view name) const override;
    void setLine(std::string_view name, uint64_t connection, LineState state) override;
    size_t online() const override { return local_.online(); }

    RedisClient& redis() { return *redis_; }
    uint64_t epoch() const { return epoch_; }
    /// Called when a registration here took a name over from another relay
    /// (its old location: relay, epoch, connection), so that relay can close it.
    using MovedHere = std::function<void(const std::string& name, const std::string& relay,
                                         uint64_t epoch, uint64_t connection)>;
    void onMovedHere(MovedHere fn) { movedHere_ = std::move(fn); }
    const std::string& relayId() const { return relayId_; }

    // Metrics.
    bool redisUp() const { return redis_->connected(); }
    size_t peerRelays() const { return peerRelays_; }
    /// False once the latest heartbeat answer no longer lists relay `id`
    /// (it stopped heartbeating: dead for kPresenceTtl). True before any
    /// answer, and while Redis is away the last answer stands.
    bool relayAlive(const std::string& id) const {
        return !relaysKnown_ || liveRelays_.count(id) != 0;
    }
    std::chrono::microseconds roundTrip() const { return redis_->lastRoundTrip(); }
    uint64_t commands() const { return redis_->commandsSent(); }
    uint64_t commandsFailed() const { return redis_->commandsFailed(); }

private:
    std::string location(uint64_t connection) const;
    void heartbeat();

    EventLoop& loop_;
    std::unique_ptr<RedisClient> redis_;
    std::string relayId_;
    std::string advertise_;
    uint64_t epoch_ = 0;  // random per start: a restarted relay's connection ids are new
    LocalRegistry local_; // this relay's users and the allowlist
    std::unordered_map<std::string, uint64_t> present_; // this relay's users -> connection
    std::unordered_map<std::string, Key> known_; // names seen owned (Redis down: still Owned)
    EventLoop::TimerId heartbeatTimer_ = 0;
    bool heartbeatInFlight_ = false;
    size_t peerRelays_ = 0;
    std::set<std::string> liveRelays_; // from the latest heartbeat answer
    bool relaysKnown_ = false;
    MovedHere movedHere_;
};

} // namespace voice
