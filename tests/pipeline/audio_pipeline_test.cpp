// SPDX-License-Identifier: MIT
// Two AudioPipelines (alice and bob) over an in-process lossy link and
// simulated sound cards paced by the monotonic clock: audio keeps flowing,
// loss is concealed, bad packets are dropped and counted, mute sends
// silence, and stop() joins every thread.
#include "pipeline/audio_pipeline.h"
#include "pipeline/loopback_transport.h"
#include "pipeline/simulated_pcm.h"
#include "pipeline_test_support.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <sched.h>
#include <string>
#include <unistd.h>

using namespace std::chrono_literals;
using namespace voice;
using namespace voice::testing;

namespace {

AudioPipelineConfig configFor(MediaDirection send, CodecId codec, std::chrono::microseconds frame) {
    AudioPipelineConfig c;
    c.capture.device = "sim_in";
    c.playback.device = "sim_out";
    c.codec.codec = codec;
    c.codec.frameDuration = frame;
    c.sendDirection = send;
    c.sessionId = send == MediaDirection::CallerToCallee ? 0xa11ce : 0xb0b;
    c.realtime = false; // the test machine may refuse; the pipeline copes either way
    return c;
}

/// One side of a call: its pipeline, the simulated card's tape and its transport end.
struct Side {
    std::shared_ptr<SimulatedTape> tape;
    std::unique_ptr<AudioPipeline> pipeline;
};

Side makeSide(const AudioPipelineConfig& config, MediaTransport& transport,
              std::vector<int16_t> input, size_t outputCapacity) {
    Side side;
    side.tape = std::make_shared<SimulatedTape>(std::move(input), outputCapacity);
    auto p = AudioPipeline::make(config, transport, sealerFor(config.sendDirection),
                                 openerFor(other(config.sendDirection)),
                                 std::make_unique<SimulatedPcmOpener>(side.tape),
                                 std::make_unique<SimulatedPcmOpener>(side.tape));
    EXPECT_TRUE(p.ok()) << p.status().toString();
    if (p.ok()) {
        side.pipeline = std::move(*p);
    }
    return side;
}

/// The CPUs a thread may run on, from the kernel ("0-1", "3").
std::string cpusAllowed(const std::string& tid) {
    std::ifstream status("/proc/self/task/" + tid + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Cpus_allowed_list:", 0) == 0) {
            return line.substr(line.find_first_not_of(" \t", 18));
        }
    }
    return "?";
}

/// Thread name -> allowed CPUs, for this process's threads named voice-*.
std::map<std::string, std::string> audioThreadCpus() {
    std::map<std::string, std::string> cpus;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream commFile(task.path() / "comm");
        std::string comm;
        std::getline(commFile, comm);
        if (comm.rfind("voice-", 0) == 0) {
            cpus[comm] = cpusAllowed(task.path().filename());
        }
    }
    return cpus;
}

std::string cpusOfThisThread() {
    return cpusAllowed(std::to_string(gettid()));
}

/// Notes the CPUs of the thread that opens each device.
class OpenerCpuProbe final : public PcmOpener {
public:
    OpenerCpuProbe(std::unique_ptr<PcmOpener> inner, std::string& seen)
        : inner_(std::move(inner)), seen_(seen) {}
    Result<std::unique_ptr<Pcm>> open(const PcmConfig& config, PcmStream stream) override {
        seen_ = cpusOfThisThread();
        return inner_->open(config, stream);
    }

private:
    std::unique_ptr<PcmOpener> inner_;
    std::string& seen_;
};

} // namespace

TEST(AnAudioPipeline, RunsAllItsAudioWorkOnTheCpuItIsGiven) {
    cpu_set_t allowed;
    ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
    int cpu = CPU_SETSIZE - 1;
    while (cpu > 0 && !CPU_ISSET(cpu, &allowed)) {
        --cpu;
    }
    const std::string controlCpus = cpusOfThisThread();
    auto pair = LoopbackTransport::makePair();
    ASSERT_TRUE(pair.ok());
    auto config = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
    config.cpu = cpu;
    auto tape = std::make_shared<SimulatedTape>(std::vector<int16_t>{}, 0);
    std::string captureOpenedOn;
    std::string playbackOpenedOn;
    auto p = AudioPipeline::make(
        config, *pair->a, sealerFor(config.sendDirection), openerFor(other(config.sendDirection)),
        std::make_unique<OpenerCpuProbe>(std::make_unique<SimulatedPcmOpener>(tape),
                                         captureOpenedOn),
        std::make_unique<OpenerCpuProbe>(std::make_unique<SimulatedPcmOpener>(tape),
                                         playbackOpenedOn));
    ASSERT_TRUE(p.ok()) << p.status().toString();
    ASSERT_TRUE((*p)->start().ok());
    EXPECT_TRUE(waitUntil([&] { return (*p)->stats().framesPlayed >= 2; }));
    const auto threads = audioThreadCpus();
    (*p)->stop();
    const std::string only = std::to_string(cpu);
    EXPECT_EQ(threads.size(), 4u);
    for (const char* name : {"voice-recorder", "voice-transmit", "voice-receive", "voice-player"}) {
        ASSERT_TRUE(threads.count(name)) << name;
        EXPECT_EQ(threads.at(name), only) << name;
    }
    // Threads a device starts while opening inherit the opener's CPUs.
    EXPECT_EQ(captureOpenedOn, only);
    EXPECT_EQ(playbackOpenedOn, only);
    EXPECT_EQ(cpusOfThisThread(), controlCpus) << "the control thread keeps its CPUs";
}

TEST(AnAudioPipeline, LeavesItsThreadsToTheSchedulerWithoutACpu) {
    const std::string controlCpus = cpusOfThisThread();
    auto pair = LoopbackTransport::makePair();
    ASSERT_TRUE(pair.ok());
    auto config = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
    Side side = makeSide(config, *pair->a, {}, 0);
    ASSERT_TRUE(side.pipeline);
    ASSERT_TRUE(side.pipeline->start().ok());
    EXPECT_TRUE(waitUntil([&] { return side.pipeline->stats().framesPlayed >= 2; }));
    // The first frames fill the playback buffer at once: the other threads
    // may not have named themselves yet.
    EXPECT_TRUE(waitUntil([&] { return audioThreadCpus().size() == 4; }));
    const auto threads = audioThreadCpus();
    side.pipeline->stop();
    EXPECT_EQ(threads.size(), 4u);
    for (const auto& [name, cpus] : threads) {
        EXPECT_EQ(cpus, controlCpus) << name;
    }
}

TEST(AnAudioPipeline, RefusesConfigurationsItCannotRun) {
    auto pair = LoopbackTransport::makePair();
    ASSERT_TRUE(pair.ok());
    auto config = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
    config.capture.format = *AudioFormat::make(44100, 1);
    auto p = AudioPipeline::make(config, *pair->a, sealerFor(config.sendDirection),
                                 openerFor(other(config.sendDirection)));
    EXPECT_FALSE(p.ok());
    config = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
    config.playback.format = *AudioFormat::make(48000, 2);
    EXPECT_EQ(config.validate().code(), Errc::Unsupported);
    config = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
    EXPECT_FALSE(AudioPipeline::make(config, *pair->a, nullptr, nullptr).ok());
    // Valid on its own, but the jitter buffer cannot hold 10 s of 10 ms frames.
    config = configFor(MediaDirection::CallerToCallee, CodecId::Pcm, 10ms);
    config.jitter.maxDelay = 10s;
    EXPECT_FALSE(AudioPipeline::make(config, *pair->a, sealerFor(config.sendDirection),
                                     openerFor(other(config.sendDirection)))
                     .ok());
    // A pipeline that never started leaves the transport alone.
    std::vector<uint8_t> packet(10, 1);
    EXPECT_TRUE(pair->a->send(packet));
}

TEST(AnAudioPipeline, StartsAndStopsWithoutLeavingThreadsBehind) {
    const size_t before = threadCount();
    {
        auto pair = LoopbackTransport::makePair();
        ASSERT_TRUE(pair.ok());
        auto config = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
        Side side = makeSide(config, *pair->a, {}, 0);
        ASSERT_TRUE(side.pipeline);
        ASSERT_TRUE(side.pipeline->start().ok());
        EXPECT_TRUE(side.pipeline->running());
        EXPECT_GT(threadCount(), before);
        side.pipeline->stop(); // returns: all four threads joined
        EXPECT_FALSE(side.pipeline->running());
        side.pipeline->stop(); // idempotent
        EXPECT_EQ(side.pipeline->start().code(), Errc::Closed) << "a pipeline runs once";
    }
    EXPECT_EQ(threadCount(), before);
}

TEST(AnAudioPipeline, KeepsPlayingThroughTenPercentLossAndConcealsTheGaps) {
    const size_t threadsBefore = threadCount();
    auto pair = LoopbackTransport::makePair({.lossRate = 0.10, .seed = 2024},
                                            {.lossRate = 0.10, .seed = 4048});
    ASSERT_TRUE(pair.ok());
    const auto aliceConfig = configFor(MediaDirection::CallerToCallee, CodecId::Pcm, 10ms);
    const auto bobConfig = configFor(MediaDirection::CalleeToCaller, CodecId::Pcm, 10ms);
    Side alice = makeSide(aliceConfig, *pair->a, chirp(48000, 5.0), 0);
    Side bob = makeSide(bobConfig, *pair->b, chirp(48000, 5.0, 8000), 48000 * 20);
    ASSERT_TRUE(alice.pipeline && bob.pipeline);
    ASSERT_TRUE(bob.pipeline->start().ok());
    ASSERT_TRUE(alice.pipeline->start().ok());

    // Enough frames for the loss statistics to mean something.
    EXPECT_TRUE(waitUntil([&] { return bob.pipeline->stats().jitter.framesDecoded >= 250; }))
        << "bob decoded " << bob.pipeline->stats().jitter.framesDecoded << " frames";
    // No stall: frames keep being played.
    const uint64_t played = bob.pipeline->stats().framesPlayed;
    EXPECT_TRUE(waitUntil([&] { return bob.pipeline->stats().framesPlayed >= played + 50; }));

    alice.pipeline->stop();
    bob.pipeline->stop();
    EXPECT_EQ(threadCount(), threadsBefore) << "every pipeline thread was joined";

    const auto a = alice.pipeline->stats();
    const auto b = bob.pipeline->stats();
    EXPECT_GT(a.framesCaptured, 0u);
    EXPECT_GT(a.packetsSent, 250u);
    // The link lost about 10 % of alice's packets...
    const double sent = static_cast<double>(a.transport.packetsSent + a.transport.packetsLost);
    const double linkLoss = static_cast<double>(a.transport.packetsLost) / sent;
    EXPECT_GT(linkLoss, 0.04);
    EXPECT_LT(linkLoss, 0.20);
    // ...and bob concealed about that share of the frames it was due to play.
    const auto& jb = b.jitter;
    const double due = static_cast<double>(jb.framesDecoded + jb.packetsLost);
    const double concealedShare = static_cast<double>(jb.packetsLost) / due;
    EXPECT_GT(jb.framesConcealed, 0u);
    EXPECT_GE(jb.framesConcealed, jb.packetsLost - jb.framesFecRecovered);
    EXPECT_GT(concealedShare, 0.04) << "lost " << jb.packetsLost << " of " << due;
    EXPECT_LT(concealedShare, 0.25) << "lost " << jb.packetsLost << " of " << due;
    EXPECT_EQ(b.packetsDropped, 0u) << "every packet that arrived was authentic";
    EXPECT_EQ(b.packetsReceived + b.packetsDropped, b.transport.packetsReceived);
    // The player measured capture-to-playout latency for decoded frames.
    EXPECT_GT(b.latency.count, 0u);
    EXPECT_GT(b.latency.p50, 10ms) << "a frame cannot play before it was captured in full";
    EXPECT_LT(b.latency.p50, 1s);
    // Audio came out: bob's speaker got non-silent samples.
    const auto out = bob.tape->output();
    EXPECT_TRUE(std::any_of(out.begin(), out.end(), [](int16_t s) { return s != 0; }));
}

TEST(AnAudioPipeline, SendsSilenceWhileMutedAndTheStreamKeepsRunning) {
    auto pair = LoopbackTransport::makePair();
    ASSERT_TRUE(pair.ok());
    const auto aliceConfig = configFor(MediaDirection::CallerToCallee, CodecId::Pcm, 10ms);
    const auto bobConfig = configFor(MediaDirection::CalleeToCaller, CodecId::Pcm, 10ms);
    // A loud constant signal for far longer than the test runs.
    Side alice = makeSide(aliceConfig, *pair->a, std::vector<int16_t>(48000 * 60, 5000), 0);
    Side bob = makeSide(bobConfig, *pair->b, {}, 48000 * 60);
    ASSERT_TRUE(alice.pipeline && bob.pipeline);
    ASSERT_TRUE(bob.pipeline->start().ok());
    ASSERT_TRUE(alice.pipeline->start().ok());
    ASSERT_TRUE(waitUntil([&] { return bob.pipeline->stats().jitter.framesDecoded >= 30; }));

    alice.pipeline->setMuted(true);
    EXPECT_TRUE(alice.pipeline->muted());
    const uint64_t receivedAtMute = bob.pipeline->stats().packetsReceived;
    // Muted frames keep arriving (and playing) at bob.
    EXPECT_TRUE(waitUntil([&] { return alice.pipeline->stats().framesMuted >= 60; }));
    EXPECT_TRUE(
        waitUntil([&] { return bob.pipeline->stats().packetsReceived >= receivedAtMute + 50; }));
    alice.pipeline->stop();
    bob.pipeline->stop();

    // Bob heard the signal, then a long stretch of exact silence at the end.
    const auto out = bob.tape->output();
    EXPECT_NE(std::find(out.begin(), out.end(), int16_t{5000}), out.end());
    size_t trailingZeros = 0;
    for (auto it = out.rbegin(); it != out.rend() && *it == 0; ++it) {
        ++trailingZeros;
    }
    EXPECT_GE(trailingZeros, size_t{48000} * 30 / 100) << "at least 0.3 s of silence after mute";
}

TEST(AnAudioPipeline, DropsAndCountsBadPacketsSilently) {
    auto pair = LoopbackTransport::makePair();
    ASSERT_TRUE(pair.ok());
    const auto bobConfig = configFor(MediaDirection::CalleeToCaller, CodecId::Pcm, 10ms);
    Side bob = makeSide(bobConfig, *pair->b, {}, 0);
    ASSERT_TRUE(bob.pipeline);
    ASSERT_TRUE(bob.pipeline->start().ok());

    // The test thread plays alice's transmitter: the only sender on pair->a.
    auto sealer = sealerFor(MediaDirection::CallerToCallee);
    auto wrongKeys = makeMediaSealer(kDefaultCipherSuite, MediaDirection::CallerToCallee,
                                     keysFor(MediaDirection::CalleeToCaller));
    ASSERT_TRUE(wrongKeys.ok());
    std::vector<uint8_t> payload(480 * 2, 0x10), packet(MediaHeader::kMaxDatagram);
    MediaHeader header;
    header.codec = static_cast<uint8_t>(CodecId::Pcm);
    uint64_t good = 0, bad = 0;
    for (int i = 0; i < 20; ++i) {
        header.timestampUs = 1000 + static_cast<uint64_t>(i) * 10000;
        auto n = sealer->seal(header, payload, packet);
        ASSERT_TRUE(n.ok());
        ASSERT_TRUE(pair->a->send(std::span(packet.data(), *n)));
        ++good;
        // A replay of the same packet, a flipped bit, garbage, a wrong key.
        ASSERT_TRUE(pair->a->send(std::span(packet.data(), *n)));
        packet[*n - 1] ^= 1;
        ASSERT_TRUE(pair->a->send(std::span(packet.data(), *n)));
        ASSERT_TRUE(pair->a->send(std::vector<uint8_t>(100, 0xee)));
        auto w = (*wrongKeys)->seal(header, payload, packet);
        ASSERT_TRUE(w.ok());
        ASSERT_TRUE(pair->a->send(std::span(packet.data(), *w)));
        bad += 4;
    }
    EXPECT_TRUE(waitUntil([&] {
        const auto s = bob.pipeline->stats();
        return s.packetsReceived + s.packetsDropped >= good + bad;
    }));
    bob.pipeline->stop();
    const auto s = bob.pipeline->stats();
    EXPECT_EQ(s.packetsReceived, good);
    EXPECT_EQ(s.packetsDropped, bad);
    EXPECT_GT(s.framesPlayed, 0u) << "the player ran throughout";
}

TEST(AnAudioPipeline, KeepsPlayingThroughJitterAndReordering) {
    // Up to 30 ms of extra delay per packet: 10 ms packets overtake each other.
    auto pair = LoopbackTransport::makePair({.delay = 2ms, .jitter = 30ms, .seed = 99});
    ASSERT_TRUE(pair.ok());
    const auto aliceConfig = configFor(MediaDirection::CallerToCallee, CodecId::Pcm, 10ms);
    const auto bobConfig = configFor(MediaDirection::CalleeToCaller, CodecId::Pcm, 10ms);
    Side alice = makeSide(aliceConfig, *pair->a, chirp(48000, 5.0), 0);
    Side bob = makeSide(bobConfig, *pair->b, {}, 0);
    ASSERT_TRUE(alice.pipeline && bob.pipeline);
    ASSERT_TRUE(bob.pipeline->start().ok());
    ASSERT_TRUE(alice.pipeline->start().ok());
    EXPECT_TRUE(waitUntil([&] { return bob.pipeline->stats().jitter.framesDecoded >= 150; }));
    const uint64_t played = bob.pipeline->stats().framesPlayed;
    EXPECT_TRUE(waitUntil([&] { return bob.pipeline->stats().framesPlayed >= played + 50; }));
    alice.pipeline->stop();
    bob.pipeline->stop();

    const auto jb = bob.pipeline->stats().jitter;
    // The buffer grew its delay over the jitter, so most frames played from
    // their own packet although they arrived out of order.
    EXPECT_GT(jb.targetDelay, 20ms);
    EXPECT_GT(jb.framesDecoded, 4 * jb.packetsLost) << "lost " << jb.packetsLost;
    EXPECT_EQ(bob.pipeline->stats().packetsDropped, 0u);
}

TEST(AnAudioPipeline, RunsWithoutItsDevicesAndStopsCleanly) {
    // Real alsa-lib, a device name that does not exist: with AllowMissing the
    // pipeline runs on paced silence while the devices are retried.
    const size_t before = threadCount();
    {
        auto pair = LoopbackTransport::makePair();
        ASSERT_TRUE(pair.ok());
        auto config = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
        config.capture.device = "voice_no_such_device";
        config.playback.device = "voice_no_such_device";
        config.openMode = AudioDevice::OpenMode::AllowMissing;
        auto p = AudioPipeline::make(config, *pair->a, sealerFor(config.sendDirection),
                                     openerFor(other(config.sendDirection)));
        ASSERT_TRUE(p.ok()) << p.status().toString();
        ASSERT_TRUE((*p)->start().ok());
        // Silence is captured, encoded and sent; the player keeps its rhythm.
        EXPECT_TRUE(waitUntil([&] { return (*p)->stats().packetsSent >= 10; }));
        EXPECT_TRUE(waitUntil([&] { return (*p)->stats().framesPlayed >= 10; }));
        const auto s = (*p)->stats();
        EXPECT_FALSE(s.capture.connected);
        EXPECT_GT(s.capture.framesWhileLost, 0u);
        (*p)->stop();
    }
    EXPECT_EQ(threadCount(), before);
}

TEST(AnAudioPipeline, AlignsPlayoutWithArrivalsSoFramesWaitOnlyForTheJitterMargin) {
    // 20 ms frames: without alignment a frame waited for the player's next
    // pull, anywhere up to a frame (and up to a frame and a quarter above the
    // target before the jitter buffer shrank). With it, the stream follows
    // arrivals to within kAlignAbove (1 ms) of the target.
    auto pair = LoopbackTransport::makePair();
    ASSERT_TRUE(pair.ok());
    const auto aliceConfig = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
    const auto bobConfig = configFor(MediaDirection::CalleeToCaller, CodecId::Opus, 20ms);
    Side alice = makeSide(aliceConfig, *pair->a, chirp(48000, 5.0), 0);
    Side bob = makeSide(bobConfig, *pair->b, {}, 0);
    ASSERT_TRUE(alice.pipeline && bob.pipeline);
    ASSERT_TRUE(bob.pipeline->start().ok());
    ASSERT_TRUE(alice.pipeline->start().ok());
    ASSERT_TRUE(waitUntil([&] { return bob.pipeline->stats().jitter.framesDecoded >= 50; }));
    // Load spikes on the machine raise the target and stretch the delay by a
    // frame at a time; each time the alignment trims it back within a few
    // frames, so poll for a frame that plays close to its target.
    std::chrono::nanoseconds slack{0};
    EXPECT_TRUE(waitUntil([&] {
        const auto jb = bob.pipeline->stats().jitter;
        slack = jb.currentDelay - jb.targetDelay;
        return slack >= -10ms && slack <= 2ms;
    })) << "last slack "
        << slack.count() << " ns";
    alice.pipeline->stop();
    bob.pipeline->stop();
    const auto b = bob.pipeline->stats();
    std::printf("bob: latency p50 %.2f ms p99 %.2f ms, jitter target %.2f ms, %llu samples "
                "trimmed\n",
                static_cast<double>(b.latency.p50.count()) / 1e6,
                static_cast<double>(b.latency.p99.count()) / 1e6,
                static_cast<double>(b.jitter.targetDelay.count()) / 1e6,
                static_cast<unsigned long long>(b.alignSamplesDropped));
    EXPECT_GT(b.latency.count, 0u);
}

namespace {

struct LossyRun {
    bool fecTurnedOn = false;
    int expectedLoss = 0;
    double peerLoss = 0; // what alice heard from bob
    uint64_t frames = 0; // frames bob played from packets or FEC, or concealed for loss
    uint64_t concealed = 0;
    uint64_t recovered = 0;
    uint64_t feedbackSent = 0;
};

// Alice sends 20 ms Opus to bob over a link that loses 10 % (seeded); bob's
// reports go back loss-free. Counts bob's frames over 300 frames (6 s) once
// alice's encoder has settled on the reports.
LossyRun runLossy(FecMode mode) {
    LossyRun run;
    auto pair = LoopbackTransport::makePair({.lossRate = 0.10, .seed = 77}, {});
    EXPECT_TRUE(pair.ok());
    if (!pair.ok()) {
        return run;
    }
    auto aliceConfig = configFor(MediaDirection::CallerToCallee, CodecId::Opus, 20ms);
    auto bobConfig = configFor(MediaDirection::CalleeToCaller, CodecId::Opus, 20ms);
    aliceConfig.fecMode = mode;
    bobConfig.fecMode = mode;
    Side alice = makeSide(aliceConfig, *pair->a, chirp(48000, 60.0), 0);
    Side bob = makeSide(bobConfig, *pair->b, chirp(48000, 60.0, 8000), 0);
    if (!alice.pipeline || !bob.pipeline) {
        return run;
    }
    EXPECT_TRUE(bob.pipeline->start().ok());
    EXPECT_TRUE(alice.pipeline->start().ok());
    // Two reports (1 s) reach alice before counting starts.
    EXPECT_TRUE(waitUntil([&] { return alice.pipeline->stats().feedbackReceived >= 2; }));
    run.fecTurnedOn = alice.pipeline->stats().fecActive;
    const auto before = bob.pipeline->stats().jitter;
    const auto lossFrames = [](const JitterBufferStats& s) {
        return s.framesConcealed - s.framesInserted;
    };
    EXPECT_TRUE(waitUntil([&] {
        const auto s = bob.pipeline->stats().jitter;
        return s.framesDecoded + s.framesFecRecovered + lossFrames(s) >=
               before.framesDecoded + before.framesFecRecovered + lossFrames(before) + 300;
    }));
    const auto a = alice.pipeline->stats();
    const auto after = bob.pipeline->stats().jitter;
    alice.pipeline->stop();
    bob.pipeline->stop();
    run.expectedLoss = a.fecExpectedLossPercent;
    run.peerLoss = a.peerLossPercent;
    run.feedbackSent = bob.pipeline->stats().feedbackSent;
    run.recovered = after.framesFecRecovered - before.framesFecRecovered;
    run.concealed = lossFrames(after) - lossFrames(before);
    run.frames = after.framesDecoded - before.framesDecoded + run.recovered + run.concealed;
    std::printf("fec %s: alice heard %.1f %% loss, fec %s (expects %d %%); bob over %llu frames: "
                "%llu concealed (%.1f %%), %llu FEC-recovered (%.1f %%)\n",
                mode == FecMode::Auto ? "auto" : "off", run.peerLoss, a.fecActive ? "on" : "off",
                run.expectedLoss, static_cast<unsigned long long>(run.frames),
                static_cast<unsigned long long>(run.concealed),
                100.0 * static_cast<double>(run.concealed) / static_cast<double>(run.frames),
                static_cast<unsigned long long>(run.recovered),
                100.0 * static_cast<double>(run.recovered) / static_cast<double>(run.frames));
    return run;
}

} // namespace

TEST(AnAudioPipeline, TurnsOnFecFromThePeersLossReportsAndConcealsFewerFrames) {
    const LossyRun fec = runLossy(FecMode::Auto);
    const LossyRun off = runLossy(FecMode::Off);
    // Bob's reports reached alice and told her about the 10 % loss.
    EXPECT_GT(fec.feedbackSent, 0u);
    EXPECT_GT(fec.peerLoss, 3.0);
    EXPECT_LT(fec.peerLoss, 30.0);
    // Auto: alice's encoder runs with FEC planned for at least the loss seen.
    EXPECT_TRUE(fec.fecTurnedOn);
    EXPECT_GE(fec.expectedLoss, 5);
    EXPECT_GT(fec.recovered, 0u);
    // Off: the reports arrive but change nothing.
    EXPECT_GT(off.peerLoss, 3.0);
    EXPECT_FALSE(off.fecTurnedOn);
    EXPECT_EQ(off.recovered, 0u);
    // The point of it: fewer frames concealed for the same loss.
    ASSERT_GT(fec.frames, 0u);
    ASSERT_GT(off.frames, 0u);
    EXPECT_LT(static_cast<double>(fec.concealed) / static_cast<double>(fec.frames),
              static_cast<double>(off.concealed) / static_cast<double>(off.frames));
}
