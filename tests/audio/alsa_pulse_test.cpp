// SPDX-License-Identifier: MIT
// Capture and playback through real alsa-lib, paced in real time by a
// private PulseAudio (tests/tools/with-pulse.sh): a chirp captured from a
// `file` PCM over "pulse:silence" is played through a `file` PCM over
// "pulse:a_spk" by a recorder and a player thread, and the tapped output
// must be the input, sample for sample, with no xruns. And a capture device
// whose PulseAudio server goes away delivers silence, retries, and reads
// audio again once the server is back.
#include "audio/alsa_pcm.h"
#include "audio/capture_device.h"
#include "audio/playback_device.h"
#include "audio/realtime.h"
#include "core/audio_ring.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <numbers>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace voice;
namespace fs = std::filesystem;

namespace {

// A linear chirp, 200 Hz to 4 kHz: its autocorrelation has one sharp peak,
// so the alignment of output to input is unambiguous (a pure tone's is not).
std::vector<int16_t> chirp(uint32_t rate, double seconds) {
    const size_t n = static_cast<size_t>(rate * seconds);
    std::vector<int16_t> v(n);
    const double f0 = 200, f1 = 4000;
    for (size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / rate;
        const double phase = 2 * std::numbers::pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds));
        v[i] = static_cast<int16_t>(std::lround(12000 * std::sin(phase)));
    }
    return v;
}

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

// Normalised cross-correlation of `ref` against `out` starting at `offset`.
double correlation(const std::vector<int16_t>& ref, const std::vector<int16_t>& out,
                   size_t offset) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < ref.size() && offset + i < out.size(); ++i) {
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

class PacedAlsaDevices : public ::testing::TestWithParam<uint32_t> {
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
        char pattern[] = "/tmp/voice-paced-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        if (!dir_.empty()) {
            fs::remove_all(dir_);
        }
    }

    fs::path dir_;
};

TEST_P(PacedAlsaDevices, PlayTheCapturedSignalSampleForSampleWithoutXruns) {
    const uint32_t rate = GetParam();
    auto format = AudioFormat::make(rate, 1);
    ASSERT_TRUE(format.ok());
    const auto signal = chirp(rate, 2.5);
    writeRaw(dir_ / "in.raw", signal);
    const std::string alsaConfig =
        "pcm.voice_in { type file slave.pcm \"pulse:silence\" file \"/dev/null\" infile \"" +
        (dir_ / "in.raw").string() +
        "\" format \"raw\" }\n"
        "pcm.voice_out { type file slave.pcm \"pulse:a_spk\" file \"" +
        (dir_ / "out.raw").string() + "\" format \"raw\" }\n";

    PcmConfig inConfig;
    inConfig.device = "voice_in";
    inConfig.format = *format;
    PcmConfig outConfig = inConfig;
    outConfig.device = "voice_out";
    CaptureDevice capture(inConfig, {}, std::make_unique<AlsaPcmOpener>(alsaConfig));
    PlaybackDevice playback(outConfig, {}, std::make_unique<AlsaPcmOpener>(alsaConfig));
    ASSERT_TRUE(capture.open().ok());
    ASSERT_TRUE(playback.open().ok());
    const size_t period = capture.params().periodFrames;
    ASSERT_EQ(playback.params().periodFrames, period);

    // The pipeline's shape in miniature: recorder -> ring -> player. The
    // player starts once 40 ms are queued, as a jitter buffer would, so the
    // two devices' scheduling jitter never starves it.
    AudioRing ring(rate / 2, 1);
    const size_t total = static_cast<size_t>(rate) * 3; // ~3 s in real time
    const size_t prefill = rate / 25;
    std::atomic<bool> recorderDone{false};
    std::atomic<long> maxCaptureDelay{0}, maxPlaybackDelay{0};
    std::atomic<uint64_t> captureLive{0}, underflowsAfterStart{0};
    // Sums of delay samples, for the mean (only their own thread writes them).
    double captureDelaySum = 0, playbackDelaySum = 0;
    uint64_t captureDelayCount = 0, playbackDelayCount = 0;

    std::thread recorder([&] {
        (void)makeThreadRealtime(20);
        std::vector<int16_t> buf(period);
        for (size_t done = 0; done < total; done += period) {
            captureLive += capture.read(buf);
            ring.write(buf);
            maxCaptureDelay = std::max(maxCaptureDelay.load(), capture.delayFrames());
            captureDelaySum += static_cast<double>(capture.delayFrames());
            ++captureDelayCount;
        }
        recorderDone = true;
    });
    std::thread player([&] {
        (void)makeThreadRealtime(20);
        while (ring.availableToRead() < prefill && !recorderDone) {
            std::this_thread::sleep_for(1ms);
        }
        const uint64_t underflowsBefore = ring.stats().underflowFrames;
        std::vector<int16_t> buf(period);
        while (!recorderDone || ring.availableToRead() >= period) {
            ring.read(buf);
            playback.write(buf);
            maxPlaybackDelay = std::max(maxPlaybackDelay.load(), playback.delayFrames());
            playbackDelaySum += static_cast<double>(playback.delayFrames());
            ++playbackDelayCount;
        }
        underflowsAfterStart = ring.stats().underflowFrames - underflowsBefore;
    });
    recorder.join();
    player.join();
    const auto cs = capture.stats();
    const auto ps = playback.stats();
    capture.close();
    playback.close();

    EXPECT_EQ(cs.xruns, 0u);
    EXPECT_EQ(ps.xruns, 0u);
    EXPECT_EQ(cs.losses, 0u);
    EXPECT_EQ(ps.losses, 0u);
    EXPECT_EQ(captureLive.load(), (total + period - 1) / period * period);
    EXPECT_GT(maxCaptureDelay.load(), 0);
    EXPECT_GT(maxPlaybackDelay.load(), 0);

    const auto out = readRaw(dir_ / "out.raw");
    ASSERT_GE(out.size(), signal.size());
    // Find where the signal starts in the output (any leading silence).
    size_t offset = 0;
    double best = -1;
    for (size_t o = 0; o + signal.size() <= out.size() && o <= rate; ++o) {
        // Cheap check on the first 20 ms first; full correlation on candidates.
        double c =
            correlation(std::vector<int16_t>(signal.begin(), signal.begin() + rate / 50), out, o);
        if (c > 0.9) {
            c = correlation(signal, out, o);
        }
        if (c > best) {
            best = c;
            offset = o;
        }
    }
    size_t equal = 0;
    for (size_t i = 0; i < signal.size(); ++i) {
        equal += out[offset + i] == signal[i];
    }
    std::printf("[ PACED    ] %u Hz: %zu samples compared, offset %zu, correlation %.6f, "
                "%zu equal; xruns capture %llu playback %llu; ring underflow frames after "
                "start %llu; delay (snd_pcm_delay) mean/max capture %.2f/%.2f ms, playback "
                "%.2f/%.2f ms\n",
                rate, signal.size(), offset, best, equal, static_cast<unsigned long long>(cs.xruns),
                static_cast<unsigned long long>(ps.xruns),
                static_cast<unsigned long long>(underflowsAfterStart.load()),
                captureDelaySum / std::max<uint64_t>(1, captureDelayCount) * 1000.0 / rate,
                maxCaptureDelay.load() * 1000.0 / rate,
                playbackDelaySum / std::max<uint64_t>(1, playbackDelayCount) * 1000.0 / rate,
                maxPlaybackDelay.load() * 1000.0 / rate);
    EXPECT_GE(best, 0.99);
    EXPECT_EQ(equal, signal.size()) << "the played samples are the captured ones, exactly";
    RecordProperty("offset", static_cast<int>(offset));
}

// A PulseAudio server of the test's own, which the test can stop and start
// again: the "device" behind ALSA's pulse plugin disappears and comes back.
class OwnPulseServer {
public:
    explicit OwnPulseServer(fs::path dir) : dir_(std::move(dir)) {
        std::ofstream pa(dir_ / "default.pa");
        pa << "load-module module-native-protocol-unix auth-anonymous=1 socket=" << socket()
           << "\nload-module module-null-source source_name=voice_src rate=48000 channels=1 "
              "max_latency_msec=20\n";
    }
    ~OwnPulseServer() { stop(); }

    std::string socket() const { return (dir_ / "native").string(); }

    /// Starts the server and waits (up to 10 s) until it answers. It exits by
    /// itself 10 s after its last client, should this test die without stop().
    bool start() {
        const std::string config = (dir_ / "default.pa").string();
        const std::string log = "--log-target=file:" + (dir_ / "pa.log").string();
        const char* argv[] = {"pulseaudio",
                              "-n",
                              "-F",
                              config.c_str(),
                              "--daemonize=no",
                              "--exit-idle-time=10",
                              "--use-pid-file=no",
                              log.c_str(),
                              nullptr};
        if (posix_spawnp(&pid_, "pulseaudio", nullptr, nullptr, const_cast<char**>(argv),
                         environ) != 0) {
            pid_ = -1;
            return false;
        }
        const std::string probe = "pactl -s unix:" + socket() + " info >/dev/null 2>&1";
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (std::system(probe.c_str()) == 0) {
                return true;
            }
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }
    void stop() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

private:
    fs::path dir_;
    pid_t pid_ = -1;
};

// Polls `done` until it holds or a generous deadline passes.
template <typename Pred>
bool waitUntil(Pred done, std::chrono::seconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

class ACaptureDeviceOnPulseAudio : public PacedAlsaDevices {
protected:
    /// Reads as the recorder does: `read` takes what one call delivers into
    /// the buffer and returns the live frames among them.
    template <typename Read>
    void deliversSilenceWhileTheServerIsGoneAndReopensWhenItReturns(Read read);
};

TEST_F(ACaptureDeviceOnPulseAudio, DeliversSilenceWhileTheServerIsGoneAndReopensWhenItReturns) {
    deliversSilenceWhileTheServerIsGoneAndReopensWhenItReturns(
        [](CaptureDevice& capture, std::vector<int16_t>& buf) {
            buf.resize(capture.params().periodFrames);
            return capture.read(buf);
        });
}

// The recorder's way: a 20 ms frame at a time, sleeping through most of it
// and taking everything the server has ready. libpulse has deadlocked here
// when the server went away while the plugin held a block read in part.
TEST_F(ACaptureDeviceOnPulseAudio, ReadingWholeFramesSurvivesTheServerGoingAwayAndComingBack) {
    deliversSilenceWhileTheServerIsGoneAndReopensWhenItReturns(
        [](CaptureDevice& capture, std::vector<int16_t>& buf) {
            constexpr size_t kFrame = 960;
            buf.resize(kFrame + capture.params().bufferFrames);
            const size_t got = capture.readAtLeast(buf, kFrame);
            EXPECT_GE(got, kFrame);
            // Live frames: all but a lost device's silence (see read()).
            return capture.connected() ? got : size_t{0};
        });
}

template <typename Read>
void ACaptureDeviceOnPulseAudio::deliversSilenceWhileTheServerIsGoneAndReopensWhenItReturns(
    Read read) {
    OwnPulseServer server(dir_);
    ASSERT_TRUE(server.start()) << "see " << (dir_ / "pa.log");
    const std::string alsaConfig =
        "pcm.voice_srv_in { type pulse server \"unix:" + server.socket() +
        "\" device \"voice_src\" }\n";
    PcmConfig config;
    config.device = "voice_srv_in";
    AudioDeviceOptions options;
    options.reopenInitial = 20ms;
    options.reopenMax = 200ms;
    options.stallTimeout = 200ms;
    CaptureDevice capture(config, options, std::make_unique<AlsaPcmOpener>(alsaConfig));
    ASSERT_TRUE(capture.open().ok());

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> liveFrames{0}, silentPeriods{0};
    std::thread recorder([&] {
        std::vector<int16_t> buf;
        while (!stop) {
            const size_t live = read(capture, buf);
            liveFrames += live;
            if (live == 0) {
                ++silentPeriods;
            }
        }
    });

    EXPECT_TRUE(waitUntil([&] { return liveFrames >= 48000 / 4; })) << "audio flows";
    server.stop();
    EXPECT_TRUE(waitUntil([&] {
        return capture.stats().losses >= 1 && capture.stats().reopenFailures >= 2 &&
               silentPeriods >= 10;
    })) << "the lost device is retried while silence is delivered";
    EXPECT_FALSE(capture.connected());
    const uint64_t liveBefore = liveFrames;
    ASSERT_TRUE(server.start());
    EXPECT_TRUE(waitUntil([&] {
        return capture.stats().reopens >= 1 && liveFrames >= liveBefore + 48000 / 4;
    })) << "audio flows again from the reopened device";
    stop = true;
    recorder.join();
    const auto s = capture.stats();
    std::printf("[ REOPEN   ] losses %llu, failed reopen attempts %llu, reopens %llu, "
                "%llu silent frames while lost, xruns %llu\n",
                static_cast<unsigned long long>(s.losses),
                static_cast<unsigned long long>(s.reopenFailures),
                static_cast<unsigned long long>(s.reopens),
                static_cast<unsigned long long>(s.framesWhileLost),
                static_cast<unsigned long long>(s.xruns));
    EXPECT_TRUE(s.connected);
    EXPECT_GT(s.framesWhileLost, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rates, PacedAlsaDevices, ::testing::Values(48000u, 44100u),
                         [](const auto& p) { return std::to_string(p.param); });

} // namespace
