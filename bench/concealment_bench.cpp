// SPDX-License-Identifier: MIT
// Concealed-frame rate against loss rate (issue 8), with and without feedback-driven Opus FEC.
//
// Two AudioPipelines (alice <-> bob) in one process over the loopback
// transport, on simulated sound cards paced by the monotonic clock (so each
// run takes real time; runs go in parallel batches). Both directions lose
// packets with the same model and rate (different seeds), so bob's loss
// reports to alice are lost at that rate too:
//  - uniform: each packet lost independently;
//  - bursty: Gilbert-Elliott, mean burst of 2 packets, same long-run rate.
// Loss 0, 1, 2, 5, 10, 15, 20 %; fec = auto (alice's FEC follows bob's
// reports) and fec = off. Opus, 20 ms frames, 32 kbit/s (voiced's default),
// a repeating 200..4000 Hz chirp as the signal.
//
// Counted at bob after the first 2 s (feedback has settled): of the frames
// due to play from a packet (decoded + FEC-recovered + concealed for a
// missing packet; stretch frames the jitter buffer inserts for jitter are
// not counted), the share concealed and the share rebuilt from FEC.
//
// The jitter buffer margin is voiced's (15 ms) by default, so that load
// spikes on a shared machine running several pipelines at once do not make
// packets late and blur the loss figures; --margin-ms 2 shows the library
// default.
//
//   build/bench/concealment_bench [--seconds N] [--parallel K] [--margin-ms M]
#include "core/log.h"
#include "pipeline/audio_pipeline.h"
#include "pipeline/loopback_transport.h"
#include "pipeline/simulated_pcm.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace voice;

namespace {

DirectionKeys keysFor(MediaDirection d) {
    std::vector<uint8_t> key(DirectionKeys::kKeySize, static_cast<uint8_t>(d) + 1);
    std::vector<uint8_t> aux(DirectionKeys::kAuxSize, static_cast<uint8_t>(d) + 7);
    return {SecureBytes(std::span<const uint8_t>(key)), SecureBytes(std::span<const uint8_t>(aux))};
}

std::vector<int16_t> chirps(double seconds) {
    const size_t n = static_cast<size_t>(48000 * seconds);
    std::vector<int16_t> v(n);
    const double period = 2.0;
    for (size_t i = 0; i < n; ++i) {
        const double t = std::fmod(static_cast<double>(i) / 48000, period);
        const double phase = 2 * std::numbers::pi * (200 * t + 3800 * t * t / (2 * period));
        v[i] = static_cast<int16_t>(std::lround(10000 * std::sin(phase)));
    }
    return v;
}

struct Case {
    bool bursty = false;
    double loss = 0;
    FecMode fec = FecMode::Auto;
};

struct RunResult {
    bool ok = false;
    double linkLossPercent = 0;
    uint64_t due = 0;
    uint64_t concealed = 0;
    uint64_t recovered = 0;
    uint64_t inserted = 0;
    bool fecOn = false;
    int expectedLoss = 0;
};

uint64_t concealedForLoss(const JitterBufferStats& s) {
    return s.framesConcealed - s.framesInserted;
}

RunResult run(const Case& c, std::chrono::seconds duration, std::chrono::milliseconds margin,
              uint64_t seed) {
    RunResult r;
    LinkImpairment link{.lossRate = c.loss, .burstLength = c.bursty ? 2.0 : 1.0, .seed = seed};
    LinkImpairment back = link;
    back.seed = seed * 7919 + 1;
    auto pair = LoopbackTransport::makePair(link, back);
    if (!pair) {
        std::fprintf(stderr, "transport: %s\n", pair.status().toString().c_str());
        return r;
    }
    std::unique_ptr<AudioPipeline> p[2];
    for (int side = 0; side < 2; ++side) {
        AudioPipelineConfig config;
        config.codec.codec = CodecId::Opus;
        config.codec.frameDuration = 20ms;
        config.codec.bitrate = 32000;
        config.fecMode = c.fec;
        config.jitter.margin = margin;
        config.realtime = false;
        config.sendDirection =
            side == 0 ? MediaDirection::CallerToCallee : MediaDirection::CalleeToCaller;
        const MediaDirection receive =
            side == 0 ? MediaDirection::CalleeToCaller : MediaDirection::CallerToCallee;
        auto tape =
            std::make_shared<SimulatedTape>(chirps(static_cast<double>(duration.count()) + 10), 0);
        auto sealer = makeMediaSealer(kDefaultCipherSuite, config.sendDirection,
                                      keysFor(config.sendDirection));
        auto opener = makeMediaOpener(kDefaultCipherSuite, receive, keysFor(receive));
        if (!sealer || !opener) {
            return r;
        }
        auto made = AudioPipeline::make(
            config, side == 0 ? *pair->a : *pair->b, std::move(*sealer), std::move(*opener),
            std::make_unique<SimulatedPcmOpener>(tape), std::make_unique<SimulatedPcmOpener>(tape));
        if (!made) {
            std::fprintf(stderr, "pipeline: %s\n", made.status().toString().c_str());
            return r;
        }
        p[side] = std::move(*made);
    }
    for (auto& pipeline : p) {
        if (!pipeline->start()) {
            return r;
        }
    }
    std::this_thread::sleep_for(2s);
    const auto before = p[1]->stats();
    std::this_thread::sleep_for(duration);
    const auto after = p[1]->stats();
    const auto alice = p[0]->stats();
    for (auto& pipeline : p) {
        pipeline->stop();
    }
    const auto& b = before.jitter;
    const auto& a = after.jitter;
    r.recovered = a.framesFecRecovered - b.framesFecRecovered;
    r.concealed = concealedForLoss(a) - concealedForLoss(b);
    r.inserted = a.framesInserted - b.framesInserted;
    r.due = a.framesDecoded - b.framesDecoded + r.recovered + r.concealed;
    const double sent = static_cast<double>(alice.transport.packetsSent);
    r.linkLossPercent = sent > 0 ? 100.0 * static_cast<double>(alice.transport.packetsLost) /
                                       (sent + static_cast<double>(alice.transport.packetsLost))
                                 : 0;
    r.fecOn = alice.fecActive;
    r.expectedLoss = alice.fecExpectedLossPercent;
    r.ok = r.due > 0;
    return r;
}

double percent(uint64_t part, uint64_t whole) {
    return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0;
}

} // namespace

int main(int argc, char** argv) {
    long seconds = 10;
    long parallel = 4;
    long marginMs = 15;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--margin-ms") == 0 && i + 1 < argc) {
            marginMs = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--parallel") == 0 && i + 1 < argc) {
            parallel = std::strtol(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr, "usage: %s [--seconds N] [--parallel K] [--margin-ms M]\n",
                         argv[0]);
            return 2;
        }
    }
    if (seconds < 1 || seconds > 600 || parallel < 1 || parallel > 28 || marginMs < 0 ||
        marginMs > 100) {
        std::fprintf(stderr, "--seconds must be 1..600, --parallel 1..28, --margin-ms 0..100\n");
        return 2;
    }
    setLogLevel(LogLevel::Warning);
    const double losses[] = {0, 0.01, 0.02, 0.05, 0.10, 0.15, 0.20};
    std::vector<Case> cases;
    for (bool bursty : {false, true}) {
        for (double loss : losses) {
            for (FecMode fec : {FecMode::Off, FecMode::Auto}) {
                cases.push_back({bursty, loss, fec});
            }
        }
    }
    std::vector<RunResult> results(cases.size());
    for (size_t first = 0; first < cases.size(); first += static_cast<size_t>(parallel)) {
        std::vector<std::thread> batch;
        for (size_t i = first; i < std::min(cases.size(), first + static_cast<size_t>(parallel));
             ++i) {
            batch.emplace_back([&, i] {
                results[i] = run(cases[i], std::chrono::seconds(seconds),
                                 std::chrono::milliseconds(marginMs), 1000 + i / 2);
            });
        }
        for (auto& t : batch) {
            t.join();
        }
    }
    std::printf("opus 20 ms, 32 kbit/s, jitter margin %ld ms; both directions lossy; %ld s "
                "counted per run after 2 s, %ld runs at a time; %% of frames due at bob\n",
                marginMs, seconds, parallel);
    std::printf("%-8s %6s | %9s | %12s %10s | %12s %10s %8s %8s\n", "loss", "target", "link %",
                "off concl %", "", "auto concl %", "fec rec %", "fec", "expects");
    for (size_t i = 0; i + 1 < cases.size(); i += 2) {
        const RunResult& off = results[i];
        const RunResult& on = results[i + 1];
        if (!off.ok || !on.ok) {
            std::printf("%-8s %5.0f%% | run failed\n", cases[i].bursty ? "bursty" : "uniform",
                        cases[i].loss * 100);
            continue;
        }
        std::printf("%-8s %5.0f%% | %4.1f/%4.1f | %12.2f %10s | %12.2f %10.2f %8s %7d%%\n",
                    cases[i].bursty ? "bursty" : "uniform", cases[i].loss * 100,
                    off.linkLossPercent, on.linkLossPercent, percent(off.concealed, off.due), "",
                    percent(on.concealed, on.due), percent(on.recovered, on.due),
                    on.fecOn ? "on" : "off", on.expectedLoss);
    }
    return 0;
}
