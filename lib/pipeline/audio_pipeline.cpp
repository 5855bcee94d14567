// SPDX-License-Identifier: MIT
// AudioPipeline: the recorder, transmitter, receiver and player loops.
#include "pipeline/audio_pipeline.h"

#include "audio/realtime.h"
#include "codec/codec_factory.h"
#include "core/log.h"
#include "core/spsc_queue.h"
#include "pipeline/capture_time_table.h"
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
    for (const PcmConfig* pcm : {&capture, &playback}) {
        if (Status s = pcm->validate(); !s) {
            return s;
        }
        if (pcm->format.channels() != 1) {
            return Status(Errc::Unsupported, "the audio pipeline needs mono devices");
        }
        if (pcm->format.rate() != codec.sampleRate) {
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
    if (realtimePriority < 1 || realtimePriority > 99) {
        return Status(Errc::InvalidArgument, "real-time priority must be within 1..99");
    }
    return {};
}

AudioPipeline::AudioPipeline(const AudioPipelineConfig& config, MediaTransport& transport)
    : config_(config), transport_(transport) {}

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
    const auto ringFrames = static_cast<size_t>(config.captureBuffer.count()) * p->rate_ / 1000;
    p->ring_ = std::make_unique<AudioRing>(ringFrames, 1, OverflowPolicy::DropIncoming,
                                           UnderflowPolicy::Refuse);
    p->marks_ = std::make_unique<SpscQueue<CaptureMark>>(kMarkSlots);
    p->captureTimes_ = std::make_unique<CaptureTimeTable>();
    p->capture_ = std::make_unique<CaptureDevice>(config.capture, config.deviceOptions,
                                                  std::move(captureOpener));
    p->playback_ = std::make_unique<PlaybackDevice>(config.playback, config.deviceOptions,
                                                    std::move(playbackOpener));
    return p;
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
    LOG_INFO("audio pipeline started: %s, %lld us frames",
             std::string(codecName(config_.codec.codec)).c_str(),
             static_cast<long long>(config_.codec.frameDuration.count()));
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

void AudioPipeline::recorder() {
    nameThread("voice-recorder");
    if (config_.realtime) {
        if (auto prio = makeThreadRealtime(config_.realtimePriority)) {
            recorderPriority_.store(*prio, std::memory_order_relaxed);
        }
    }
    // Allocated before the real-time loop; one period of the device.
    std::vector<int16_t> period(std::max<size_t>(1, capture_->params().periodFrames));
    uint64_t position = 0; // frames stored in the ring so far
    while (running_.load(std::memory_order_acquire)) {
        capture_->read(period);
        const int64_t returned = monotonicNs();
        // The last frame read was captured before the frames the device
        // still holds; those came in after it.
        const int64_t delay = std::max<long>(0, capture_->delayFrames());
        const int64_t endNs = returned - delay * 1'000'000'000 / rate_;
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

void AudioPipeline::transmitter() {
    nameThread("voice-transmit");
    std::vector<int16_t> pcm(frameSamples_);
    std::vector<uint8_t> payload(kMaxPayloadBytes);
    std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
    MediaHeader header;
    header.kind = MediaKind::Audio;
    header.codec = static_cast<uint8_t>(config_.codec.codec);
    header.sessionId = config_.sessionId;
    header.fec = config_.codec.codec == CodecId::Opus && config_.codec.fec;
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
        header.timestampUs = captureTimeUs(position);
        position += frameSamples_;
        if (muted_.load(std::memory_order_relaxed)) {
            std::fill(pcm.begin(), pcm.end(), int16_t{0});
            bump(framesMuted_);
        }
        auto encoded = encoder_->encode(pcm, payload);
        bump(framesEncoded_);
        if (!encoded) {
            bump(packetsSendDropped_);
            continue;
        }
        auto sealed = sealer_->seal(header, std::span(payload.data(), *encoded), packet);
        if (!sealed) {
            bump(packetsSendDropped_);
            continue;
        }
        if (transport_.send(std::span(packet.data(), *sealed))) {
            bump(packetsSent_);
        } else {
            bump(packetsSendDropped_);
        }
        transmitterCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
    }
    transmitterCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
}

void AudioPipeline::receiver() {
    nameThread("voice-receive");
    std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
    std::vector<uint8_t> plaintext(MediaHeader::kMaxDatagram);
    const auto codec = static_cast<uint8_t>(config_.codec.codec);
    while (running_.load(std::memory_order_acquire)) {
        auto received = transport_.receive(packet, kPollInterval);
        if (!received) {
            if (received.status().code() == Errc::Closed) {
                break;
            }
            LOG_WARNING("media receive failed: %s", received.status().toString().c_str());
            continue;
        }
        if (*received == 0) {
            continue;
        }
        const int64_t arrival = monotonicNs() - epochNs_;
        auto opened = opener_->open(std::span(packet.data(), *received), plaintext);
        if (!opened || opened->header.kind != MediaKind::Audio || opened->header.codec != codec) {
            bump(packetsDropped_);
            continue;
        }
        const MediaHeader& h = opened->header;
        const auto sequence = static_cast<uint32_t>(h.sequence);
        // Samples at the stream rate, wrapping at 32 bits like RTP.
        const auto timestamp = static_cast<uint32_t>(h.timestampUs * rate_ / 1'000'000);
        // Before the push, so the player finds it when it plays the frame.
        captureTimes_->put(sequence, h.timestampUs);
        jitter_->push(sequence, timestamp, std::chrono::nanoseconds(arrival),
                      std::span(plaintext.data(), opened->plaintextSize));
        bump(packetsReceived_);
        receiverCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
    }
    receiverCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
}

void AudioPipeline::player() {
    nameThread("voice-player");
    if (config_.realtime) {
        if (auto prio = makeThreadRealtime(config_.realtimePriority)) {
            playerPriority_.store(*prio, std::memory_order_relaxed);
        }
    }
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
        const JitterBuffer::PullResult result =
            jitter_->pull(std::chrono::nanoseconds(clock), frame);
        std::span<const int16_t> out(frame);
        if (result.slackKnown) {
            if (result.frame == JitterBuffer::Frame::Silence && result.slackNs < 0 &&
                -result.slackNs < frameNs) {
                // Waiting for the first frame: play only the silence up to
                // the moment it is due, so it plays the moment it is ready.
                const int64_t missing = (-result.slackNs * rate_ + 999'999'999) / 1'000'000'000;
                out = out.first(static_cast<size_t>(std::max<int64_t>(1, missing)));
            } else if (result.frame != JitterBuffer::Frame::Silence &&
                       result.slackNs > kAlignAbove.count()) {
                // Frames wait longer than the target needs: shorten the
                // stream a little per frame until they play on time.
                const auto drop = static_cast<size_t>((result.slackNs - kAlignTo.count()) * rate_ /
                                                      1'000'000'000);
                if (drop > 0) {
                    out = std::span<const int16_t>(shortened).first(
                        aligner.shorten(frame, drop, shortened));
                    if (out.size() < frame.size()) {
                        alignSamplesDropped_.store(
                            alignSamplesDropped_.load(std::memory_order_relaxed) + frame.size() -
                                out.size(),
                            std::memory_order_relaxed);
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
        playback_->write(out);
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
    return (queued - buffer) * 1'000'000'000 / static_cast<int64_t>(rate_);
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
    s.latency = latency_.summary();
    s.recorderPriority = recorderPriority_.load(std::memory_order_relaxed);
    s.playerPriority = playerPriority_.load(std::memory_order_relaxed);
    s.recorderCpu = std::chrono::nanoseconds(recorderCpuNs_.load(std::memory_order_relaxed));
    s.transmitterCpu = std::chrono::nanoseconds(transmitterCpuNs_.load(std::memory_order_relaxed));
    s.receiverCpu = std::chrono::nanoseconds(receiverCpuNs_.load(std::memory_order_relaxed));
    s.playerCpu = std::chrono::nanoseconds(playerCpuNs_.load(std::memory_order_relaxed));
    return s;
}

} // namespace voice
