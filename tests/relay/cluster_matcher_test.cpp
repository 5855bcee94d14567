// SPDX-License-Identifier: MIT
// ClusterMatcher against a real redis-server: the same answers as call_matcher::onCall.
#include "redis_process.h"
#include "relay/cluster_matcher.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>

namespace voice {
namespace {

using namespace std::chrono_literals;
using test::RedisProcess;
using D = call_matcher::CallDecision;

CallId newId() {
    CallId id{};
    RAND_bytes(id.data(), int(id.size()));
    return id;
}

class AClusterMatcher : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(redis.start()) << redis.error();
        auto created = EventLoop::create();
        ASSERT_TRUE(created.ok());
        loop = std::move(*created);
        client = std::make_unique<RedisClient>(*loop, RedisEndpoint{redis.socketPath(), "", 0});
        client->start();
        ASSERT_TRUE(runUntil([&] { return client->connected(); }));
        matcher = std::make_unique<ClusterMatcher>(*client, 30s);
    }

    template <typename F>
    bool runUntil(F cond, std::chrono::milliseconds deadline = 5s) {
        auto end = std::chrono::steady_clock::now() + deadline;
        while (!cond() && std::chrono::steady_clock::now() < end) {
            (void)loop->runOnce(10ms);
        }
        return cond();
    }

    void online(const std::string& name) {
        ASSERT_EQ(redis.command({"SET", "voice:loc:" + name, "r2 1 7"}), "OK");
    }

    std::optional<ClusterMatcher::Match> call(const std::string& caller, const std::string& callee,
                                              CallId id = newId(), ClusterMatcher* with = nullptr) {
        bool done = false;
        std::optional<ClusterMatcher::Match> result;
        (with ? with : matcher.get())->match(caller, callee, id, [&](const auto& m) {
            result = m;
            done = true;
        });
        EXPECT_TRUE(runUntil([&] { return done; }));
        return result;
    }

    D decide(const std::string& caller, const std::string& callee, CallId id = newId()) {
        auto m = call(caller, callee, id);
        EXPECT_TRUE(m) << "redis did not answer";
        return m ? m->decision : D::Offline;
    }

    bool accept(const CallId& id, const std::string& callee) {
        std::optional<bool> ok;
        matcher->accept(id, callee, [&](bool r) { ok = r; });
        EXPECT_TRUE(runUntil([&] { return ok.has_value(); }));
        return ok.value_or(false);
    }

    RedisProcess redis;
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<RedisClient> client;
    std::unique_ptr<ClusterMatcher> matcher;
};

call_matcher::CallRequest request(std::string_view caller, std::string_view callee, bool online,
                                  LineState line = LineState::Idle,
                                  const call_matcher::CallView* mine = nullptr) {
    call_matcher::CallRequest r;
    r.caller = caller;
    r.callee = callee;
    r.calleeOnline = online;
    r.calleeLine = line;
    r.callerCall = mine;
    return r;
}

TEST_F(AClusterMatcher, AnswersOfflineForAnAbsentCalleeAndForOneself) {
    online("alice");
    EXPECT_EQ(decide("alice", "bob"), call_matcher::onCall(request("alice", "bob", false)));
    EXPECT_EQ(decide("alice", "bob"), D::Offline);
    EXPECT_EQ(decide("alice", "alice"), call_matcher::onCall(request("alice", "alice", true)));
    EXPECT_EQ(redis.command({"GET", "voice:line:alice"}), "(nil)");
}

TEST_F(AClusterMatcher, RingsAnIdleCalleeAndMarksBothLines) {
    online("alice");
    online("bob");
    const CallId id = newId();
    auto m = call("alice", "bob", id);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->decision, call_matcher::onCall(request("alice", "bob", true)));
    EXPECT_EQ(m->decision, D::Ring);
    EXPECT_EQ(m->calleeLocation, "r2 1 7");
    EXPECT_EQ(redis.command({"GET", "voice:line:alice"}), ClusterMatcher::hex(id));
    EXPECT_EQ(redis.command({"GET", "voice:line:bob"}), ClusterMatcher::hex(id));
    // One string per record; only a ringing record expires, never a line.
    const std::string record = "voice:call:" + ClusterMatcher::hex(id);
    EXPECT_EQ(redis.command({"GET", record}), "ringing alice bob");
    EXPECT_GT(std::stol(redis.command({"PTTL", record})), 0);
    EXPECT_EQ(redis.command({"PTTL", "voice:line:bob"}), "-1");
    ASSERT_TRUE(accept(id, "bob"));
    EXPECT_EQ(redis.command({"GET", record}), "answered alice bob");
    EXPECT_EQ(redis.command({"PTTL", record}), "-1");
}

TEST_F(AClusterMatcher, AnswersBusyForARingingOrAnsweredCallee) {
    for (auto n : {"alice", "bob", "carol", "dave"}) {
        online(n);
    }
    const CallId id = newId();
    ASSERT_EQ(decide("alice", "bob", id), D::Ring);
    EXPECT_EQ(decide("carol", "bob"),
              call_matcher::onCall(request("carol", "bob", true, LineState::Ringing)));
    EXPECT_EQ(decide("carol", "alice"), D::Busy); // the caller's line rings too
    ASSERT_TRUE(accept(id, "bob"));
    EXPECT_FALSE(accept(id, "bob")); // once
    EXPECT_EQ(decide("dave", "alice"),
              call_matcher::onCall(request("dave", "alice", true, LineState::InCall)));
    EXPECT_EQ(decide("dave", "alice"), D::Busy);
    // The caller in a call cannot call anyone else.
    call_matcher::CallView mine{"alice", "bob", true, true, true};
    EXPECT_EQ(decide("alice", "carol"),
              call_matcher::onCall(request("alice", "carol", true, LineState::Idle, &mine)));
    EXPECT_EQ(decide("alice", "carol"), D::AlreadyInCall);
}

TEST_F(AClusterMatcher, ResolvesGlareForTheSmallerNameWhateverTheOrder) {
    online("alice");
    online("bob");
    // bob rings alice first; alice (smaller) calls bob: bob's call is cancelled, hers rings.
    const CallId first = newId();
    ASSERT_EQ(decide("bob", "alice", first), D::Ring);
    call_matcher::CallView aliceRung{"bob", "alice", false, true, true};
    const CallId second = newId();
    auto m = call("alice", "bob", second);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->decision,
              call_matcher::onCall(request("alice", "bob", true, LineState::Ringing, &aliceRung)));
    EXPECT_EQ(m->decision, D::CancelRingingAndRing);
    EXPECT_EQ(m->cancelledCall, ClusterMatcher::hex(first));
    EXPECT_EQ(redis.command({"EXISTS", "voice:call:" + ClusterMatcher::hex(first)}), "0");
    EXPECT_EQ(redis.command({"GET", "voice:line:bob"}), ClusterMatcher::hex(second));
    // Now bob (larger) calls alice back while her call rings him: busy.
    call_matcher::CallView bobRung{"alice", "bob", false, true, true};
    EXPECT_EQ(decide("bob", "alice"),
              call_matcher::onCall(request("bob", "alice", true, LineState::Ringing, &bobRung)));
    EXPECT_EQ(decide("bob", "alice"), D::Busy);
    EXPECT_EQ(redis.command({"GET", "voice:line:alice"}), ClusterMatcher::hex(second));
}

TEST_F(AClusterMatcher, FreesBothLinesWhenTheRingTimesOutOrTheCallEnds) {
    online("alice");
    online("bob");
    online("carol");
    ClusterMatcher quick(*client, 300ms);
    auto m = call("alice", "bob", newId(), &quick);
    ASSERT_TRUE(m && m->decision == D::Ring);
    // Unanswered past the ring TTL: bob is idle again for everyone.
    bool rang = false;
    ASSERT_TRUE(runUntil([&] { return rang || (rang = decide("carol", "bob") == D::Ring); }, 5s));
    std::optional<bool> ended;
    // End carol's call (the line names it): both lines free, alice can call bob.
    std::string id = redis.command({"GET", "voice:line:bob"});
    CallId cid{};
    for (size_t i = 0; i < cid.size(); ++i) {
        cid[i] = uint8_t(std::stoi(id.substr(2 * i, 2), nullptr, 16));
    }
    matcher->end(cid, [&](bool ok) { ended = ok; });
    ASSERT_TRUE(runUntil([&] { return ended.has_value(); }));
    EXPECT_TRUE(*ended);
    EXPECT_EQ(redis.command({"GET", "voice:line:carol"}), "(nil)");
    // alice's line still names the call that timed out: the next match that
    // reads it takes it for idle and replaces it.
    EXPECT_NE(redis.command({"GET", "voice:line:alice"}), "(nil)");
    EXPECT_EQ(decide("alice", "bob"), D::Ring);
    EXPECT_EQ(redis.command({"GET", "voice:line:alice"}), redis.command({"GET", "voice:line:bob"}));
}

TEST_F(AClusterMatcher, FreesALineWhoseCallHasAPartyOffline) {
    for (auto n : {"alice", "bob", "carol"}) {
        online(n);
    }
    const CallId id = newId();
    ASSERT_EQ(decide("alice", "bob", id), D::Ring);
    ASSERT_TRUE(accept(id, "bob"));
    EXPECT_EQ(decide("carol", "bob"), D::Busy);
    // alice's relay died (her location expired) without ending the call.
    ASSERT_EQ(redis.command({"DEL", "voice:loc:alice"}), "1");
    EXPECT_EQ(decide("carol", "bob"), D::Ring);
}

TEST_F(AClusterMatcher, RingsACalleeOnceWhenManyCallAtOnceThroughTwoConnections) {
    online("bob");
    RedisClient other(*loop, RedisEndpoint{redis.socketPath(), "", 0});
    other.start();
    ASSERT_TRUE(runUntil([&] { return other.connected(); }));
    ClusterMatcher second(other, 30s);
    int rings = 0, busy = 0, answers = 0;
    for (int i = 0; i < 40; ++i) {
        online("caller" + std::to_string(i));
        (i % 2 ? second : *matcher)
            .match("caller" + std::to_string(i), "bob", newId(), [&](const auto& m) {
                ++answers;
                if (m && m->decision == D::Ring) {
                    ++rings;
                } else if (m && m->decision == D::Busy) {
                    ++busy;
                }
            });
    }
    ASSERT_TRUE(runUntil([&] { return answers == 40; }));
    EXPECT_EQ(rings, 1);
    EXPECT_EQ(busy, 39);
}

TEST_F(AClusterMatcher, FailsFastWhenRedisIsGone) {
    online("alice");
    online("bob");
    redis.kill();
    ASSERT_TRUE(runUntil([&] { return !client->connected(); }));
    const auto start = std::chrono::steady_clock::now();
    auto m = call("alice", "bob");
    EXPECT_FALSE(m); // unavailable, not offline
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

} // namespace
} // namespace voice
