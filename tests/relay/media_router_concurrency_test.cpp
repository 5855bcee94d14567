// SPDX-License-Identifier: MIT
// MediaRouter under concurrent use: media threads route while the control thread adds and removes
// calls.
#include "crypto/probe_auth.h"
#include "relay/media_router.h"
#include "wire/media_header.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace voice {
namespace {

std::vector<uint8_t> packet(uint64_t session, uint64_t seq) {
    MediaHeader h;
    h.sessionId = session;
    h.sequence = seq;
    std::vector<uint8_t> out(MediaHeader::kSize + 20);
    h.encode(std::span<uint8_t, MediaHeader::kSize>(out.data(), MediaHeader::kSize));
    return out;
}

TEST(AMediaRouterUnderConcurrency, RoutesWhileCallsComeAndGo) {
    MediaRouter router(std::chrono::seconds(5));
    constexpr int kCalls = 64;
    std::vector<std::pair<uint64_t, uint64_t>> ids;
    MediaRouter::RouteKey key;
    key.fill(7); // every side's route key, for brevity
    for (int i = 0; i < kCalls; ++i) {
        uint64_t a = router.unusedSessionId();
        router.addCall(a, 1, a ^ 1, 2); // a ^ 1 != a, and ids stay distinct per pair
        (void)router.setRouteKey(a, key);
        (void)router.setRouteKey(a ^ 1, key);
        ids.emplace_back(a, a ^ 1);
    }
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> routed{0};
    std::atomic<uint64_t> probeCounter{0};
    std::vector<std::thread> media;
    for (int t = 0; t < 3; ++t) {
        media.emplace_back([&, t] {
            auto from = SocketAddress::loopbackV4(uint16_t(1000 + t));
            uint64_t seq = 0;
            while (!stop.load()) {
                for (auto& [a, b] : ids) {
                    const uint64_t session = t % 2 ? a : b;
                    if (seq % 8 == 0) { // a probe now and then, racing the others' and rekeys
                        auto p = probe_auth::make(key, session, probeCounter.fetch_add(1) + 1, 0);
                        (void)router.route(p, &from, 3 + t, MediaRouter::Clock::now());
                        routed.fetch_add(1);
                    }
                    (void)router.route(packet(session, seq), &from, 3 + t,
                                       MediaRouter::Clock::now());
                    routed.fetch_add(1);
                }
                ++seq;
            }
        });
    }
    // The control thread replaces calls and reads statistics meanwhile.
    for (int round = 0; round < 200; ++round) {
        auto& [a, b] = ids[size_t(round % kCalls)];
        (void)router.stats(a);
        router.removeCall(a, b);
        router.addCall(a, 1, b, 2);
        (void)router.setRouteKey(a, key);
        (void)router.setRouteKey(b, key);
        (void)router.setConnection(b, uint64_t(3 + round)); // b resumed on another connection
        EXPECT_TRUE(router.contains(a));
    }
    while (routed.load() < 10000) {
        std::this_thread::yield();
    }
    stop = true;
    for (auto& t : media) {
        t.join();
    }
    EXPECT_EQ(router.sessions(), size_t(2 * kCalls));
    EXPECT_GT(router.forwardedPackets.load(), 0u);
    // Every packet is forwarded, dropped, or a valid probe (some echoed).
    EXPECT_GT(router.probes.load(), 0u);
    EXPECT_LE(router.probesEchoed.load(), router.probes.load());
    EXPECT_EQ(router.forwardedPackets.load() + router.droppedPackets.load() + router.probes.load(),
              routed.load());
}

} // namespace
} // namespace voice
