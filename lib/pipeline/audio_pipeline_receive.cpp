// SPDX-License-Identifier: MIT
// AudioPipeline, the receiving half: the receiver (open, jitter buffer) and
// the player (playout alignment, device writes, echo reference).
#include "audio/alsa_pcm.h"
#include "audio/realtime.h"
#include "codec/codec_factory.h"
#include "core/deferred_log.h"
#include "core/log.h"
#include "core/spsc_queue.h"
#include "dsp/resampler.h"
#include "pipeline/audio_pipeline.h"
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

using namespace audio_pipeline_detail;

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
    leaveRealtime(); // before its buffers are freed and the thread exits (audio/realtime.h)
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
        const size_t live = playback_->write(device);
        if (echoReference_ && live > 0) {
            // Only what the device took is played: while a handle starts (an
            // idle PulseAudio null sink's first block after resuming lasts
            // up to 2 s) or is lost, write() discards the rest, and pushed,
            // the reference ran ahead of the speaker by all of it
            // (echo_path_test: 38-47 ms, the canceller restarted once a call).
            const size_t played =
                live >= device.size() ? out.size() : live * out.size() / device.size();
            // The write measured snd_pcm_delay after it (all of it: a sound
            // server's latency beyond the buffer is time to the speaker too):
            // the last sample written plays that much after now.
            const int64_t queued = playback_->delayFrames() - static_cast<int64_t>(live);
            // A delay longer than the reference spans is not the device's (a
            // sound server's figure before its timing is known): the write
            // is dated now and untimed, as when nothing was queued, rather
            // than marked seconds ahead (its mark would hold back every
            // later one until then).
            const int64_t queuedNs = deviceNs(std::max<int64_t>(0, queued));
            const bool believable = queuedNs <= echoReference_->spanNs();
            echoReference_->push(out.first(played),
                                 monotonicNs() + (believable ? queuedNs : 0) +
                                     playbackResamplerNs(),
                                 queued > 0 && believable);
        }
        lastWrittenNs = samplesNs(static_cast<int64_t>(out.size()));
        bump(framesPlayed_);
        playerCpuNs_.store(threadCpuNs(), std::memory_order_relaxed);
    }
    leaveRealtime(); // before its buffers are freed and the thread exits (audio/realtime.h)
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

} // namespace voice
