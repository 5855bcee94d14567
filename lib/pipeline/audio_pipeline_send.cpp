// SPDX-License-Identifier: MIT
// AudioPipeline, the sending half: the recorder (device -> capture ring, echo
// cancellation) and the transmitter (encode, seal, send, loss reports).
#include "audio/alsa_pcm.h"
#include "audio/realtime.h"
#include "codec/codec_factory.h"
#include "core/deferred_log.h"
#include "core/log.h"
#include "core/spsc_queue.h"
#include "dsp/capture_processor.h"
#include "dsp/resampler.h"
#include "pipeline/audio_pipeline.h"
#include "pipeline/audio_pipeline_internal.h"
#include "pipeline/capture_time_table.h"
#include "pipeline/echo_reference.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <pthread.h>
#include <string>
#include <system_error>
#include <vector>

namespace voice {

using namespace audio_pipeline_detail;

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
    leaveRealtime(); // before its buffers are freed and the thread exits (audio/realtime.h)
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
            // The reference jumped (a device reopened, an xrun): the
            // canceller's filter models the old alignment, and re-adapting
            // it in place took 4..6 s (echo_path_test blocks); a fresh one
            // converges from scratch.
            if (const uint64_t r = echoReference_->realigns(); r != echoRealignsSeen_) {
                echoRealignsSeen_ = r;
                processor_->resetEcho();
            }
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
    leaveRealtime(); // before its buffers are freed and the thread exits (audio/realtime.h)
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

} // namespace voice
