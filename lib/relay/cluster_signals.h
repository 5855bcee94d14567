// SPDX-License-Identifier: MIT
// ClusterSignals: call signals between the relays of a cluster over Redis pub/sub.
#pragma once

#include "relay/redis_client.h"
#include "wire/messages.h"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace voice {

/// One call signal between two relays (issue 19).
struct ClusterSignal {
    enum class Kind : uint8_t {
        Ring,      // caller's relay -> callee's relay: ring `callee` (caller, callerKey)
        Ringing,   // callee's relay -> caller's relay: it rings (key = the callee's key)
        Busy,      // callee's relay -> caller's relay: the callee is busy there
        Offline,   // callee's relay -> caller's relay: the callee is not there
        Accept,    // callee's relay -> caller's relay: answered
        Hangup,    // either way: the call ended; `reason` for the receiver's side
        Handshake, // either way: an E2eHandshake payload for the receiver's side
        Replaced,  // to a name's old relay: `callee` registered elsewhere; close its
                   // connection callerSession of relay epoch calleeSession (call: zero)
        Resume,    // a relay where one side resumed (its relay died) -> the other side's
                   // relay: move the call's trunk to `trunk`; exactly one of callerSession /
                   // calleeSession is set: the resumer's role and session id
        Resumed,   // the answer: both session ids and the sender's trunk address
    };
    Kind kind = Kind::Ring;
    uint64_t request = 0; // per sending relay, for duplicate suppression
    std::string from;     // the sending relay's id
    CallId call{};
    std::string caller, callee;
    IdentityKey key{};
    HangupReason reason = HangupReason::Normal;
    std::vector<uint8_t> payload; // Handshake: the frame's payload, byte for byte
    std::string trunk;            // Ring, Ringing, Resume, Resumed: the sender's trunk address
    uint64_t callerSession = 0; // Accept, Resumed: both session ids (chosen by the callee's relay)
    uint64_t calleeSession = 0;

    static constexpr size_t kMaxPayload = 4096;
    static constexpr size_t kMaxEncoded = 2 * kMaxPayload + 512;

    /// "k=ring r=7 f=relay-1 c=HEX ..." (hex for bytes); bounded.
    std::string encode() const;
    /// nullopt for anything malformed, unknown or oversized (dropped).
    static std::optional<ClusterSignal> decode(std::string_view text);
};

/// Sends signals to a relay's channel (`voice:sig:RELAY`) and receives this
/// relay's own on a second, subscribe-only connection (renewed after a
/// reconnect). A PUBLISH that reached no subscriber (the peer is between
/// reconnects) is retried every 200 ms, at most 10 times, then given up: the
/// ring timers on both relays make sure no call is left ringing. One that
/// failed because Redis is unreachable is retried every 200 ms for up to a
/// minute, so a hangup sent while Redis restarts still arrives. Received
/// signals repeating a (relay, request) pair seen recently are dropped, so
/// a retried signal is handled once.
class ClusterSignals {
public:
    using Handler = std::function<void(const ClusterSignal&)>;

    ClusterSignals(EventLoop& loop, RedisClient& publisher, RedisEndpoint endpoint,
                   std::string relayId, Handler handler);
    ~ClusterSignals();
    void start();
    void send(const std::string& relay, ClusterSignal signal);

    uint64_t sent() const { return sent_; }
    uint64_t received() const { return received_; }
    uint64_t lost() const { return lost_; }

private:
    void publish(const std::string& channel, std::string text, int attempt);
    void onMessage(const std::string& text);

    EventLoop& loop_;
    RedisClient& publisher_;
    std::unique_ptr<RedisClient> subscriber_;
    std::string relayId_;
    Handler handler_;
    uint64_t nextRequest_ = 1;
    std::set<std::pair<std::string, uint64_t>> seen_;
    std::deque<std::pair<std::string, uint64_t>> seenOrder_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    uint64_t sent_ = 0, received_ = 0, lost_ = 0;
};

} // namespace voice
