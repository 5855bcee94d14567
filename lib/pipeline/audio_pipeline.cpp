// SPDX-License-Identifier: MIT
// AudioPipeline: the recorder, transmitter, receiver and player loops.
#include "pipeline/audio_pipeline.h"

#include "audio/alsa_pcm.h"
#include "audio/cpu_placement.h"
#include "audio/realtime.h"
#include "codec/codec_factory.h"
#include "core/deferred_log.h"
#include "core/log.h"
#include "core/spsc_queue.h"
#include "dsp/capture_processor.h"
#include "dsp/resampler.h"
#include "pipeline/capture_time_table.h"
#include "pipeline/echo_reference.h"
#include "pipeline/playout_aligner.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <pthread.h>
#include <string>
#include <system_error>
#include <vector>

namespace voice {

/// Recorder -> transmitter: the ring position just after a captured period
/// and the time (us) that position was captured.
struct CaptureMark {
    uint64_t endPos = 0;
    uint64_t timeUs = 0;
};

namespace {

using namespace std::chrono_literals;

/// How long the non-real-time threads wait before looking at running_ again
/// (stop() wakes them at once; this only bounds a missed wake-up).
constexpr auto kPollInterval = 50ms;
/// Marks queued between recorder and transmitter: periods in flight.
constexpr size_t kMarkSlots = 256;
/// Playout alignment: shorten the stream when frames wait more than
/// kAlignAbove beyond the jitter buffer's target, down to kAlignTo. The gap
/// between them is the hysteresis that keeps a steady stream untouched.
constexpr std::chrono::nanoseconds kAlignAbove = 1ms;
constexpr std::chrono::nanoseconds kAlignTo = 250us;
/// Trims follow the smallest slack of the last few frames, so one frame that
/// looks early (a clock that wobbles, a sound server that moves audio in
/// bursts) never shortens the stream: only a surplus every frame shows. At
/// most one trim per window (2.5 ms per 8 frames at most).
constexpr size_t kAlignWindow = 8;
/// The silence before the first frame is cut to no less than this, so the
/// device never gets a stream of tiny writes.
constexpr std::chrono::nanoseconds kMinSilenceWrite = 1ms;

/// Audio a device buffer holds beyond one codec frame when the pipeline
/// wakes once per frame: capture must not overrun while the recorder waits
/// for a whole frame; playback keeps at least this much queued while the
/// player waits for room for the next frame (2 x 20 ms periods in all for
/// 20 ms frames, as much as the 8 x 5 ms that rode out load spikes through
/// a sound server).
constexpr std::chrono::milliseconds kCaptureSpare{10};
constexpr std::chrono::milliseconds kPlaybackSpare{20};
/// A capture period left to the default is cut to this share of a codec
/// frame, and to kMaxCapturePeriod at most. A sound server that hands
/// capture over in periods at a drifting phase (PulseAudio's null source;
/// timer-driven servers in general) delays each frame by up to a period,
/// and the peer's jitter buffer must cover that: 5 ms on a 5 ms frame would
/// double its latency, and on a 20 ms frame it put one-way latency at
/// 28 ms against 25.8 ms with 2.5 ms periods, for no measurable CPU (60 s
/// calls, bench/e2e_call_bench.sh). The server's extra wake-ups per period
/// land in its client thread, which the recorder does not wait for: it
/// sleeps through a frame and reads it whole.
constexpr uint32_t kCapturePeriodsPerFrame = 4;
constexpr std::chrono::microseconds kMaxCapturePeriod{2500};
/// A playback period left to the default becomes the codec frame, up to
/// this many frames (170 ms at 48 kHz; Opus frames are at most 120 ms).
constexpr size_t kMaxPlaybackPeriod = 8192;

/// Grows a device's buffer to hold a codec frame and `spare` more (see
/// AudioPipelineConfig::wakePerFrame). Returns whether the frame is a whole
/// number of periods; the buffer grows either way (a 20 ms frame at
/// 44.1 kHz, 882 samples, is no whole number of 5 ms periods, and a wait
/// for it on a buffer of 4 of them would wait for more than the buffer).
bool fitBufferToFrame(PcmConfig& pcm, size_t frameSamples, std::chrono::milliseconds spare) {
    const uint32_t period = pcm.effectivePeriodFrames();
    const auto spareFrames = static_cast<uint64_t>(spare.count()) * pcm.format.rate() / 1000;
    const auto periods = static_cast<uint32_t>((frameSamples + spareFrames + period - 1) / period);
    pcm.periods = std::min<uint32_t>(32, std::max(pcm.periods, periods));
    return frameSamples >= period && frameSamples % period == 0;
}

/// Fits the playback device to the codec frame: a period left to the
/// default becomes the frame (a sound server asks for audio once per
/// period), the buffer holds the frame and kPlaybackSpare, and the device
/// wakes the player once per frame.
void fitPlaybackToFrame(PcmConfig& playback, size_t frameSamples) {
    if (playback.wakeFrames != 0) {
        return;
    }
    if (playback.periodFrames == 0 && frameSamples >= playback.effectivePeriodFrames() &&
        frameSamples <= kMaxPlaybackPeriod) {
        // Half a frame where that is still a default period or more: ALSA's
        // pulse plugin grants no fewer than three periods, so a period of a
        // whole 20 ms frame made the buffer 60 ms instead of the frame and
        // the spare (40 ms), and the player keeps it full: 20 ms more of
        // mouth-to-ear delay (bench/mouth_to_ear_bench.sh).
        const size_t half = frameSamples / 2;
        playback.periodFrames = static_cast<uint32_t>(
            frameSamples % 2 == 0 && half >= playback.effectivePeriodFrames() ? half
                                                                              : frameSamples);
        playback.periods = 2; // grown to the spare below
    }
    if (fitBufferToFrame(playback, frameSamples, kPlaybackSpare)) {
        playback.wakeFrames = static_cast<uint32_t>(frameSamples);
    }
}

/// The capture period for the frame when the config left it to the
/// default (see kCapturePeriodsPerFrame). A frame that is not a whole
/// number of such periods keeps the device's default.
void fitCapturePeriod(PcmConfig& capture, size_t frameSamples) {
    const auto longest =
        static_cast<size_t>(kMaxCapturePeriod.count()) * capture.format.rate() / 1'000'000;
    const size_t period = std::min(frameSamples / kCapturePeriodsPerFrame, longest);
    if (capture.periodFrames != 0 || period >= capture.effectivePeriodFrames() || period < 16 ||
        frameSamples % period != 0) {
        return;
    }
    capture.periodFrames = static_cast<uint32_t>(period);
}

int64_t monotonicNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

/// Names the calling thread for top, perf and gdb (at most 15 characters).
void nameThread(const char* name) {
    pthread_setname_np(pthread_self(), name);
}

int64_t threadCpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

} // namespace

Status AudioPipelineConfig::validate() const {
    if (Status s = codec.validate(); !s) {
        return s;
    }
    if (capture.format.rate() != playback.format.rate()) {
        return Status(Errc::InvalidArgument, "capture and playback must run at one rate");
    }
    for (const PcmConfig* pcm : {&capture, &playback}) {
        if (Status s = pcm->validate(); !s) {
            return s;
        }
        if (pcm->format.channels() != 1) {
            return Status(Errc::Unsupported, "the audio pipeline needs mono devices");
        }
        // Opus codes 48 kHz; a 44.1 kHz device gets it through a resampler.
        // PCM runs at the device rate end to end.
        if (pcm->format.rate() != codec.sampleRate &&
            (codec.codec != CodecId::Opus || pcm->format.rate() != capture.format.rate())) {
            return Status(Errc::InvalidArgument,
                          "device rate " + std::to_string(pcm->format.rate()) +
                              " differs from the codec rate " + std::to_string(codec.sampleRate));
        }
    }
    if (captureBuffer <
            2 * std::chrono::duration_cast<std::chrono::milliseconds>(codec.frameDuration) ||
        captureBuffer > 2s) {
        return Status(Errc::InvalidArgument,
                      "capture buffer must hold two codec frames and at most 2 s");
    }
    if (feedbackInterval < 20ms || feedbackInterval > 10s) {
        return Status(Errc::InvalidArgument, "feedback interval must be within 20 ms..10 s");
    }
    if (realtimePriority < 1 || realtimePriority > 99) {
        return Status(Errc::InvalidArgument, "real-time priority must be within 1..99");
    }
    return {};
}

AudioPipeline::AudioPipeline(const AudioPipelineConfig& config, MediaTransport& transport)
    : config_(config), transport_(transport), fecController_(config.fecController) {}

Result<std::unique_ptr<AudioPipeline>>
AudioPipeline::make(const AudioPipelineConfig& config, MediaTransport& transport,
                    std::unique_ptr<MediaSealer> sealer, std::unique_ptr<MediaOpener> opener,
                    std::unique_ptr<PcmOpener> captureOpener,
                    std::unique_ptr<PcmOpener> playbackOpener) {
    if (Status s = config.validate(); !s) {
        return s;
    }
    if (!sealer || !opener) {
        return Status(Errc::InvalidArgument, "the audio pipeline needs a media sealer and opener");
    }
    std::unique_ptr<AudioPipeline> p(new AudioPipeline(config, transport));
    auto encoder = makeEncoder(config.codec);
    if (!encoder) {
        return encoder.status();
    }
    auto decoder = makeDecoder(config.codec);
    if (!decoder) {
        return decoder.status();
    }
    p->encoder_ = std::move(*encoder);
    p->decoder_ = std::move(*decoder);
    auto jitter = JitterBuffer::make(*p->decoder_, config.jitter);
    if (!jitter) {
        return jitter.status();
    }
    p->jitter_ = std::move(*jitter);
    p->sealer_ = std::move(sealer);
    p->opener_ = std::move(opener);
    p->rate_ = config.codec.sampleRate;
    p->frameSamples_ = p->encoder_->frameSamples();
    p->deviceRate_ = config.capture.format.rate();
    p->deviceFrameSamples_ =
        static_cast<size_t>(uint64_t{p->frameSamples_} * p->deviceRate_ / p->rate_);
    if (p->deviceRate_ != p->rate_) {
        // Up to 100 ms of capture per call (the recorder feeds it in pieces).
        auto up = Resampler::make(p->deviceRate_, p->rate_, p->deviceRate_ / 10);
        auto down = Resampler::make(p->rate_, p->deviceRate_, p->frameSamples_);
        if (!up) {
            return up.status();
        }
        if (!down) {
            return down.status();
        }
        p->captureResampled_.resize((*up)->maxOut());
        p->playbackResampled_.resize((*down)->maxOut());
        p->captureResampler_ = std::move(*up);
        p->playbackResampler_ = std::move(*down);
    }
    const auto ringFrames = static_cast<size_t>(config.captureBuffer.count()) * p->rate_ / 1000;
    p->ring_ = std::make_unique<AudioRing>(ringFrames, 1, OverflowPolicy::DropIncoming,
                                           UnderflowPolicy::Refuse);
    p->marks_ = std::make_unique<SpscQueue<CaptureMark>>(kMarkSlots);
    p->captureTimes_ = std::make_unique<CaptureTimeTable>();
    p->reports_ = std::make_unique<SpscQueue<LossReport>>(4);
    p->fecActive_.store(config.codec.codec == CodecId::Opus && config.codec.fec,
                        std::memory_order_relaxed);
    p->fecExpectedLoss_.store(config.codec.expectedLossPercent, std::memory_order_relaxed);
    if (Status s = p->makeCaptureProcessing(); !s) {
        return s;
    }
    PcmConfig capture = config.capture;
    PcmConfig playback = config.playback;
    if (config.wakePerFrame) {
        fitCapturePeriod(capture, p->deviceFrameSamples_);
        (void)fitBufferToFrame(capture, p->deviceFrameSamples_, kCaptureSpare);
        fitPlaybackToFrame(playback, p->deviceFrameSamples_);
    }
    if (config.cpu) {
        for (std::unique_ptr<PcmOpener>* device : {&captureOpener, &playbackOpener}) {
            *device = std::make_unique<PinnedPcmOpener>(
                *config.cpu, *device ? std::move(*device) : std::make_unique<AlsaPcmOpener>());
        }
    }
    p->capture_ =
        std::make_unique<CaptureDevice>(capture, config.deviceOptions, std::move(captureOpener));
    p->playback_ =
        std::make_unique<PlaybackDevice>(playback, config.deviceOptions, std::move(playbackOpener));
    return p;
}

Status AudioPipeline::makeCaptureProcessing() {
    if (!config_.echoCancel && !config_.noiseSuppression && !config_.autoGain) {
        return {};
    }
    const size_t block = rate_ / 100;
    if (rate_ % 100 != 0 || frameSamples_ % block != 0) {
        LOG_WARNING("capture processing off: %zu-sample frames are not whole 10 ms blocks",
                    frameSamples_);
        return {};
    }
    CaptureProcessorConfig pc;
    pc.rate = rate_;
    pc.echoCancel = config_.echoCancel;
    pc.noiseSuppression = config_.noiseSuppression;
    pc.autoGain = config_.autoGain;
    // webrtc's processing runs at 8/16/32/48 kHz; speexdsp at any rate.
    const bool webrtcRate = rate_ == 8000 || rate_ == 16000 || rate_ == 32000 || rate_ == 48000;
    auto processor = makeCaptureProcessor(pc, webrtcRate ? DspLibrary::Webrtc : DspLibrary::Speex);
    if (!processor) {
        return processor.status();
    }
    processor_ = std::move(*processor);
    if (config_.echoCancel) {
        echoReference_ = std::make_unique<EchoReference>(rate_, rate_ / 2);
    }
    return {};
}

AudioPipeline::~AudioPipeline() {
    stop();
}

Status AudioPipeline::start() {
    if (started_) {
        return Status(Errc::Closed, "an audio pipeline runs only once");
    }
    started_ = true;
    if (Status s = capture_->open(config_.openMode); !s) {
        return s;
    }
    if (Status s = playback_->open(config_.openMode); !s) {
        capture_->close();
        return s;
    }
    // The jitter buffer's clock counts from here: small numbers keep its
    // arithmetic (time differences times rates) far from overflow.
    epochNs_ = monotonicNs() - 1'000'000'000;
    running_.store(true, std::memory_order_release);
    try {
        receiverThread_ = std::thread([this] { receiver(); });
        playerThread_ = std::thread([this] { player(); });
        transmitterThread_ = std::thread([this] { transmitter(); });
        recorderThread_ = std::thread([this] { recorder(); });
    } catch (const std::system_error& e) {
        stop();
        return Status(Errc::Internal, std::string("cannot start an audio thread: ") + e.what());
    }
    const std::string placement =
        config_.cpu ? "on CPU " + std::to_string(*config_.cpu) : "on the scheduler's CPUs";
    std::string processing = "no capture processing";
    if (processor_) {
        processing = std::string(processor_->name()) + ":" + (config_.echoCancel ? " aec" : "") +
                     (config_.noiseSuppression ? " ns" : "") + (config_.autoGain ? " agc" : "");
    }
    LOG_INFO("audio pipeline started: %s, %lld us frames, %s, %s",
             std::string(codecName(config_.codec.codec)).c_str(),
             static_cast<long long>(config_.codec.frameDuration.count()), placement.c_str(),
             processing.c_str());
    return {};
}

void AudioPipeline::stop() {
    if (!started_) {
        return; // never started (or make() gave up half-way): nothing runs, nothing is open
    }
    running_.store(false, std::memory_order_release);
    // Wake the two threads that may wait for long; the real-time ones come
    // round within one device period or codec frame.
    ring_->shutdown();
    transport_.shutdown();
    for (std::thread* t :
         {&recorderThread_, &transmitterThread_, &receiverThread_, &playerThread_}) {
        if (t->joinable()) {
            t->join();
        }
    }
    capture_->close();
    playback_->close();
}

void AudioPipeline::setUpAudioThread(std::atomic<int>& got, int priority) {
    if (config_.cpu) {
        if (Status s = pinThisThread(*config_.cpu); !s) {
            LOG_WARNING("audio thread stays unpinned: %s", s.toString().c_str());
        }
    }
    if (config_.realtime) {
        if (auto prio = makeThreadRealtime(std::max(1, priority))) {
            got.store(*prio, std::memory_order_relaxed);
            if (threadRealtimeViaRtkit()) {
                realtimeViaRtkit_.store(true, std::memory_order_relaxed);
            }
        }
    }
}

void AudioPipeline::recorder() {
    nameThread("voice-recorder");
    setUpAudioThread(recorderPriority_, config_.realtimePriority);
    // What each read waits for: a codec frame (wakePerFrame) or a period.
    const PcmParams& params = capture_->params();
    const size_t wake = config_.wakePerFrame ? deviceFrameSamples_
                                             : std::max<size_t>(1, params.effectiveWakeFrames());
    // A resampler's output runs behind its input by its filter's delay.
    const int64_t resamplerNs = captureResampler_ ? captureResampler_->delayNs() : 0;
    // Allocated before the real-time loop: a read takes all the device
    // holds on top of what it waits for (CaptureDevice::readAtLeast).
    std::vector<int16_t> chunk(wake + params.bufferFrames);
    uint64_t position = 0; // frames stored in the ring so far
    uint64_t captured = 0; // frames read from the device so far
    while (running_.load(std::memory_order_acquire)) {
        // Up to the end of the frame in progress, so frames are whole the
        // moment their last period is read.
        const size_t got = capture_->readAtLeast(chunk, wake - captured % wake);
        captured += got;
        std::span<const int16_t> period(chunk.data(), got);
        const int64_t returned = monotonicNs();
        // The last frame read was captured before the frames the device
        // still holds; those came in after it.
        const int64_t delay = std::max<long>(0, capture_->heldFrames());
        const int64_t endNs = returned - delay * 1'000'000'000 / deviceRate_ - resamplerNs;
        if (captureResampler_) {
            size_t made = 0;
            for (size_t at = 0; at < got; at += captureResampler_->maxIn()) {
                const size_t n = std::min(captureResampler_->maxIn(), got - at);
                made += captureResampler_->process(std::span<const int16_t>(chunk).subspan(at, n),
                                                   std::span(captureResampled_).subspan(made));
            }
            period = std::span<const int16_t>(captureResampled_).first(made);
        }
        // The mark goes first, so the transmitter finds it as soon as it
        // sees the frames (a DropIncoming write stores exactly this many).
        const size_t toStore = std::min(period.size(), ring_->availableToWrite());
        if (toStore > 0) {
            (void)marks_->tryPush({position + toStore, static_cast<uint64_t>(endNs / 1000)});
        }
        position += ring_->write(period);
        framesCaptured_.fetch_add(period.size(), std::memory_order_relaxed);
        recorderCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
    }
}

uint64_t AudioPipeline::captureTimeUs(uint64_t pos) {
    while (const CaptureMark* mark = marks_->front()) {
        lastMarkEnd_ = mark->endPos;
        lastMarkUs_ = mark->timeUs;
        haveMark_ = true;
        if (mark->endPos > pos) {
            break; // this period holds the frame; keep it for the next frame
        }
        marks_->pop();
    }
    if (!haveMark_) {
        return static_cast<uint64_t>(monotonicNs() / 1000);
    }
    // Sample `pos` relative to the period end the mark describes (before it
    // normally; after it only if a mark was lost to a full queue).
    const auto offsetUs = (static_cast<int64_t>(lastMarkEnd_) - static_cast<int64_t>(pos)) *
                          1'000'000 / static_cast<int64_t>(rate_);
    return static_cast<uint64_t>(static_cast<int64_t>(lastMarkUs_) - offsetUs);
}

void AudioPipeline::processCapture(std::span<int16_t> pcm, int64_t captureNs,
                                   std::span<int16_t> farBlock) {
    const size_t block = processor_->blockSamples();
    for (size_t at = 0; at + block <= pcm.size(); at += block) {
        std::span<const int16_t> far;
        if (echoReference_) {
            const int64_t blockNs = captureNs + static_cast<int64_t>(at) * 1'000'000'000 / rate_;
            (void)echoReference_->fetch(blockNs, farBlock);
            far = farBlock;
        }
        processor_->process(pcm.subspan(at, block), far);
    }
}

void AudioPipeline::transmitter() {
    nameThread("voice-transmit");
    setUpAudioThread(transmitterPriority_, config_.realtimePriority - 1);
    std::vector<int16_t> pcm(frameSamples_);
    std::vector<int16_t> farBlock(processor_ ? processor_->blockSamples() : 0);
    const uint64_t frameUs = uint64_t{frameSamples_} * 1'000'000 / rate_;
    // A loss report, when one is due, goes in front of the frame.
    std::vector<uint8_t> payload(LossReport::kSize + kMaxPayloadBytes);
    const std::span<uint8_t> audio = std::span(payload).subspan(LossReport::kSize);
    std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
    MediaHeader header;
    header.codec = static_cast<uint8_t>(config_.codec.codec);
    header.sessionId = config_.sessionId;
    const bool opus = config_.codec.codec == CodecId::Opus;
    LossReport report;
    bool reportPending = false;
    uint64_t position = 0; // ring frames consumed so far
    for (;;) {
        const WaitResult wait = ring_->waitForFrames(frameSamples_, kPollInterval);
        if (wait == WaitResult::Shutdown || !running_.load(std::memory_order_acquire)) {
            break;
        }
        if (wait == WaitResult::TimedOut) {
            continue;
        }
        ring_->read(pcm);
        // Dated from the frame's end: the recorder reads a frame's last
        // period the moment it comes in, while earlier periods may have
        // waited for the read that took them (it sleeps through them).
        header.timestampUs = captureTimeUs(position + frameSamples_) - frameUs;
        position += frameSamples_;
        if (processor_) {
            processCapture(pcm, static_cast<int64_t>(header.timestampUs) * 1000, farBlock);
        }
        if (muted_.load(std::memory_order_relaxed)) {
            std::fill(pcm.begin(), pcm.end(), int16_t{0});
            bump(framesMuted_);
        }
        auto encoded = encoder_->encode(pcm, audio);
        bump(framesEncoded_);
        if (!encoded) {
            bump(packetsSendDropped_);
            continue;
        }
        // The newest report replaces an older one not sent yet.
        while (const LossReport* r = reports_->front()) {
            report = *r;
            reportPending = true;
            reports_->pop();
        }
        // The flag says whether this packet's encoder had FEC on; the
        // encoder applies a change with the frame after the request, so a
        // switch may be off by one frame, which the decoder's hasFec()
        // check absorbs.
        header.fec = opus && fecActive_.load(std::memory_order_relaxed);
        std::span<const uint8_t> plaintext = audio.first(*encoded);
        header.kind = MediaKind::Audio;
        if (reportPending && LossReport::kSize + *encoded <= sealer_->maxPlaintext()) {
            report.encode(std::span(payload).first<LossReport::kSize>());
            plaintext = std::span<const uint8_t>(payload).first(LossReport::kSize + *encoded);
            header.kind = MediaKind::Feedback;
        }
        auto sealed = sealer_->seal(header, plaintext, packet);
        if (!sealed) {
            bump(packetsSendDropped_);
            continue;
        }
        if (transport_.send(std::span(packet.data(), *sealed))) {
            bump(packetsSent_);
            if (header.kind == MediaKind::Feedback) {
                reportPending = false;
                bump(feedbackSent_);
            }
        } else {
            bump(packetsSendDropped_);
        }
        transmitterCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
    }
    transmitterCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
}

void AudioPipeline::noteForReport(uint64_t sequence, int64_t nowNs) {
    if (!reportStarted_) {
        reportStarted_ = true;
        reportStartNs_ = nowNs;
        reportBaseSeq_ = sequence - 1; // wraps harmlessly for sequence 0
        reportHighest_ = sequence;
        reportReceived_ = 0;
    }
    // Sequence numbers are below 2^32 (the sealer's limit), so plain
    // comparison orders them.
    if (sequence > reportHighest_) {
        reportHighest_ = sequence;
    }
    ++reportReceived_;
    const int64_t interval = nowNs - reportStartNs_;
    if (interval < std::chrono::nanoseconds(config_.feedbackInterval).count()) {
        return;
    }
    // RFC 3550 6.4.1: expected from the highest sequence number, received
    // counted; reordering across the boundary can make one interval look
    // better and the next worse, never unbounded.
    const uint64_t expected = reportHighest_ - reportBaseSeq_;
    const uint64_t lost = expected > reportReceived_ ? expected - reportReceived_ : 0;
    LossReport r;
    r.lossFraction = LossReport::fractionOf(lost, expected);
    r.intervalMs = static_cast<uint16_t>(
        std::clamp<int64_t>(interval / 1'000'000, 1, LossReport::kMaxIntervalMs));
    r.jitterUs = static_cast<uint32_t>(std::clamp<int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(jitter_->stats().jitter).count(), 0,
        LossReport::kMaxJitterUs));
    r.highestSequence = std::min(reportHighest_, LossReport::kMaxSequence);
    (void)reports_->tryPush(r); // full: the transmitter is stalled; the next one will do
    reportedLossFraction_.store(r.lossFraction, std::memory_order_relaxed);
    reportStartNs_ = nowNs;
    reportBaseSeq_ = reportHighest_;
    reportReceived_ = 0;
}

bool AudioPipeline::takePeerReport(std::span<const uint8_t> block, int64_t nowNs) {
    auto report = LossReport::decode(block);
    if (!report) {
        return false;
    }
    bump(feedbackReceived_);
    peerLossFraction_.store(report->lossFraction, std::memory_order_relaxed);
    peerJitterUs_.store(report->jitterUs, std::memory_order_relaxed);
    if (config_.fecMode != FecMode::Auto || config_.codec.codec != CodecId::Opus) {
        return true;
    }
    const auto d = fecController_.update(report->lossPercent(), std::chrono::nanoseconds(nowNs));
    if (d.changed) {
        // Any thread may ask; the transmitter's next encode() applies it.
        encoder_->setFec(d.fec, d.expectedLossPercent);
        fecActive_.store(d.fec, std::memory_order_relaxed);
        fecExpectedLoss_.store(d.expectedLossPercent, std::memory_order_relaxed);
        bump(fecChanges_);
    }
    return true;
}

void AudioPipeline::receiver() {
    nameThread("voice-receive");
    setUpAudioThread(receiverPriority_, config_.realtimePriority - 1);
    std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
    std::vector<uint8_t> plaintext(MediaHeader::kMaxDatagram);
    const auto codec = static_cast<uint8_t>(config_.codec.codec);
    while (running_.load(std::memory_order_acquire)) {
        auto received = transport_.receive(packet, kPollInterval);
        if (!received) {
            if (received.status().code() == Errc::Closed) {
                break;
            }
            // This thread is real-time: the log is deferred, and a transport
            // that keeps failing is retried at the poll interval, not in a
            // loop that would starve the machine.
            RT_LOG(LogLevel::Warning, "media receive failed: %s",
                   received.status().toString().c_str());
            std::this_thread::sleep_for(kPollInterval);
            continue;
        }
        if (*received == 0) {
            continue;
        }
        const int64_t arrival = monotonicNs() - epochNs_;
        auto opened = opener_->open(std::span(packet.data(), *received), plaintext);
        if (!opened || !carriesAudio(opened->header.kind) || opened->header.codec != codec) {
            bump(packetsDropped_);
            continue;
        }
        const MediaHeader& h = opened->header;
        std::span<const uint8_t> frame(plaintext.data(), opened->plaintextSize);
        if (h.kind == MediaKind::Feedback) {
            // Authentic, but a malformed report means a broken peer: drop
            // the whole packet rather than guess where its audio starts.
            if (!takePeerReport(frame, monotonicNs())) {
                bump(feedbackMalformed_);
                bump(packetsDropped_);
                continue;
            }
            frame = frame.subspan(LossReport::kSize);
        }
        noteForReport(h.sequence, monotonicNs());
        const auto sequence = static_cast<uint32_t>(h.sequence);
        // Samples at the stream rate, wrapping at 32 bits like RTP.
        const auto timestamp = static_cast<uint32_t>(h.timestampUs * rate_ / 1'000'000);
        // Before the push, so the player finds it when it plays the frame.
        captureTimes_->put(sequence, h.timestampUs);
        jitter_->push(sequence, timestamp, std::chrono::nanoseconds(arrival), frame);
        bump(packetsReceived_);
        receiverCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
    }
    receiverCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
}

void AudioPipeline::player() {
    nameThread("voice-player");
    setUpAudioThread(playerPriority_, config_.realtimePriority);
    std::vector<int16_t> frame(frameSamples_);
    std::vector<int16_t> shortened(frameSamples_);
    const int64_t frameNs = jitter_->frameDuration().count();
    const PlayoutAligner aligner(frameSamples_, rate_);
    const auto samplesNs = [this](int64_t samples) {
        return samples * 1'000'000'000 / static_cast<int64_t>(rate_);
    };
    // The player's clock is the playback stream (see "Playout alignment" in
    // audio_pipeline.h): the time the next sample written will be played,
    // minus the device buffer. It advances by exactly what was written, so
    // it is free of the wake-up wobble of the blocking write. The clock
    // handed to pull() is the expected time (last + what was written) pulled
    // gently towards the measured one; it snaps to the measured one after a
    // jump (start, device lost, xrun) so it never drifts far from it.
    int64_t clock = 0;
    int64_t lastWrittenNs = 0;
    bool haveClock = false;
    int64_t slacks[kAlignWindow] = {};
    size_t slackCount = 0; // frames played since the window was last cleared
    while (running_.load(std::memory_order_acquire)) {
        const int64_t due = monotonicNs() + streamOffsetNs();
        const int64_t sinceEpoch = due - epochNs_;
        const int64_t expected = clock + lastWrittenNs;
        if (!haveClock ||
            std::abs(sinceEpoch - expected) > std::max<int64_t>(3 * frameNs, 30'000'000)) {
            clock = sinceEpoch;
            haveClock = true;
        } else {
            clock = expected + (sinceEpoch - expected) / 16;
        }
        // The smoothed clock can be ahead of the time it is now (this pull
        // came early: a sound server takes audio in bursts, so the blocking
        // write returns early or late by a millisecond or two). The jitter
        // buffer would take a packet still due by then for late, and stretch.
        // Wait for the clock instead; the device holds a full buffer now.
        const int64_t ahead = clock - (monotonicNs() - epochNs_);
        if (ahead > 0) {
            std::this_thread::sleep_for(std::chrono::nanoseconds(std::min(ahead, frameNs)));
        }
        const JitterBuffer::PullResult result =
            jitter_->pull(std::chrono::nanoseconds(clock), frame);
        std::span<const int16_t> out(frame);
        if (config_.alignPlayout && result.slackKnown) {
            if (result.frame == JitterBuffer::Frame::Silence && result.slackNs < 0 &&
                -result.slackNs < frameNs) {
                // Waiting for the first frame: play only the silence up to
                // the moment it is due, so it plays the moment it is ready.
                const int64_t waitNs = std::max(-result.slackNs, kMinSilenceWrite.count());
                const int64_t missing = (waitNs * rate_ + 999'999'999) / 1'000'000'000;
                out = out.first(static_cast<size_t>(std::min<int64_t>(missing, frame.size())));
                slackCount = 0;
            } else if (result.frame != JitterBuffer::Frame::Silence) {
                // The slack at the stream's own time rather than the
                // smoothed clock: a pull that comes early (a sound server
                // taking audio in bursts) must still find its frame there.
                slacks[slackCount++ % kAlignWindow] = result.slackNs + (sinceEpoch - clock);
            }
            const int64_t least =
                slackCount >= kAlignWindow ? *std::min_element(slacks, slacks + kAlignWindow) : 0;
            if (result.frame != JitterBuffer::Frame::Silence && least > kAlignAbove.count()) {
                // Frames wait longer than the target needs: shorten the
                // stream a little per frame until they play on time.
                const auto drop =
                    static_cast<size_t>((least - kAlignTo.count()) * rate_ / 1'000'000'000);
                if (drop > 0) {
                    out = std::span<const int16_t>(shortened).first(
                        aligner.shorten(frame, drop, shortened));
                    if (out.size() < frame.size()) {
                        alignSamplesDropped_.store(
                            alignSamplesDropped_.load(std::memory_order_relaxed) + frame.size() -
                                out.size(),
                            std::memory_order_relaxed);
                        // The next trim waits for a full window that shows
                        // this one's effect: at most one splice per window,
                        // and none when trimming does not move playout
                        // (a server that refills its own buffer).
                        slackCount = 0;
                    }
                }
            }
        }
        if (result.frame == JitterBuffer::Frame::Decoded) {
            // Unsmoothed: the latency is that of the stream, not of the clock.
            const auto dueUs = static_cast<uint64_t>(due / 1000);
            if (auto captured = captureTimes_->find(result.sequence, dueUs)) {
                latency_.record(std::chrono::microseconds(dueUs - *captured));
            }
        }
        std::span<const int16_t> device = out;
        if (playbackResampler_) {
            device = std::span<const int16_t>(playbackResampled_)
                         .first(playbackResampler_->process(out, playbackResampled_));
        }
        playback_->write(device);
        if (echoReference_) {
            // The write measured snd_pcm_delay after it (all of it: a sound
            // server's latency beyond the buffer is time to the speaker too):
            // the last sample written plays that much after now.
            const int64_t queued = playback_->delayFrames() - static_cast<int64_t>(device.size());
            echoReference_->push(out, monotonicNs() + deviceNs(std::max<int64_t>(0, queued)) +
                                          playbackResamplerNs());
        }
        lastWrittenNs = samplesNs(static_cast<int64_t>(out.size()));
        bump(framesPlayed_);
        playerCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
    }
}

int64_t AudioPipeline::streamOffsetNs() const {
    // Frames queued in the device ahead of the next one written, at most the
    // buffer (a sound server may report more; that is its own buffering).
    const auto buffer = static_cast<int64_t>(playback_->params().bufferFrames);
    const int64_t queued = std::clamp<int64_t>(playback_->delayFrames(), 0, buffer);
    return deviceNs(queued - buffer) + playbackResamplerNs();
}

int64_t AudioPipeline::deviceNs(int64_t frames) const {
    return frames * 1'000'000'000 / static_cast<int64_t>(deviceRate_);
}

int64_t AudioPipeline::playbackResamplerNs() const {
    return playbackResampler_ ? playbackResampler_->delayNs() : 0;
}

AudioPipelineStats AudioPipeline::stats() const {
    const auto get = [](const std::atomic<uint64_t>& a) {
        return a.load(std::memory_order_relaxed);
    };
    AudioPipelineStats s;
    s.capture = capture_->stats();
    s.playback = playback_->stats();
    s.captureRing = ring_->stats();
    s.jitter = jitter_->stats();
    s.transport = transport_.stats();
    s.framesCaptured = get(framesCaptured_);
    s.framesEncoded = get(framesEncoded_);
    s.framesMuted = get(framesMuted_);
    s.packetsSent = get(packetsSent_);
    s.packetsSendDropped = get(packetsSendDropped_);
    s.packetsReceived = get(packetsReceived_);
    s.packetsDropped = get(packetsDropped_);
    s.framesPlayed = get(framesPlayed_);
    s.alignSamplesDropped = get(alignSamplesDropped_);
    s.feedbackSent = get(feedbackSent_);
    s.feedbackReceived = get(feedbackReceived_);
    s.feedbackMalformed = get(feedbackMalformed_);
    const int peerLoss = peerLossFraction_.load(std::memory_order_relaxed);
    s.peerReported = peerLoss >= 0;
    s.peerLossPercent = peerLoss >= 0 ? peerLoss * 100.0 / 256.0 : 0.0;
    s.peerJitter = std::chrono::microseconds(peerJitterUs_.load(std::memory_order_relaxed));
    s.reportedLossPercent = reportedLossFraction_.load(std::memory_order_relaxed) * 100.0 / 256.0;
    s.fecActive = fecActive_.load(std::memory_order_relaxed);
    s.fecExpectedLossPercent = fecExpectedLoss_.load(std::memory_order_relaxed);
    s.fecChanges = get(fecChanges_);
    s.latency = latency_.summary();
    s.echoCancelActive = processor_ && config_.echoCancel;
    s.noiseSuppressionActive = processor_ && config_.noiseSuppression;
    s.autoGainActive = processor_ && config_.autoGain;
    s.echoAttenuationDb = s.echoCancelActive ? processor_->erleDb() : 0.0;
    s.echoRealigns = echoReference_ ? echoReference_->realigns() : 0;
    s.recorderPriority = recorderPriority_.load(std::memory_order_relaxed);
    s.transmitterPriority = transmitterPriority_.load(std::memory_order_relaxed);
    s.receiverPriority = receiverPriority_.load(std::memory_order_relaxed);
    s.playerPriority = playerPriority_.load(std::memory_order_relaxed);
    s.realtimeViaRtkit = realtimeViaRtkit_.load(std::memory_order_relaxed);
    s.recorderCpu = std::chrono::nanoseconds(recorderCpuNs_.load(std::memory_order_relaxed));
    s.transmitterCpu = std::chrono::nanoseconds(transmitterCpuNs_.load(std::memory_order_relaxed));
    s.receiverCpu = std::chrono::nanoseconds(receiverCpuNs_.load(std::memory_order_relaxed));
    s.playerCpu = std::chrono::nanoseconds(playerCpuNs_.load(std::memory_order_relaxed));
    return s;
}

} // namespace voice
