// SPDX-License-Identifier: MIT
// Two AudioPipelines on real alsa-lib devices paced by a private PulseAudio
// (tests/tools/with-pulse.sh), in real time for 10 s: alice captures a test
// signal from a `file` PCM's infile over "pulse:silence", sends it through
// the in-process transport, and bob plays it into a `file` PCM over
// "pulse:b_spk". Bob's played-out file must hold alice's signal (PCM: sample
// for sample; Opus: correlation >= 0.9) and no device may see an xrun.
#include "audio/alsa_pcm.h"
#include "pipeline/audio_pipeline.h"
#include "pipeline/loopback_transport.h"
#include "pipeline_test_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>

using namespace std::chrono_literals;
using namespace voice;
using namespace voice::testing;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kRate = 48000;
constexpr double kLeadIn = 4.5; // s of silence before the signal: start-up settles on it
constexpr double kSignal = 5.0; // s of chirp
constexpr auto kRun = 10s;

void writeRaw(const fs::path& path, const std::vector<int16_t>& samples) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(samples.data()),
            static_cast<std::streamsize>(samples.size() * sizeof(int16_t)));
}

std::vector<int16_t> readRaw(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<int16_t> samples(bytes.size() / sizeof(int16_t));
    std::memcpy(samples.data(), bytes.data(), samples.size() * sizeof(int16_t));
    return samples;
}

double correlation(const int16_t* ref, size_t n, const std::vector<int16_t>& out, size_t offset) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < n && offset + i < out.size(); ++i) {
        const double x = ref[i], y = out[offset + i];
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    return xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0.0;
}

bool pulsePluginInstalled() {
    for (const char* dir :
         {"/usr/lib/x86_64-linux-gnu/alsa-lib", "/usr/lib/aarch64-linux-gnu/alsa-lib",
          "/usr/lib/i386-linux-gnu/alsa-lib", "/usr/lib64/alsa-lib", "/usr/lib/alsa-lib"}) {
        if (fs::exists(fs::path(dir) / "libasound_module_pcm_pulse.so")) {
            return true;
        }
    }
    return false;
}

struct Case {
    const char* name;
    CodecId codec;
    std::chrono::microseconds frame;
};

class PipelinesOnPulseAudio : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        if (const char* why = std::getenv("VOICE_PULSE_UNAVAILABLE")) {
            GTEST_SKIP() << "PulseAudio is not available: " << why;
        }
        if (!pulsePluginInstalled()) {
            GTEST_SKIP() << "ALSA's pulse plugin is not installed (libasound2-plugins)";
        }
        ASSERT_NE(std::getenv("PULSE_SERVER"), nullptr)
            << "run this test under tests/tools/with-pulse.sh";
        char pattern[] = "/tmp/voice-pipeline-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        if (!dir_.empty()) {
            fs::remove_all(dir_);
        }
    }

    AudioPipelineConfig configFor(MediaDirection send, const char* in, const char* out) const {
        AudioPipelineConfig c;
        c.capture.device = in;
        c.playback.device = out;
        // 40 ms of playback buffer: the pulse plugin moves data to the server
        // from an ordinary thread, which a loaded machine delays now and then.
        c.playback.periods = 8;
        c.codec.codec = GetParam().codec;
        c.codec.frameDuration = GetParam().frame;
        // Enough bits for Opus to keep the waveform (CELT), so correlation measures it.
        c.codec.bitrate = 64000;
        c.sendDirection = send;
        // The PCM check below wants alice's samples bit for bit: no splices.
        c.alignPlayout = false;
        // A fixed playout delay (max delay = one frame + margin): the jitter
        // of PulseAudio's timers stays inside the margin, and the delay does
        // not move during the run, so no frame is stretched or skipped.
        c.jitter.margin = 15ms;
        c.jitter.maxDelay =
            std::chrono::duration_cast<std::chrono::nanoseconds>(c.codec.frameDuration) +
            c.jitter.margin;
        return c;
    }

    fs::path dir_;
};

TEST_P(PipelinesOnPulseAudio, BobPlaysAliceSignalWithoutXruns) {
    std::vector<int16_t> input(static_cast<size_t>(kRate * kLeadIn), 0);
    const auto signal = chirp(kRate, kSignal);
    input.insert(input.end(), signal.begin(), signal.end());
    writeRaw(dir_ / "alice_in.raw", input);
    const std::string alsa =
        "pcm.alice_in { type file slave.pcm \"pulse:silence\" file \"/dev/null\" infile \"" +
        (dir_ / "alice_in.raw").string() +
        "\" format \"raw\" }\n"
        "pcm.alice_out { type file slave.pcm \"pulse:a_spk\" file \"/dev/null\" format \"raw\" }\n"
        "pcm.bob_in { type file slave.pcm \"pulse:silence\" file \"/dev/null\" format \"raw\" }\n"
        "pcm.bob_out { type file slave.pcm \"pulse:b_spk\" file \"" +
        (dir_ / "bob_out.raw").string() + "\" format \"raw\" }\n";

    auto pair = LoopbackTransport::makePair();
    ASSERT_TRUE(pair.ok());
    const auto aliceConfig = configFor(MediaDirection::CallerToCallee, "alice_in", "alice_out");
    const auto bobConfig = configFor(MediaDirection::CalleeToCaller, "bob_in", "bob_out");
    auto alice = AudioPipeline::make(aliceConfig, *pair->a, sealerFor(aliceConfig.sendDirection),
                                     openerFor(bobConfig.sendDirection),
                                     std::make_unique<AlsaPcmOpener>(alsa),
                                     std::make_unique<AlsaPcmOpener>(alsa));
    auto bob = AudioPipeline::make(bobConfig, *pair->b, sealerFor(bobConfig.sendDirection),
                                   openerFor(aliceConfig.sendDirection),
                                   std::make_unique<AlsaPcmOpener>(alsa),
                                   std::make_unique<AlsaPcmOpener>(alsa));
    ASSERT_TRUE(alice.ok()) << alice.status().toString();
    ASSERT_TRUE(bob.ok()) << bob.status().toString();
    ASSERT_TRUE((*bob)->start().ok());
    ASSERT_TRUE((*alice)->start().ok());
    std::this_thread::sleep_for(kRun); // real time is the point of this test
    (*alice)->stop();
    (*bob)->stop(); // closes bob_out: the file plugin flushes

    const auto a = (*alice)->stats();
    const auto b = (*bob)->stats();
    const auto& jb = b.jitter;
    std::printf("[ PIPELINE ] %s: xruns alice %llu/%llu bob %llu/%llu; bob jitter buffer: decoded "
                "%llu concealed %llu inserted %llu discarded %llu lost %llu, delay %.2f ms "
                "(target %.2f); latency p50 %.2f p99 %.2f max %.2f ms; priority %d/%d\n",
                GetParam().name, static_cast<unsigned long long>(a.capture.xruns),
                static_cast<unsigned long long>(a.playback.xruns),
                static_cast<unsigned long long>(b.capture.xruns),
                static_cast<unsigned long long>(b.playback.xruns),
                static_cast<unsigned long long>(jb.framesDecoded),
                static_cast<unsigned long long>(jb.framesConcealed),
                static_cast<unsigned long long>(jb.framesInserted),
                static_cast<unsigned long long>(jb.packetsDiscarded),
                static_cast<unsigned long long>(jb.packetsLost), jb.currentDelay.count() / 1e6,
                jb.targetDelay.count() / 1e6, b.latency.p50.count() / 1e6,
                b.latency.p99.count() / 1e6, b.latency.max.count() / 1e6, b.playerPriority,
                b.recorderPriority);
    for (const auto* dev : {&a.capture, &a.playback, &b.capture, &b.playback}) {
        EXPECT_EQ(dev->xruns, 0u);
        EXPECT_EQ(dev->losses, 0u);
    }
    EXPECT_EQ(b.packetsDropped, 0u);
    EXPECT_GT(b.latency.count, 0u);

    const auto out = readRaw(dir_ / "bob_out.raw");
    ASSERT_GE(out.size(), input.size() / 2) << "bob played in real time";
    // Where alice's signal begins in bob's output: search around the lead-in.
    const size_t probe = kRate / 2; // the first half second of the chirp
    const size_t from = static_cast<size_t>(kRate * (kLeadIn - 0.5));
    const size_t to = std::min(out.size() - probe, static_cast<size_t>(kRate * (kLeadIn + 1.0)));
    ASSERT_LT(from, to);
    size_t offset = from;
    double best = -1;
    for (size_t o = from; o < to; ++o) {
        const double c = correlation(signal.data(), kRate / 50, out, o); // 20 ms first
        if (c > 0.8) {
            const double full = correlation(signal.data(), probe, out, o);
            if (full > best) {
                best = full;
                offset = o;
            }
        }
    }
    ASSERT_GT(best, 0.5) << "the chirp's beginning was not found in bob's output";
    // Refine on the whole signal: a codec's group delay differs a little
    // across frequencies, and at 4 kHz a few samples off is a large phase error.
    {
        const size_t centre = offset;
        double bestWhole = -1;
        for (size_t o = centre > 50 ? centre - 50 : 0; o <= centre + 50; ++o) {
            const double c = correlation(signal.data(), signal.size(), out, o);
            if (c > bestWhole) {
                bestWhole = c;
                offset = o;
            }
        }
    }
    ASSERT_LE(offset + signal.size(), out.size()) << "bob's output ends inside the signal";
    const double whole = correlation(signal.data(), signal.size(), out, offset);
    size_t equal = 0;
    for (size_t i = 0; i < signal.size(); ++i) {
        equal += out[offset + i] == signal[i];
    }
    std::printf("[ PIPELINE ] %s: signal at offset %zu (%.1f ms after alice's), correlation "
                "%.4f, %zu of %zu samples equal\n",
                GetParam().name, offset,
                (static_cast<double>(offset) - kRate * kLeadIn) * 1000.0 / kRate, whole, equal,
                signal.size());
    if (GetParam().codec == CodecId::Pcm) {
        // PCM is lossless: every frame bob played from a packet is alice's, bit
        // for bit. A packet late on a loaded machine is concealed, and a frame
        // inserted or dropped to move the delay shifts all that follows by a
        // whole frame; the jitter buffer counts each. So compare frame by frame,
        // finding the place again after such a shift, and allow only the frames
        // those counted events touch (two signal frames each, as packet and
        // signal frame boundaries need not coincide).
        const auto frame = static_cast<size_t>(kRate * GetParam().frame.count() / 1000000);
        const auto matchesAt = [&](size_t f, long shift) {
            const long pos = static_cast<long>(offset + f * frame) + shift;
            if (pos < 0 || static_cast<size_t>(pos) + frame > out.size()) {
                return false;
            }
            return std::equal(signal.begin() + static_cast<long>(f * frame),
                              signal.begin() + static_cast<long>((f + 1) * frame),
                              out.begin() + pos);
        };
        const size_t frames = signal.size() / frame;
        size_t matched = 0;
        long shift = 0;
        for (size_t f = 0; f < frames; ++f) {
            if (matchesAt(f, shift)) {
                ++matched;
                continue;
            }
            for (long d : {1L, -1L, 2L, -2L, 3L, -3L}) {
                if (matchesAt(f, shift + d * static_cast<long>(frame))) {
                    shift += d * static_cast<long>(frame);
                    ++matched;
                    break;
                }
            }
        }
        const uint64_t events = jb.framesConcealed + jb.framesInserted + jb.packetsDiscarded;
        std::printf("[ PIPELINE ] %s: %zu of %zu frames bit-exact, %llu jitter-buffer events\n",
                    GetParam().name, matched, frames, static_cast<unsigned long long>(events));
        EXPECT_LE(frames - matched, 2 * events)
            << "PCM is lossless: every played frame not concealed is alice's";
        EXPECT_GT(matched, frames * 9 / 10);
    } else {
        EXPECT_GE(whole, 0.9);
    }
}

INSTANTIATE_TEST_SUITE_P(Codecs, PipelinesOnPulseAudio,
                         ::testing::Values(Case{"pcm-5ms", CodecId::Pcm, 5000us},
                                           Case{"opus-20ms", CodecId::Opus, 20000us}),
                         [](const auto& param) {
                             std::string n = param.param.name;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

} // namespace
