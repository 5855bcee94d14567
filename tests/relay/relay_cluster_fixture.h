// SPDX-License-Identifier: MIT
// ACluster: two (or three) real voice-relayd in cluster mode sharing a real
// redis-server, and the helpers the cluster tests share.
#pragma once

#include "redis_process.h"
#include "relay/cluster_matcher.h"
#include "relay/trunk.h"
#include "relay_harness.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>

namespace voice::test {

inline Identity newIdentity() {
    auto id = Identity::generate();
    EXPECT_TRUE(id.ok());
    return std::move(*id);
}

inline std::string hexOf(std::span<const uint8_t> key) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : key) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

class ACluster : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(redis.start()) << redis.error();
        std::ofstream(redis.dir() + "/cluster.key")
            << "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
        ::chmod((redis.dir() + "/cluster.key").c_str(), 0600);
        ASSERT_TRUE(relay1.start()) << "relay 1 did not start";
        ASSERT_TRUE(relay2.start()) << "relay 2 did not start";
        // Both relays have joined once each counts the other.
        ASSERT_TRUE(waitUntil([&] {
            return relay1.metric("voice_relayd_cluster_relays") == 2 &&
                   relay2.metric("voice_relayd_cluster_relays") == 2;
        })) << "the relays do not see each other in redis";
    }

    std::string config(const std::string& id) {
        return redis.configLine() + "relay_id = " + id +
               "\nadvertise = 127.0.0.1:0\ncluster_key_file = " + redis.dir() +
               "/cluster.key\nnew_names_per_minute = 100000\nregistration_timeout = 5s\n"
               "metrics = 127.0.0.1:0\nring_timeout = 1500ms\n";
    }

    /// Registered on relay, and its location is in Redis.
    std::unique_ptr<Client> present(RelayProcess& relay, const std::string& name,
                                    const Identity& id) {
        auto c = registered(relay, name, id);
        EXPECT_TRUE(waitUntil([&] {
            return redis.command({"GET", "voice:loc:" + name}).find(' ') != std::string::npos;
        }));
        return c;
    }

    /// caller calls callee (on another relay); both ring. Returns the call id.
    std::optional<CallId> ring(Client& caller, Client& callee, const std::string& calleeName,
                               const Identity& callerId, const Identity& calleeId) {
        msg::Call call;
        call.callee = calleeName;
        EXPECT_TRUE(caller.send(call));
        auto incoming = callee.expect<msg::IncomingCall>();
        auto ringing = caller.expect<msg::Ringing>();
        EXPECT_TRUE(incoming && ringing)
            << caller.lastUnexpected() << " " << callee.lastUnexpected();
        if (!incoming || !ringing) {
            return std::nullopt;
        }
        EXPECT_EQ(incoming->callId, ringing->callId);
        EXPECT_EQ(incoming->callerKey, callerId.publicKey());
        EXPECT_EQ(ringing->calleeKey, calleeId.publicKey());
        return incoming->callId;
    }

    /// from hangs up call id; to is told, with reason Normal. Empty on success.
    static std::string hangUp(Client& from, Client& to, const CallId& id) {
        msg::Hangup h;
        h.callId = id;
        h.reason = HangupReason::Normal;
        if (!from.send(h)) {
            return "hangup not sent";
        }
        auto ended = to.expect<msg::Hangup>();
        if (!ended) {
            return "no hangup arrived: " + to.lastUnexpected();
        }
        return ended->reason == HangupReason::Normal ? "" : "hangup with another reason";
    }

    /// A call between alice (caller) on `callerRelay` and bob (callee) on
    /// `calleeRelay`, answered, with both sides' first ResumeTokens and
    /// probes sent; media passes both ways.
    struct AnsweredCall {
        std::unique_ptr<Client> alice, bob;
        CallId id{};
        uint64_t aliceSession = 0, bobSession = 0;
        msg::ResumeToken aliceToken, bobToken;
    };
    std::optional<AnsweredCall> answeredCall(RelayProcess& callerRelay, RelayProcess& calleeRelay,
                                             const Identity& aliceId, const Identity& bobId) {
        AnsweredCall call;
        call.alice = present(callerRelay, "alice", aliceId);
        call.bob = present(calleeRelay, "bob", bobId);
        auto id = ring(*call.alice, *call.bob, "bob", aliceId, bobId);
        if (!id) {
            return std::nullopt;
        }
        call.id = *id;
        msg::Accept accept;
        accept.callId = *id;
        EXPECT_TRUE(call.bob->send(accept));
        auto a = call.alice->expect<msg::CallStarted>();
        auto b = call.bob->expect<msg::CallStarted>();
        auto ta = call.alice->expectResumeToken();
        auto tb = call.bob->expectResumeToken();
        EXPECT_TRUE(a && b && ta && tb);
        if (!a || !b || !ta || !tb) {
            return std::nullopt;
        }
        call.aliceSession = a->sessionId;
        call.bobSession = b->sessionId;
        call.aliceToken = *ta;
        call.bobToken = *tb;
        EXPECT_TRUE(call.alice->sendProbe(call.aliceSession));
        EXPECT_TRUE(call.bob->sendProbe(call.bobSession));
        EXPECT_TRUE(mediaFlows(*call.alice, call.aliceSession, *call.bob, call.bobSession));
        return call;
    }

    /// A third relay of the cluster, started; true once relays 1 and 2 count it.
    bool joinThird(RelayProcess& relay3) {
        return relay3.start() && waitUntil([&] {
                   return relay1.metric("voice_relayd_cluster_relays") == 3 &&
                          relay2.metric("voice_relayd_cluster_relays") == 3;
               });
    }

    /// The call's record (and so its lines) leaves Redis once it ended.
    bool recordGone(const CallId& id) {
        return waitUntil([&] {
            return redis.command({"EXISTS", "voice:call:" + ClusterMatcher::hex(id)}) == "0";
        });
    }

    /// The relay dies at once (kill -9).
    static void kill9(RelayProcess& relay) {
        ::kill(relay.pid(), SIGKILL);
        ::waitpid(relay.pid(), nullptr, 0);
    }

    /// name (whose relay died) registers at relay and sends Resume{id, token}.
    std::unique_ptr<Client> resumeAt(RelayProcess& relay, const std::string& name,
                                     const Identity& id, const CallId& call,
                                     const msg::ResumeToken& token) {
        auto c = registered(relay, name, id);
        if (c) {
            msg::Resume resume;
            resume.callId = call;
            resume.token = token.token;
            EXPECT_TRUE(c->send(resume));
        }
        return c;
    }

    /// Within `deadline`, a packet from a reaches b and one from b reaches a
    /// (retried: a route may still be moving). Empty messages, no asserts.
    static bool mediaFlows(Client& a, uint64_t sa, Client& b, uint64_t sb,
                           std::chrono::milliseconds deadline = 5s) {
        static uint64_t seq = 1;
        auto arrives = [](Client& from, uint64_t session, Client& to, uint64_t sequence) {
            std::vector<uint8_t> payload(80, uint8_t(sequence));
            auto packet = mediaPacket(session, sequence, payload);
            if (!from.sendUdp(packet)) {
                return false;
            }
            const auto end = std::chrono::steady_clock::now() + 200ms;
            while (std::chrono::steady_clock::now() < end) {
                auto got = to.receiveUdp(50ms);
                if (got && *got == packet) {
                    return true;
                }
            }
            return false;
        };
        const auto end = std::chrono::steady_clock::now() + deadline;
        bool ab = false, ba = false;
        while (std::chrono::steady_clock::now() < end && !(ab && ba)) {
            ab = ab || arrives(a, sa, b, seq++);
            ba = ba || arrives(b, sb, a, seq++);
        }
        return ab && ba;
    }

    std::unique_ptr<Client> registered(RelayProcess& relay, const std::string& name,
                                       const Identity& id) {
        auto c = Client::connect(relay.port());
        EXPECT_TRUE(c);
        if (c) {
            EXPECT_TRUE(c->registerOk(name, id)) << name;
        }
        return c;
    }

    RedisProcess redis;
    RelayProcess relay1{config("r1")};
    RelayProcess relay2{config("r2")};
};

} // namespace voice::test
