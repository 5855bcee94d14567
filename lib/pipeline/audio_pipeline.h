// SPDX-License-Identifier: MIT
// AudioPipeline: the four audio threads of a call, from microphone to network and network to
// speaker.
//
//  capture device ─► [recorder] ─► capture ring ─► [transmitter: encode → seal → send]
//                        └──► capture-time marks (SPSC) ──┘
//  playback device ◄─ [player] ◄─ jitter buffer ◄─ [receiver: receive → open → push]
//                        └─── capture time per sequence ◄──┘
//
// Threads and what they may do:
//  - recorder (real-time): CaptureDevice::read one period (on the device's
//    period grid, see CaptureDevice::read), note when it returned,
//    AudioRing::write. Never locks, allocates or logs (RT_LOG only).
//  - transmitter (real-time, one priority below recorder and player): waits
//    for a whole codec frame in the ring, encodes it (or silence while
//    muted, so the peer's jitter buffer keeps its rhythm), seals it with the
//    frame's capture time in MediaHeader::timestampUs, hands it to
//    MediaTransport::send (which drops rather than waits). When the receiver
//    queued a loss report, it rides in front of the frame
//    (MediaKind::Feedback, wire/loss_report.h).
//    With capture processing on (echoCancel, noiseSuppression, autoGain),
//    the transmitter first runs the frame through the CaptureProcessor
//    (dsp/capture_processor.h) in 10 ms blocks, each with the far-end block
//    the EchoReference (pipeline/echo_reference.h) gives for its capture
//    time; the player pushes every block it writes into that reference with
//    the time it will play (snd_pcm_delay after the write).
//  - receiver (real-time, as the transmitter): MediaTransport::receive,
//    MediaOpener::open (every bad packet is dropped silently and counted),
//    JitterBuffer::push. It also counts loss for this side's reports
//    (queued to the transmitter every feedbackInterval through an SPSC
//    queue) and hands the peer's reports to the FecController, whose
//    decision goes to Encoder::setFec (which only stores a request for the
//    transmitter's next encode()).
//  - player (real-time): JitterBuffer::pull one frame (decoded, FEC or
//    concealment — never a gap), PlaybackDevice::write, and for decoded
//    frames records now - capture time into the latency histogram.
//  - the control thread (the owner) calls start(), stop() and setMuted();
//    any thread may call stats() and muted().
// The four threads share nothing but single-producer/single-consumer
// structures and relaxed counters.
//
// Timestamps: the capture time of a frame is the CLOCK_MONOTONIC time (in
// microseconds) its first sample was captured: when the recorder's read
// returned, minus the frames still in the device buffer and the frames
// after it in the period. The JitterBuffer gets it in samples at the stream
// rate, truncated to 32 bits; sequence numbers are truncated to 32 bits the
// same way (the jitter buffer extends them again).
//
// Playout alignment. The player's schedule is the playback stream: each
// sample written plays one sample period after the previous one, so when a
// frame is played is fixed by how many samples went before it, not by when
// the player thread wakes. Left alone, that schedule has a phase unrelated
// to when frames arrive, and a frame waits up to a whole frame in the jitter
// buffer. Instead the jitter buffer reports, with every frame, how far its
// playout delay is above its target (PullResult::slackNs), and the player
// follows the arrivals:
//  - while waiting for the first frame it writes only the silence up to the
//    moment that frame is due (the initial phase is right from the start);
//  - when every one of the last 8 frames waited more than 1 ms beyond the
//    target (measured at the stream's time, not the smoothed clock) it
//    shortens the stream by up to a quarter frame (at most 2.5 ms) with a
//    pitch-synchronous splice (PlayoutAligner) towards 0.25 ms, then waits
//    for 8 more frames (the smallest of the 8 counts, so one early-looking
//    frame never trims, and at most one frame in 8 is spliced);
//  - when they are late the jitter buffer stretches by a whole concealed
//    frame as before (grow fast), and the surplus is then trimmed again.
// So the target (margin + measured jitter) is followed continuously, and the
// jitter buffer's own one-frame shrink is left for large surpluses.
//
// Latency, exactly: from the capture time of a decoded frame's first sample
// (above) to the time that sample is played by the playback device minus
// the device's buffer length (snd_pcm_delay before the write, clamped to
// the buffer, gives the frames played ahead of it). With a blocking writer
// that keeps the buffer full this is the moment the frame is handed to the
// device; "minus the buffer" keeps the device buffer (a fixed cost, see
// AudioDevice::delay()) out while still counting every sample the stream
// gained or lost. It spans capture accumulation of the frame, encode,
// seal, transport, the jitter buffer, decode and the alignment; it does not
// include the codec's algorithmic delay (Opus look-ahead, 6.5 ms), which
// lies inside the decoded audio. Both ends must read the same clock (true in
// tests; across hosts it measures the clock offset too).
#pragma once

#include "audio/capture_device.h"
#include "audio/playback_device.h"
#include "codec/codec_config.h"
#include "codec/fec_controller.h"
#include "codec/jitter_buffer.h"
#include "core/audio_ring.h"
#include "core/result.h"
#include "crypto/media_cipher.h"
#include "pipeline/latency_histogram.h"
#include "pipeline/media_transport.h"
#include "wire/loss_report.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

namespace voice {

class CaptureProcessor;
class Decoder;
class EchoReference;
class Resampler;
class Encoder;
class CaptureTimeTable;
struct CaptureMark;
template <typename T>
class SpscQueue;

struct AudioPipelineConfig {
    /// Devices; both mono at the codec's sample rate. The player writes
    /// whole codec frames: with 20 ms frames through a sound server a
    /// playback buffer of 8 x 5 ms rode out load spikes that 4 x 5 ms did
    /// not (tests/pipeline/pipeline_pulse_test.cpp).
    PcmConfig capture;
    PcmConfig playback;
    AudioDeviceOptions deviceOptions;
    /// AllowMissing: start even without the devices, which are then reopened
    /// in the background while the call runs.
    AudioDevice::OpenMode openMode = AudioDevice::OpenMode::RequireDevice;
    CodecConfig codec;
    JitterBufferConfig jitter;
    /// Written into every packet header (the sender's per-call token).
    uint64_t sessionId = 0;
    /// The direction this side sends in; it receives the other one.
    MediaDirection sendDirection = MediaDirection::CallerToCallee;
    /// Ask for SCHED_FIFO for the recorder and the player at
    /// realtimePriority, and for the transmitter and the receiver one below
    /// (carry on without). Every frame crosses all four threads, so a
    /// transmitter or receiver left to the normal scheduler adds its wake-up
    /// delay on a busy host (several ms) to the jitter the peer's buffer
    /// must cover; neither thread runs long (one encode or decrypt per frame).
    bool realtime = true;
    int realtimePriority = 20;
    /// The CPU for all of the call's audio work: the four threads and the
    /// threads a device opens (a sound server's client thread), which get
    /// it from the thread that opens the device (audio/cpu_placement.h for
    /// why). None: the scheduler places them.
    std::optional<int> cpu;
    /// Capacity of the capture ring; audio beyond it is dropped and counted.
    std::chrono::milliseconds captureBuffer{200};
    /// Fit the devices to the codec frame. The recorder sleeps until a
    /// whole frame should be in, waits on the device (one period) for the
    /// rest and takes the frame and all else that is ready in one read; the
    /// player waits for room for a whole frame (avail_min, and a timer when
    /// a frame spans periods: ALSA's pulse plugin wakes per period whatever
    /// avail_min says). Each buffer grows to hold a frame and room to
    /// spare. A capture period left to the default is cut to a quarter of
    /// the frame and 2.5 ms at most; a playback period left to the default
    /// becomes the frame, which a sound server then asks for once per
    /// frame. A frame is still read the moment its last period is in; a
    /// 20 ms frame costs the recorder two wake-ups, not one per period.
    /// Settings made in `capture`/`playback` stay.
    bool wakePerFrame = true;
    /// Playout alignment (above). Off: the player writes whole frames at the
    /// device's own phase (bit-exact PCM playout, a frame more of latency).
    bool alignPlayout = true;
    /// Loss feedback (issue 8): how often the receiver reports loss and
    /// jitter to the peer (in front of an outgoing frame, see
    /// wire/loss_report.h), and whether the peer's reports drive this side's
    /// Opus in-band FEC (Auto) or are only shown (Off).
    std::chrono::milliseconds feedbackInterval{500};
    FecMode fecMode = FecMode::Auto;
    FecControllerConfig fecController;
    /// Capture processing (lib/dsp, issue 18), on the transmitter thread in
    /// 10 ms blocks before encoding: echo cancellation against what the
    /// player wrote (pipeline/echo_reference.h), then noise suppression and
    /// gain control. Off here; voiced turns them on by default. Frames that
    /// are not a whole number of 10 ms blocks (PCM 5 ms) run without it.
    bool echoCancel = false;
    bool noiseSuppression = false;
    bool autoGain = false;

    /// Ok, or InvalidArgument/Unsupported naming the setting that is wrong.
    Status validate() const;
};

/// Everything the pipeline counts. Any thread; relaxed snapshots.
struct AudioPipelineStats {
    AudioDeviceStats capture;
    AudioDeviceStats playback;
    AudioRingStats captureRing;
    JitterBufferStats jitter;
    MediaTransportStats transport;

    uint64_t framesCaptured = 0;      ///< device frames read by the recorder
    uint64_t framesEncoded = 0;       ///< codec frames encoded (muted ones included)
    uint64_t framesMuted = 0;         ///< codec frames sent as silence because muted
    uint64_t packetsSent = 0;         ///< accepted by MediaTransport::send
    uint64_t packetsSendDropped = 0;  ///< refused by send (full) or not sealed/encoded
    uint64_t packetsReceived = 0;     ///< authentic packets pushed to the jitter buffer
    uint64_t packetsDropped = 0;      ///< received but not authentic, replayed, or wrong codec
    uint64_t framesPlayed = 0;        ///< codec frames written to the playback device
    uint64_t alignSamplesDropped = 0; ///< samples the playout alignment removed
    /// Loss feedback. "peer" = what the other side reported about the audio
    /// this side sends; "reported" = what this side last told the peer.
    uint64_t feedbackSent = 0;      ///< loss reports sent
    uint64_t feedbackReceived = 0;  ///< valid loss reports received
    uint64_t feedbackMalformed = 0; ///< authentic packets with a bad report (dropped)
    bool peerReported = false;      ///< a report arrived at all
    double peerLossPercent = 0;     ///< loss over the peer's last interval
    std::chrono::microseconds peerJitter{0};
    double reportedLossPercent = 0;
    /// In-band FEC of this side's encoder now, and the loss it plans for.
    bool fecActive = false;
    int fecExpectedLossPercent = 0;
    uint64_t fecChanges = 0; ///< times the controller changed the encoder's FEC settings
    /// Capture processing in use (false when off or impossible for the frame).
    bool echoCancelActive = false;
    bool noiseSuppressionActive = false;
    bool autoGainActive = false;
    double echoAttenuationDb = 0;  ///< the echo canceller's ERLE estimate now
    uint64_t echoRealigns = 0;     ///< far-end reference jumps (delay changed)
    int64_t echoLastRealignUs = 0; ///< the last jump (EchoReference::lastRealignUs)
    /// Capture-to-playout latency of decoded frames, excluding device buffers.
    LatencySummary latency;
    /// Real-time priority each thread got; 0 = none (not asked or refused).
    int recorderPriority = 0;
    int transmitterPriority = 0;
    int receiverPriority = 0;
    int playerPriority = 0;
    /// The real-time priorities came from RTKit (SCHED_FIFO was refused).
    bool realtimeViaRtkit = false;
    /// CPU time each thread has used so far.
    std::chrono::nanoseconds recorderCpu{0};
    std::chrono::nanoseconds transmitterCpu{0};
    std::chrono::nanoseconds receiverCpu{0};
    std::chrono::nanoseconds playerCpu{0};
};

class AudioPipeline {
public:
    /// Control thread. Builds everything that allocates: the devices
    /// (`captureOpener`/`playbackOpener` nullptr = real ALSA), codec,
    /// jitter buffer, rings and buffers. `transport` must outlive the
    /// pipeline; stop() shuts it down. Nothing runs until start().
    static Result<std::unique_ptr<AudioPipeline>>
    make(const AudioPipelineConfig& config, MediaTransport& transport,
         std::unique_ptr<MediaSealer> sealer, std::unique_ptr<MediaOpener> opener,
         std::unique_ptr<PcmOpener> captureOpener = nullptr,
         std::unique_ptr<PcmOpener> playbackOpener = nullptr);

    /// Stops (joins every thread) if still running.
    ~AudioPipeline();
    AudioPipeline(const AudioPipeline&) = delete;
    AudioPipeline& operator=(const AudioPipeline&) = delete;

    /// Control thread. Opens both devices and starts the four threads.
    /// A pipeline runs once: after stop(), start() returns Closed.
    Status start();

    /// Control thread. Stops the four threads and joins them (within about
    /// one device period or codec frame), shuts the transport down and
    /// closes the devices. Idempotent.
    void stop();

    bool running() const { return running_.load(std::memory_order_acquire); }

    /// Any thread. While muted the transmitter sends encoded silence, so the
    /// peer keeps receiving a steady stream.
    void setMuted(bool muted) { muted_.store(muted, std::memory_order_relaxed); }
    bool muted() const { return muted_.load(std::memory_order_relaxed); }

    /// Any thread.
    AudioPipelineStats stats() const;

    const AudioPipelineConfig& config() const { return config_; }

private:
    AudioPipeline(const AudioPipelineConfig& config, MediaTransport& transport);

    /// At the start of a thread: onto config_.cpu when set, then SCHED_FIFO
    /// at `priority` (at least 1) when config_.realtime, noting what it got
    /// in `got`.
    void setUpAudioThread(std::atomic<int>& got, int priority);
    void recorder();
    void transmitter();
    void receiver();
    void player();
    /// Transmitter thread: capture time (us) of the frame starting at ring position pos.
    uint64_t captureTimeUs(uint64_t pos);
    /// Player thread: when the next sample written will play, relative to
    /// now, minus the playback buffer length (<= 0).
    int64_t streamOffsetNs() const;
    /// Frames at the device rate as ns.
    int64_t deviceNs(int64_t frames) const;
    /// What the playback resampler adds to the time to the speaker (0 without one).
    int64_t playbackResamplerNs() const;
    /// Receiver thread: counts an authentic packet for the loss report and
    /// queues a report for the transmitter once an interval has passed.
    void noteForReport(uint64_t sequence, int64_t nowNs);
    /// Receiver thread: a report from the peer; false when it is malformed.
    bool takePeerReport(std::span<const uint8_t> block, int64_t nowNs);
    /// make(): the capture processor and echo reference the config asks for.
    Status makeCaptureProcessing();
    /// Transmitter thread: runs a frame captured at `captureNs` through the
    /// capture processor in 10 ms blocks, with the far end from the player.
    void processCapture(std::span<int16_t> pcm, int64_t captureNs, std::span<int16_t> farBlock);

    const AudioPipelineConfig config_;
    MediaTransport& transport_;
    std::unique_ptr<CaptureDevice> capture_;
    std::unique_ptr<PlaybackDevice> playback_;
    std::unique_ptr<Encoder> encoder_;
    std::unique_ptr<Decoder> decoder_;
    std::unique_ptr<JitterBuffer> jitter_;
    std::unique_ptr<MediaSealer> sealer_;
    std::unique_ptr<MediaOpener> opener_;
    std::unique_ptr<AudioRing> ring_;
    std::unique_ptr<SpscQueue<CaptureMark>> marks_;
    std::unique_ptr<CaptureTimeTable> captureTimes_;
    std::unique_ptr<CaptureProcessor> processor_;    // transmitter thread
    std::unique_ptr<EchoReference> echoReference_;   // player -> transmitter
    uint64_t echoRealignsSeen_ = 0;                  // transmitter thread
    std::unique_ptr<SpscQueue<LossReport>> reports_; // receiver -> transmitter
    FecController fecController_;                    // receiver thread
    LatencyHistogram latency_;
    size_t frameSamples_ = 0;
    uint32_t rate_ = 48000; // the codec's
    // The devices' rate, and a codec frame at it. When it differs from the
    // codec's (Opus on a 44.1 kHz device), the recorder resamples what it
    // reads and the player what it writes (speexdsp, lib/dsp/resampler.h).
    uint32_t deviceRate_ = 48000;
    size_t deviceFrameSamples_ = 0;
    std::unique_ptr<Resampler> captureResampler_;  // recorder thread
    std::unique_ptr<Resampler> playbackResampler_; // player thread
    std::vector<int16_t> captureResampled_, playbackResampled_;

    /// CLOCK_MONOTONIC (ns) at which the jitter buffer's clock (arrival
    /// and pull times) is zero; set by start() before the threads exist.
    int64_t epochNs_ = 0;
    std::atomic<bool> running_{false};
    bool started_ = false; // control thread
    std::atomic<bool> muted_{false};
    std::thread recorderThread_, transmitterThread_, receiverThread_, playerThread_;

    // Transmitter thread only: the last capture mark consumed.
    uint64_t lastMarkEnd_ = 0;
    uint64_t lastMarkUs_ = 0;
    bool haveMark_ = false;

    // Receiver thread only: the loss report being counted.
    bool reportStarted_ = false;
    int64_t reportStartNs_ = 0;
    uint64_t reportBaseSeq_ = 0; // highest sequence before the interval (or first - 1)
    uint64_t reportHighest_ = 0;
    uint64_t reportReceived_ = 0;

    // Counters: each written by one thread, read by any.
    std::atomic<uint64_t> feedbackSent_{0};
    std::atomic<uint64_t> feedbackReceived_{0};
    std::atomic<uint64_t> feedbackMalformed_{0};
    std::atomic<int> peerLossFraction_{-1}; // -1: none yet
    std::atomic<uint32_t> peerJitterUs_{0};
    std::atomic<int> reportedLossFraction_{0};
    std::atomic<bool> fecActive_{false};
    std::atomic<int> fecExpectedLoss_{0};
    std::atomic<uint64_t> fecChanges_{0};
    std::atomic<uint64_t> framesCaptured_{0};
    std::atomic<uint64_t> framesEncoded_{0};
    std::atomic<uint64_t> framesMuted_{0};
    std::atomic<uint64_t> packetsSent_{0};
    std::atomic<uint64_t> packetsSendDropped_{0};
    std::atomic<uint64_t> packetsReceived_{0};
    std::atomic<uint64_t> packetsDropped_{0};
    std::atomic<uint64_t> framesPlayed_{0};
    std::atomic<uint64_t> alignSamplesDropped_{0};
    std::atomic<int> recorderPriority_{0};
    std::atomic<int> transmitterPriority_{0};
    std::atomic<int> receiverPriority_{0};
    std::atomic<int> playerPriority_{0};
    std::atomic<bool> realtimeViaRtkit_{false};
    std::atomic<int64_t> recorderCpuNs_{0};
    std::atomic<int64_t> transmitterCpuNs_{0};
    std::atomic<int64_t> receiverCpuNs_{0};
    std::atomic<int64_t> playerCpuNs_{0};
};

} // namespace voice
