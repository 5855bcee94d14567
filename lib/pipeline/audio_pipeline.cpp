// SPDX-License-Identifier: MIT
// AudioPipeline: configuration, the devices fitted to the frame, start, stop
// and statistics. The loops are in audio_pipeline_send.cpp (recorder,
// transmitter) and audio_pipeline_receive.cpp (receiver, player).
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
#include "pipeline/audio_pipeline_internal.h"
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

namespace {

using namespace std::chrono_literals;

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
        playback.periodFrames = static_cast<uint32_t>(frameSamples);
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

} // namespace

using namespace audio_pipeline_detail;

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
    s.echoLastRealignUs = echoReference_ ? echoReference_->lastRealignUs() : 0;
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
