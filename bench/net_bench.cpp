// SPDX-License-Identifier: MIT
// Control-plane costs: EventLoop post() dispatch, TLS 1.3 handshakes and echo round trips on
// loopback.
//
//   build/bench/net_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include "net/event_loop.h"
#include "net/socket.h"
#include "net/tls_stream.h"

#include <benchmark/benchmark.h>

using namespace voice;
using namespace std::chrono_literals;

namespace {

void BM_EventLoopPostDispatch(benchmark::State& state) {
    auto loop = std::move(EventLoop::create()).value();
    int64_t ran = 0;
    for (auto _ : state) {
        for (int i = 0; i < 100; ++i) {
            loop->post([&ran] { ++ran; });
        }
        while (ran % 100 != 0 || ran == 0) {
            (void)loop->runOnce(0ms);
        }
        (void)loop->runOnce(0ms);
    }
    state.SetItemsProcessed(ran);
}
BENCHMARK(BM_EventLoopPostDispatch);

// Generated once: the handshake benchmark measures handshakes, not key generation.
const TlsIdentity& benchIdentity() {
    static const TlsIdentity identity = std::move(TlsIdentity::generate("bench")).value();
    return identity;
}

// A TLS echo pair on one loop: client and server TlsStream over loopback.
struct EchoPair {
    std::unique_ptr<EventLoop> loop = std::move(EventLoop::create()).value();
    const TlsIdentity& identity = benchIdentity();
    std::shared_ptr<TlsContext> serverCtx = std::move(TlsContext::createServer(identity)).value();
    std::shared_ptr<TlsContext> clientCtx = std::move(TlsContext::createClient()).value();
    std::unique_ptr<TlsStream> server, client;
    size_t echoed = 0;
    bool connected = false;

    EchoPair() {
        auto listener = std::move(tcpListen(SocketAddress::loopbackV4(0))).value();
        auto cfd = std::move(tcpConnect(*localAddress(listener.get()))).value();
        UniqueFd sfd;
        while (!sfd.isValid()) {
            sfd = std::move(tcpAccept(listener.get())).value();
        }
        auto sconn = std::move(TlsConnection::accept(serverCtx, std::move(sfd))).value();
        server =
            std::move(TlsStream::create(
                          *loop, std::move(sconn),
                          {nullptr, [this](std::span<const std::byte> d) { (void)server->send(d); },
                           nullptr}))
                .value();
        auto cconn = std::move(TlsConnection::connect(clientCtx, std::move(cfd), "bench",
                                                      identity.fingerprint()))
                         .value();
        client =
            std::move(TlsStream::create(
                          *loop, std::move(cconn),
                          {[this] { connected = true; },
                           [this](std::span<const std::byte> d) { echoed += d.size(); }, nullptr}))
                .value();
        while (!connected) {
            (void)loop->runOnce(100ms);
        }
    }
};

void BM_TlsHandshake(benchmark::State& state) {
    for (auto _ : state) {
        EchoPair pair;
        benchmark::DoNotOptimize(pair.connected);
    }
}
BENCHMARK(BM_TlsHandshake)->Unit(benchmark::kMicrosecond);

void BM_TlsEchoRoundTrip(benchmark::State& state) {
    EchoPair pair;
    const std::vector<std::byte> message(static_cast<size_t>(state.range(0)), std::byte{0x5a});
    for (auto _ : state) {
        const size_t target = pair.echoed + message.size();
        (void)pair.client->send(message);
        while (pair.echoed < target) {
            (void)pair.loop->runOnce(100ms);
        }
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TlsEchoRoundTrip)->Arg(64)->Arg(1024)->Arg(16384)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
