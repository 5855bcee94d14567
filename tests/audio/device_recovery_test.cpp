// SPDX-License-Identifier: MIT
// Capture and playback recovery against a fake PCM: xruns and suspends are
// recovered in place and counted; a vanished device is reopened with
// back-off while capture delivers silence and playback discards.
#include "audio/backoff.h"
#include "audio/capture_device.h"
#include "audio/playback_device.h"
#include "core/deferred_log.h"
#include "fake_pcm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using namespace voice;
using voice::testing::FakeBackend;
using voice::testing::FakePcmOpener;

namespace {

constexpr uint32_t kPeriod = 48; // 1 ms at 48 kHz keeps the paced tests short
constexpr uint32_t kBuffer = 4 * kPeriod;

AudioDeviceOptions fastOptions() {
    AudioDeviceOptions o;
    o.reopenInitial = 1ms;
    o.reopenMax = 8ms;
    o.stallTimeout = 10ms;
    o.resumeTimeout = 1s; // generous: the fake answers at once
    return o;
}

bool allZero(const std::vector<int16_t>& v) {
    return std::all_of(v.begin(), v.end(), [](int16_t s) { return s == 0; });
}
bool noneZero(const std::vector<int16_t>& v) {
    return std::none_of(v.begin(), v.end(), [](int16_t s) { return s == 0; });
}

class DeviceTest : public ::testing::Test {
protected:
    DeviceTest()
        : backend_(std::make_shared<FakeBackend>(PcmParams{AudioFormat(), kPeriod, kBuffer})) {
        config_.device = "fake";
        config_.periodFrames = kPeriod;
    }

    std::unique_ptr<CaptureDevice> openCapture(AudioDeviceOptions options = fastOptions()) {
        auto dev = std::make_unique<CaptureDevice>(config_, options,
                                                   std::make_unique<FakePcmOpener>(backend_));
        EXPECT_TRUE(dev->open().ok());
        return dev;
    }
    std::unique_ptr<PlaybackDevice> openPlayback(AudioDeviceOptions options = fastOptions()) {
        auto dev = std::make_unique<PlaybackDevice>(config_, options,
                                                    std::make_unique<FakePcmOpener>(backend_));
        EXPECT_TRUE(dev->open().ok());
        return dev;
    }

    // Reads periods (as the recorder thread would) until `done` holds, or
    // a generous deadline passes. Returns whether `done` held.
    template <typename Pred>
    bool readUntil(CaptureDevice& dev, Pred done, std::vector<int16_t>* last = nullptr) {
        std::vector<int16_t> buf(kPeriod);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            const size_t live = dev.read(buf);
            if (last != nullptr) {
                *last = buf;
            }
            if (done(live)) {
                return true;
            }
        }
        return false;
    }

    std::shared_ptr<FakeBackend> backend_;
    PcmConfig config_;
};

TEST(PcmErrors, AreSortedIntoAgainXrunSuspendAndLost) {
    EXPECT_EQ(classifyPcmError(0), PcmErrorKind::None);
    EXPECT_EQ(classifyPcmError(240), PcmErrorKind::None);
    EXPECT_EQ(classifyPcmError(-EAGAIN), PcmErrorKind::Again);
    EXPECT_EQ(classifyPcmError(-EINTR), PcmErrorKind::Again);
    EXPECT_EQ(classifyPcmError(-EPIPE), PcmErrorKind::Xrun);
    EXPECT_EQ(classifyPcmError(-ESTRPIPE), PcmErrorKind::Suspend);
    for (int e : {ENODEV, EBADFD, EIO, ENXIO, ENOTTY, ESHUTDOWN, ETIMEDOUT}) {
        EXPECT_EQ(classifyPcmError(-e), PcmErrorKind::Lost) << e;
    }
}

TEST(ABackoff, DoublesFromTheInitialDelayUpToTheCap) {
    Backoff b(50ms, 400ms);
    EXPECT_EQ(b.next(), 50ms);
    EXPECT_EQ(b.next(), 100ms);
    EXPECT_EQ(b.next(), 200ms);
    EXPECT_EQ(b.next(), 400ms);
    EXPECT_EQ(b.next(), 400ms);
    b.reset();
    EXPECT_EQ(b.next(), 50ms);
}

TEST(ABackoff, ReachesACapThatIsNotAPowerOfTwoOfTheStart) {
    Backoff b(50ms, 2000ms);
    std::chrono::milliseconds last{};
    for (int i = 0; i < 10; ++i) {
        auto d = b.next();
        EXPECT_GE(d, last);
        EXPECT_LE(d, 2000ms);
        last = d;
    }
    EXPECT_EQ(last, 2000ms);
}

TEST_F(DeviceTest, CaptureStartsOnTheFirstReadAndDeliversLiveAudio) {
    auto dev = openCapture();
    EXPECT_EQ(backend_->starts(), 0);
    std::vector<int16_t> buf(kPeriod);
    EXPECT_EQ(dev->read(buf), kPeriod);
    EXPECT_EQ(backend_->starts(), 1);
    EXPECT_EQ(buf[0], FakeBackend::captureSample(0));
    EXPECT_EQ(buf[kPeriod - 1], FakeBackend::captureSample(kPeriod - 1));
    EXPECT_EQ(dev->delayFrames(), long{kBuffer / 2}) << "delay comes from snd_pcm_delay";
}

TEST_F(DeviceTest, CaptureReadsStayOnThePeriodGridWhateverTheWakeUpLatency) {
    // Every wake-up comes 3 frames after a period is there. A read that took
    // those stragglers at once would leave the period grid: the next wake-up
    // would come a period after that, later by the latency each time, and the
    // backlog (how late the frames are read) would grow by 3 frames a period.
    backend_->paceCapture(3);
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    for (uint32_t i = 0; i < 100; ++i) {
        ASSERT_EQ(dev->read(buf), kPeriod);
        ASSERT_EQ(backend_->captureBacklog(), 3u) << "after read " << i;
        ASSERT_EQ(buf[0], FakeBackend::captureSample(uint64_t{i} * kPeriod));
    }
}

TEST_F(DeviceTest, CaptureDatesItsFramesByWhatTheDeviceHoldsReadyNotByASoundServersDelay) {
    // The fake's snd_pcm_delay says half the buffer whatever is there, as a
    // sound server's delay adds audio it has not handed over. What the
    // device holds after a read is what is ready: the 3 stragglers.
    backend_->paceCapture(3);
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(dev->read(buf), kPeriod);
        EXPECT_EQ(dev->delayFrames(), long{kBuffer / 2});
        EXPECT_EQ(dev->heldFrames(), 3);
    }
}

TEST_F(DeviceTest, CaptureReadsAWholeFrameAndEverythingElseTheDeviceHasReady) {
    // A frame of 3 periods: the read waits for all of them, then also takes
    // the 3 frames that came in after the last wake-up, so the device is
    // left with nothing half read.
    backend_->paceCapture(3);
    auto dev = openCapture();
    std::vector<int16_t> buf(3 * kPeriod + kBuffer); // the frame and the device's buffer
    uint64_t position = 0;
    for (int i = 0; i < 20; ++i) {
        const size_t got = dev->readAtLeast(buf, 3 * kPeriod);
        ASSERT_GE(got, 3 * kPeriod);
        ASSERT_LE(got, buf.size());
        EXPECT_EQ(backend_->captureBacklog(), 0u) << "after read " << i;
        EXPECT_EQ(dev->heldFrames(), 0);
        for (size_t k = 0; k < got; ++k) {
            ASSERT_EQ(buf[k], FakeBackend::captureSample(position + k)) << "read " << i;
        }
        position += got;
    }
}

TEST_F(DeviceTest, CaptureReadsOfAWholeFrameDeliverSilenceWhileTheDeviceIsGone) {
    auto dev = openCapture();
    std::vector<int16_t> buf(kBuffer);
    ASSERT_GE(dev->readAtLeast(buf, 2 * kPeriod), 2 * kPeriod);
    backend_->unplug();
    std::fill(buf.begin(), buf.end(), int16_t{7});
    EXPECT_EQ(dev->readAtLeast(buf, 2 * kPeriod), 2 * kPeriod);
    EXPECT_TRUE(std::all_of(buf.begin(), buf.begin() + 2 * kPeriod, [](int16_t s) {
        return s == 0;
    })) << "silence stands in for the lost audio";
    EXPECT_FALSE(dev->connected());
    EXPECT_EQ(dev->stats().losses, 1u);
    EXPECT_GE(dev->stats().framesWhileLost, 2u * kPeriod);
}

TEST_F(DeviceTest, CaptureRecoversAnOverrunInPlaceAndCountsIt) {
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    ASSERT_EQ(dev->read(buf), kPeriod);
    backend_->failNextIo({-EPIPE});
    EXPECT_EQ(dev->read(buf), kPeriod) << "the read completes after recovery";
    EXPECT_TRUE(noneZero(buf));
    EXPECT_EQ(dev->xruns(), 1u);
    EXPECT_EQ(backend_->prepares(), 1);
    EXPECT_EQ(backend_->starts(), 2) << "a capture stream is restarted after prepare";
    EXPECT_EQ(dev->stats().losses, 0u);
    EXPECT_EQ(backend_->opens(), 1) << "recovered in place, not reopened";
}

TEST_F(DeviceTest, PlaybackRecoversAnUnderrunAndPrimesTheBufferWithSilence) {
    auto dev = openPlayback();
    std::vector<int16_t> tone(kPeriod, 1000);
    ASSERT_EQ(dev->write(tone), kPeriod);
    backend_->failNextIo({-EPIPE});
    ASSERT_EQ(dev->write(tone), kPeriod);
    EXPECT_EQ(dev->xruns(), 1u);
    EXPECT_EQ(backend_->prepares(), 1);
    EXPECT_EQ(backend_->starts(), 0) << "playback starts by its threshold, not explicitly";
    auto played = backend_->played();
    ASSERT_EQ(played.size(), kPeriod + (kBuffer - kPeriod) + kPeriod);
    EXPECT_TRUE(
        std::all_of(played.begin(), played.begin() + kPeriod, [](int16_t s) { return s == 1000; }));
    EXPECT_TRUE(std::all_of(played.begin() + kPeriod, played.begin() + kBuffer,
                            [](int16_t s) { return s == 0; }));
    EXPECT_TRUE(
        std::all_of(played.begin() + kBuffer, played.end(), [](int16_t s) { return s == 1000; }));
}

TEST_F(DeviceTest, ResumesASuspendedDeviceRetryingWhileItSaysAgain) {
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    ASSERT_EQ(dev->read(buf), kPeriod);
    backend_->failNextIo({-ESTRPIPE});
    backend_->scriptResume({-EAGAIN, -EAGAIN, 0});
    EXPECT_EQ(dev->read(buf), kPeriod);
    EXPECT_EQ(dev->stats().suspends, 1u);
    EXPECT_EQ(dev->xruns(), 0u);
    EXPECT_EQ(backend_->resumes(), 3);
    EXPECT_EQ(backend_->prepares(), 0) << "a successful resume needs no prepare";
}

TEST_F(DeviceTest, PreparesASuspendedDeviceThatCannotResume) {
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    ASSERT_EQ(dev->read(buf), kPeriod);
    backend_->failNextIo({-ESTRPIPE});
    backend_->scriptResume({-ENOSYS});
    EXPECT_EQ(dev->read(buf), kPeriod);
    EXPECT_EQ(dev->stats().suspends, 1u);
    EXPECT_EQ(backend_->prepares(), 1);
    EXPECT_EQ(backend_->starts(), 2);
    EXPECT_EQ(dev->stats().losses, 0u);
}

TEST_F(DeviceTest, TreatsAFailedPrepareAfterAnXrunAsALostDevice) {
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    ASSERT_EQ(dev->read(buf), kPeriod);
    backend_->failNextIo({-EPIPE});
    backend_->failNextPrepare({-EIO});
    ASSERT_TRUE(readUntil(*dev, [&](size_t) { return dev->stats().reopens == 1; }));
    EXPECT_EQ(dev->xruns(), 1u);
    EXPECT_EQ(dev->stats().losses, 1u);
}

TEST_F(DeviceTest, CaptureDeliversSilenceWhileAVanishedDeviceIsReopenedWithBackoff) {
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    ASSERT_EQ(dev->read(buf), kPeriod);

    backend_->unplug();
    EXPECT_EQ(dev->read(buf), 0u) << "no live frames from a vanished device";
    EXPECT_TRUE(allZero(buf)) << "silence stands in for the lost audio";
    EXPECT_FALSE(dev->connected());
    EXPECT_EQ(dev->stats().losses, 1u);

    // The worker keeps trying, spaced by back-off, while reads go on.
    std::vector<int16_t> last;
    ASSERT_TRUE(readUntil(
        *dev, [&](size_t live) { return live == 0 && dev->stats().reopenFailures >= 3; }, &last));
    EXPECT_TRUE(allZero(last));
    EXPECT_EQ(backend_->liveHandles(), 0) << "the dead handle was closed by the worker";

    backend_->plugIn();
    ASSERT_TRUE(readUntil(
        *dev, [](size_t live) { return live == kPeriod; }, &last));
    EXPECT_TRUE(noneZero(last));
    auto s = dev->stats();
    EXPECT_TRUE(s.connected);
    EXPECT_EQ(s.reopens, 1u);
    EXPECT_EQ(s.losses, 1u);
    EXPECT_GE(s.reopenFailures, 3u);
    EXPECT_EQ(static_cast<uint64_t>(backend_->openAttempts()), 2 + s.reopenFailures)
        << "the first open, the failures, and the successful reopen";
    EXPECT_GT(s.framesWhileLost, 0u);
    EXPECT_EQ(s.framesWhileLost % kPeriod, 0u);
    EXPECT_EQ(dev->xruns(), 0u);
    EXPECT_EQ(backend_->liveHandles(), 1);
}

TEST_F(DeviceTest, PlaybackDiscardsWhileAVanishedDeviceIsReopened) {
    auto dev = openPlayback();
    std::vector<int16_t> tone(kPeriod, 1000);
    ASSERT_EQ(dev->write(tone), kPeriod);
    backend_->unplug();
    EXPECT_EQ(dev->write(tone), 0u);
    EXPECT_FALSE(dev->connected());
    EXPECT_EQ(backend_->played().size(), kPeriod) << "nothing reached the vanished device";

    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (dev->stats().reopenFailures < 2 && std::chrono::steady_clock::now() < deadline) {
        EXPECT_EQ(dev->write(tone), 0u);
    }
    backend_->plugIn();
    size_t live = 0;
    while (live == 0 && std::chrono::steady_clock::now() < deadline) {
        live = dev->write(tone);
    }
    EXPECT_EQ(live, kPeriod);
    EXPECT_EQ(dev->stats().reopens, 1u);
    EXPECT_GT(dev->stats().framesWhileLost, 0u);
    // The reopened stream is primed with silence, then gets the tone.
    auto played = backend_->played();
    ASSERT_EQ(played.size(), kPeriod + (kBuffer - kPeriod) + kPeriod);
    EXPECT_EQ(played.back(), 1000);
    EXPECT_EQ(played[kPeriod], 0);
}

TEST_F(DeviceTest, TreatsAStalledDeviceAsLostAndReopensIt) {
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    ASSERT_EQ(dev->read(buf), kPeriod);
    backend_->stallNextWaits(1);
    EXPECT_EQ(dev->read(buf), 0u) << "a stall is given up after stallTimeout";
    EXPECT_EQ(dev->stats().losses, 1u);
    ASSERT_TRUE(readUntil(*dev, [](size_t live) { return live == kPeriod; }));
    EXPECT_EQ(dev->stats().reopens, 1u);
}

TEST_F(DeviceTest, TreatsADeviceThatWakesButNeverDeliversAsLost) {
    auto dev = openPlayback();
    std::vector<int16_t> tone(kPeriod, 1000);
    ASSERT_EQ(dev->write(tone), kPeriod);
    backend_->hangOpenHandles();
    EXPECT_EQ(dev->write(tone), 0u) << "given up after stallTimeout without progress";
    EXPECT_EQ(dev->stats().losses, 1u);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    size_t live = 0;
    while (live == 0 && std::chrono::steady_clock::now() < deadline) {
        live = dev->write(tone);
    }
    EXPECT_EQ(live, kPeriod);
    EXPECT_EQ(dev->stats().reopens, 1u);
}

// A sound server started by the first client, or PulseAudio's idle null
// sink (its first block after resuming is 2 s long), leave a fresh handle
// with nothing to read for far longer than stallTimeout. The recorder keeps
// its pace with silence meanwhile, and the handle is kept.
TEST_F(DeviceTest, DeliversPacedSilenceWhileAFreshCaptureHandleHasNotStarted) {
    AudioDeviceOptions options = fastOptions(); // stallTimeout 10 ms
    options.startTimeout = 10s;
    auto dev = openCapture(options);
    constexpr int kWaits = 30; // 30 periods of 1 ms: three times stallTimeout
    backend_->stallNextWaits(kWaits);
    std::vector<int16_t> buf(kPeriod, 7);
    int silent = 0;
    while (silent < kWaits && dev->read(buf) == 0) {
        EXPECT_TRUE(allZero(buf));
        ++silent;
    }
    EXPECT_EQ(silent, kWaits) << "one wait per read while starting, each read substituted";
    ASSERT_TRUE(readUntil(*dev, [](size_t live) { return live == kPeriod; }));
    const auto s = dev->stats();
    EXPECT_EQ(s.losses, 0u) << "a slow start is not a lost device";
    EXPECT_EQ(s.reopens, 0u);
    EXPECT_EQ(s.slowStarts, 1u);
    EXPECT_EQ(s.framesWhileLost, uint64_t{kWaits} * kPeriod);
    EXPECT_EQ(backend_->opens(), 1);
}

// The first block of a sound server that started on this open (or of an
// idle sink resuming) comes late and whole: what it holds beyond the frame
// being read was captured while silence stood in for it. Read as well, it
// would put the recorder's stream ahead of the clock for good (the peer's
// jitter buffer dates frames by sequence and held the difference as delay).
TEST_F(DeviceTest, DropsWhatAStartingCaptureHandleCapturedWhileSilenceStoodInForIt) {
    AudioDeviceOptions options = fastOptions();
    options.startTimeout = 10s;
    backend_->paceCapture(0);
    auto dev = openCapture(options);
    backend_->stallNextWaits(2);
    std::vector<int16_t> buf(kPeriod + kBuffer, 7);
    for (int i = 0; i < 2; ++i) {
        ASSERT_EQ(dev->readAtLeast(buf, kPeriod), kPeriod);
        EXPECT_TRUE(allZero(std::vector<int16_t>(buf.begin(), buf.begin() + kPeriod)))
            << "substituted while starting";
    }
    ASSERT_EQ(dev->stats().framesWhileLost, 2u * kPeriod);
    backend_->captureArrives(3 * kPeriod); // the first block: three periods at once
    EXPECT_EQ(dev->readAtLeast(buf, kPeriod), kPeriod) << "only the frame due, the newest";
    EXPECT_EQ(buf[0], FakeBackend::captureSample(2 * kPeriod));
    EXPECT_EQ(dev->stats().framesDropped, 2u * kPeriod);
    EXPECT_EQ(dev->stats().xruns, 0u) << "a start is not an overrun";
    EXPECT_EQ(backend_->captureBacklog(), 0u);
    // Running now: a later block is read whole, nothing dropped.
    backend_->captureArrives(2 * kPeriod);
    EXPECT_EQ(dev->readAtLeast(buf, kPeriod), 2u * kPeriod);
    EXPECT_EQ(dev->stats().framesDropped, 2u * kPeriod);
}

// ALSA's pulse plugin shows at most a buffer to read while the server's
// stream may hold seconds (after a stall of the reader or of the server):
// a hardware device would have overrun. The excess is dropped at once, as an
// overrun, so the recorder's reads and its dates stay within the buffer.
TEST_F(DeviceTest, DropsCaptureHeldBeyondTheBufferAsAnOverrun) {
    backend_->paceCapture(0);
    backend_->hideBeyondBuffer();
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod + kBuffer);
    ASSERT_EQ(dev->readAtLeast(buf, kPeriod), kPeriod);
    EXPECT_EQ(dev->stats().framesDropped, 0u) << "within the buffer nothing is dropped";
    backend_->captureArrives(10 * kBuffer);
    const size_t got = dev->readAtLeast(buf, kPeriod);
    EXPECT_GE(got, kPeriod);
    EXPECT_LE(backend_->captureBacklog(), kBuffer - kPeriod);
    EXPECT_EQ(dev->stats().xruns, 1u);
    EXPECT_EQ(dev->stats().framesDropped + got + backend_->captureBacklog(), 10u * kBuffer);
    EXPECT_EQ(dev->heldFrames(), static_cast<long>(backend_->captureBacklog()));
}

TEST_F(DeviceTest, DiscardsPacedWhileAFreshPlaybackHandleHasNotStartedThenStallsCountAgain) {
    AudioDeviceOptions options = fastOptions();
    options.startTimeout = 10s;
    auto dev = openPlayback(options);
    std::vector<int16_t> tone(kPeriod, 1000);
    ASSERT_EQ(dev->write(tone), kPeriod) << "the first write fills the buffer";
    constexpr int kWaits = 30;
    backend_->stallNextWaits(kWaits); // full, and the stream does not take audio yet
    int discarded = 0;
    while (discarded < kWaits && dev->write(tone) == 0) {
        ++discarded;
    }
    EXPECT_EQ(discarded, kWaits);
    EXPECT_EQ(dev->write(tone), kPeriod) << "the stream runs: audio goes to it again";
    EXPECT_EQ(dev->stats().losses, 0u);
    EXPECT_EQ(dev->stats().slowStarts, 1u);
    // Once it ran, a stall is a stall again: lost after stallTimeout.
    backend_->stallNextWaits(1);
    EXPECT_EQ(dev->write(tone), 0u);
    EXPECT_EQ(dev->stats().losses, 1u);
}

TEST_F(DeviceTest, LosesAFreshHandleThatDoesNotStartWithinStartTimeout) {
    AudioDeviceOptions options = fastOptions();
    options.startTimeout = 30ms;
    auto dev = openCapture(options);
    backend_->stallNextWaits(1'000'000);
    ASSERT_TRUE(readUntil(*dev, [&](size_t) { return dev->stats().losses == 1; }));
    EXPECT_EQ(dev->stats().slowStarts, 1u);
    backend_->stopStalling(); // the reopened handle works
    ASSERT_TRUE(readUntil(*dev, [](size_t live) { return live == kPeriod; }));
    EXPECT_EQ(dev->stats().reopens, 1u);
}

TEST_F(DeviceTest, LogsXrunsThroughTheRealtimeLog) {
    std::vector<std::string> lines;
    setLogSink([&](LogLevel, std::string_view text) { lines.emplace_back(text); });
    realtimeLog().drain(); // whatever earlier tests left
    lines.clear();
    auto dev = openCapture();
    std::vector<int16_t> buf(kPeriod);
    backend_->failNextIo({-EPIPE});
    ASSERT_EQ(dev->read(buf), kPeriod);
    lines.clear(); // open() logs synchronously on the control thread
    realtimeLog().drain();
    setLogSink(nullptr);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("capture \"fake\": overrun"), std::string::npos) << lines[0];
}

TEST_F(DeviceTest, RefusesAConfigurationOutsideItsLimits) {
    config_.periods = 1;
    CaptureDevice dev(config_, fastOptions(), std::make_unique<FakePcmOpener>(backend_));
    EXPECT_EQ(dev.open().code(), Errc::InvalidArgument);
    EXPECT_EQ(backend_->openAttempts(), 0);
    config_.periods = 4;
    config_.periodFrames = 100000;
    EXPECT_EQ(config_.validate().code(), Errc::InvalidArgument);
    config_.periodFrames = 0;
    config_.wakeFrames = 8;
    EXPECT_EQ(config_.validate().code(), Errc::InvalidArgument);
    config_.wakeFrames = 0;
    config_.device.clear();
    EXPECT_EQ(config_.validate().code(), Errc::InvalidArgument);
}

TEST(APcmConfig, KeepsTheWakeUpSizeWithinAPeriodAndTheBufferLessAPeriod) {
    PcmConfig c;
    EXPECT_EQ(c.effectiveWakeFrames(240, 1920), 240u) << "0 means one period";
    c.wakeFrames = 960;
    EXPECT_EQ(c.effectiveWakeFrames(240, 1920), 960u);
    EXPECT_EQ(c.effectiveWakeFrames(240, 960), 720u) << "a full capture buffer would overrun";
    EXPECT_EQ(c.effectiveWakeFrames(1024, 2048), 1024u) << "never below a period";
}

TEST_F(DeviceTest, CountersAreReadableFromAnotherThreadWhileTheAudioThreadRecovers) {
    auto dev = openCapture();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> maxSeen{0};
    std::thread observer([&] {
        while (!stop.load()) {
            auto s = dev->stats();
            maxSeen.store(std::max<uint64_t>(maxSeen.load(), s.xruns));
            (void)dev->delay();
        }
    });
    std::vector<int16_t> buf(kPeriod);
    for (int i = 0; i < 50; ++i) {
        backend_->failNextIo({-EPIPE});
        ASSERT_EQ(dev->read(buf), kPeriod);
    }
    backend_->unplug();
    backend_->plugIn();
    ASSERT_TRUE(
        readUntil(*dev, [&](size_t live) { return live == kPeriod && dev->stats().reopens == 1; }));
    stop = true;
    observer.join();
    EXPECT_EQ(dev->xruns(), 50u);
    EXPECT_LE(maxSeen.load(), 50u);
}

TEST_F(DeviceTest, ClosesEveryHandleOnClose) {
    {
        auto dev = openCapture();
        std::vector<int16_t> buf(kPeriod);
        ASSERT_EQ(dev->read(buf), kPeriod);
        EXPECT_EQ(backend_->liveHandles(), 1);
        dev->close();
        EXPECT_EQ(backend_->liveHandles(), 0);
    }
    {
        auto dev = openCapture(); // never read: the handle waits in the hand-over slot
        EXPECT_EQ(backend_->liveHandles(), 1);
    }
    EXPECT_EQ(backend_->liveHandles(), 0);
}

TEST_F(DeviceTest, OpenFailsWhenTheDeviceIsMissing) {
    backend_->unplug();
    CaptureDevice dev(config_, fastOptions(), std::make_unique<FakePcmOpener>(backend_));
    Status s = dev.open();
    EXPECT_EQ(s.code(), Errc::NotFound);
    EXPECT_FALSE(dev.connected());
}

TEST_F(DeviceTest, CanStartWithTheDeviceMissingAndPickItUpWhenItAppears) {
    backend_->unplug();
    CaptureDevice dev(config_, fastOptions(), std::make_unique<FakePcmOpener>(backend_));
    ASSERT_TRUE(dev.open(AudioDevice::OpenMode::AllowMissing).ok());
    EXPECT_FALSE(dev.connected());
    EXPECT_EQ(dev.params().periodFrames, kPeriod);
    std::vector<int16_t> last;
    ASSERT_TRUE(readUntil(
        dev, [&](size_t live) { return live == 0 && dev.stats().reopenFailures >= 2; }, &last));
    EXPECT_TRUE(allZero(last));
    backend_->plugIn();
    ASSERT_TRUE(readUntil(
        dev, [](size_t live) { return live == kPeriod; }, &last));
    EXPECT_TRUE(noneZero(last));
    EXPECT_TRUE(dev.connected());
    EXPECT_EQ(backend_->starts(), 1);
}

} // namespace
