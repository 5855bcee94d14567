// SPDX-License-Identifier: MIT
// A real voice-relayd with two media threads under light load: one thread forwards everything,
// the other does not wake per packet (issue 21).
#include "relay_harness.h"

#include <dirent.h>
#include <fstream>
#include <gtest/gtest.h>
#include <map>

namespace voice::test {
namespace {

/// Times each thread named `media-N` of `pid` was switched in (schedstat's
/// third field), by N.
std::map<std::string, uint64_t> mediaThreadRuns(pid_t pid) {
    std::map<std::string, uint64_t> runs;
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d) {
        return runs;
    }
    while (dirent* e = readdir(d)) {
        std::string comm;
        std::ifstream(dir + "/" + e->d_name + "/comm") >> comm;
        if (comm.rfind("media-", 0) != 0) {
            continue;
        }
        uint64_t runNs = 0, waitNs = 0, slices = 0;
        std::ifstream(dir + "/" + e->d_name + "/schedstat") >> runNs >> waitNs >> slices;
        runs[comm] = slices;
    }
    closedir(d);
    return runs;
}

TEST(ARelayUnderLightLoad, ForwardsWithOneMediaThreadWhileTheOtherSleeps) {
    RelayProcess relay("media_threads = 2\nmetrics = 127.0.0.1:0\n");
    ASSERT_TRUE(relay.start());
    // Eight calls: sixteen flows from sixteen sockets, which the kernel's
    // hash would spread over both threads' sockets (all on one: p = 2^-15).
    constexpr int kCalls = 8;
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<uint64_t> sessions;
    for (int i = 0; i < kCalls; ++i) {
        auto a = Client::connect(relay.port());
        auto b = Client::connect(relay.port());
        ASSERT_TRUE(a && b);
        const std::string na = "a" + std::to_string(i), nb = "b" + std::to_string(i);
        ASSERT_TRUE(a->registerOk(na, Identity::generate().value()));
        ASSERT_TRUE(b->registerOk(nb, Identity::generate().value()));
        msg::Call call;
        call.callee = nb;
        ASSERT_TRUE(a->send(call));
        auto incoming = b->expect<msg::IncomingCall>();
        ASSERT_TRUE(incoming && a->expect<msg::Ringing>());
        msg::Accept accept;
        accept.callId = incoming->callId;
        ASSERT_TRUE(b->send(accept));
        auto sa = a->expect<msg::CallStarted>();
        auto sb = b->expect<msg::CallStarted>();
        ASSERT_TRUE(sa && sb);
        ASSERT_TRUE(a->sendProbe(sa->sessionId));
        ASSERT_TRUE(b->sendProbe(sb->sessionId));
        sessions.push_back(sa->sessionId);
        sessions.push_back(sb->sessionId);
        clients.push_back(std::move(a));
        clients.push_back(std::move(b));
    }
    ASSERT_TRUE(waitUntil([&] { return relay.metric("voice_relayd_probes_total") >= 2 * kCalls; }));
    const auto before = mediaThreadRuns(relay.pid());
    ASSERT_EQ(before.size(), 2u) << "threads named media-0 and media-1";

    // 100 rounds, one packet per flow each, every packet answered before the
    // next round: each round wakes whichever threads got its packets.
    std::vector<uint8_t> payload(100, 0x5a);
    int forwarded = 0;
    for (uint64_t seq = 1; seq <= 100; ++seq) {
        for (size_t i = 0; i < clients.size(); ++i) {
            ASSERT_TRUE(clients[i]->sendUdp(mediaPacket(sessions[i], seq, payload)));
        }
        for (size_t i = 0; i < clients.size(); ++i) {
            forwarded += clients[i]->receiveUdp().has_value();
        }
    }
    EXPECT_EQ(forwarded, 100 * 2 * kCalls);
    const auto after = mediaThreadRuns(relay.pid());
    ASSERT_EQ(after.size(), 2u);
    const uint64_t busy = after.at("media-0") - before.at("media-0");
    const uint64_t idle = after.at("media-1") - before.at("media-1");
    // The idle one only wakes for its 500 ms heartbeat (a few times here);
    // spread by the kernel's hash it would wake in nearly every round.
    EXPECT_GE(busy, 100u);
    EXPECT_LE(idle, 40u) << "media-0 ran " << busy << " times";
}

} // namespace
} // namespace voice::test
