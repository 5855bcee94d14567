// SPDX-License-Identifier: MIT
// ClusterMatcher: call matching across relays, decided atomically in Redis.
#pragma once

#include "relay/call_matcher.h"
#include "relay/redis_client.h"
#include "wire/messages.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace voice {

/// The cluster's half of call matching (issue 19): the rules of
/// call_matcher::onCall (offline, busy, glare, already in a call) run as one
/// Lua script over the whole cluster's state, so two relays can never
/// disagree. Redis keys:
///   voice:loc:NAME    presence (RedisRegistry): absent = offline
///   voice:line:NAME   hex call id while the name rings or is in a call (no TTL)
///   voice:call:ID     "STATE CALLER CALLEE", STATE ringing | answered;
///                     a ringing call expires after the ring TTL by itself
/// A line whose call record is gone (expired, or ended by a relay that
/// died), or whose call has a party that is offline, counts as idle. Every call is asynchronous
/// (RedisClient).
class ClusterMatcher {
public:
    struct Match {
        call_matcher::CallDecision decision = call_matcher::CallDecision::Offline;
        /// Ring / CancelRingingAndRing: the callee's location ("RELAY EPOCH CONNECTION").
        std::string calleeLocation;
        /// CancelRingingAndRing: the hex id of the ringing call that lost the glare.
        std::string cancelledCall;
    };
    /// nullopt: Redis did not answer (the caller is told `unavailable`).
    using MatchDone = std::function<void(const std::optional<Match>&)>;
    /// false: not done (no such call, wrong state, or Redis did not answer).
    using Done = std::function<void(bool)>;

    ClusterMatcher(RedisClient& redis, std::chrono::milliseconds ringTtl)
        : redis_(redis), ringTtl_(ringTtl) {}

    /// Call{callee} from caller with the new call's id: on Ring and
    /// CancelRingingAndRing the call is recorded and both lines ring.
    void match(const std::string& caller, const std::string& callee, const CallId& id,
               MatchDone done);
    /// The callee answered: the ringing call becomes answered (no TTL any more).
    void accept(const CallId& id, const std::string& callee, Done done);
    /// The call ended (any reason): record and both lines removed, if still this call's.
    void end(const CallId& id, Done done);

    /// What the record of a call says, seen from one side (a Resume).
    struct Record {
        std::string mine;          // the name on that side
        std::string other;         // the name on the other side
        bool answered = false;     // state answered (else ringing)
        std::string otherLocation; // the other side's location ("RELAY EPOCH CONNECTION"), or ""
    };
    /// redisAnswered false: Redis did not answer; record nullopt: no such call.
    using LocateDone = std::function<void(bool redisAnswered, const std::optional<Record>& record)>;
    /// Looks up call `id` and where its other side is, for a side that
    /// resumes as the caller (asCaller) or the callee, in one script.
    void locate(const CallId& id, bool asCaller, LocateDone done);

    static std::string hex(const CallId& id);
    /// The relay id of a location ("RELAY EPOCH CONNECTION").
    static std::string relayOf(const std::string& location) {
        return location.substr(0, location.find(' '));
    }

private:
    RedisClient& redis_;
    std::chrono::milliseconds ringTtl_;
};

} // namespace voice
