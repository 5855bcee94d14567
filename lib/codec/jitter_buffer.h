// SPDX-License-Identifier: MIT
// JitterBuffer: reorders received packets and plays them out on the player's clock.
//
// Design (see also the comments in jitter_buffer.cpp):
//
//   receiver thread ──push()──► PacketQueue (SPSC, fixed slots) ──► player thread
//                                                                   pull(): drain into the
//                                                                   reorder window, decode one
//                                                                   frame / FEC / conceal
//
// * Sequence numbers are 32-bit and wrap (serial-number arithmetic, RFC 1982);
//   internally they are extended to 64 bits. One sequence number = one frame.
// * Timestamps are 32-bit, wrapping, in samples at the stream rate (like RTP);
//   they only feed the RFC 3550 jitter estimate.
// * The playout delay of a frame is measured against the fastest transit seen
//   recently: delay = now - (senderTime(seq) + minTransit), minTransit being the
//   minimum of (arrival - senderTime) over the last 2..4 s, which also follows
//   clock drift between sender and player.
// * Target delay = margin + peak relative transit, the peak being the
//   second-highest recent one (a lone outlier is concealed rather than
//   followed). No frame term: the fastest transit already holds the sender's
//   frame of capture accumulation, so on a calm network a frame plays
//   `margin` after it could first have arrived.
//   Only while packets carry FEC (seen within the last kFecMemory frames) is
//   one frame added, so that the packet after a lost one has arrived when
//   the lost one is due.
//   The peak jumps up on the second late-ish packet, is held while packets
//   keep reaching it and for kPeakHold after, and then decays slowly
//   (kPeakDecayPerSecond), so the target grows quickly on jitter and shrinks
//   slowly when calm, and never exceeds maxDelay.
// * Below target the player inserts a concealed frame (stretch), unless the
//   frame (or, when it is lost, a later one) is there and less than half a
//   period short (pulls only sample the delay once a period); more than a
//   frame and a quarter above target it discards one buffered frame
//   (shrink).
// * A gap between two pulls longer than maxDelay (and three frames; the
//   player, or the whole process, was stopped: SIGSTOP, a suspended VM, a
//   device that blocked; shorter hiccups of a busy host are left to the
//   one-frame shrink)
//   skips playout forward to the frame due now at the target delay: the
//   frames buffered before it are discarded at once, and packets older than
//   it that arrive afterwards (the backlog the socket and the queue held
//   through the stall) are dropped as late without feeding the estimates, so
//   neither the delay nor the target is left high after the stall. For
//   kStallSettle after it, arrivals do not raise the jitter estimates
//   either: the receiver is still working through what piled up (socket,
//   queue, the relay's tunnel), so fresh packets are read late by our own
//   catch-up, not by the network.
#pragma once

#include "codec/decoder.h"
#include "codec/packet_queue.h"
#include "core/result.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

namespace voice {

struct JitterBufferConfig {
    /// Extra safety on top of the measured jitter.
    std::chrono::nanoseconds margin = std::chrono::milliseconds(2);
    /// The target delay never exceeds this. A stretch of nothing longer than
    /// this resynchronises to the next packet instead of stretching delay.
    std::chrono::nanoseconds maxDelay = std::chrono::milliseconds(200);
    /// Packets the receiver can queue between two pull() calls.
    size_t queueCapacity = 64;
};

/// Counters and gauges; every field is a snapshot read with relaxed atomics.
struct JitterBufferStats {
    uint64_t packetsReceived = 0; ///< accepted by push()
    uint64_t packetsOverflow = 0; ///< refused: queue full, too big, or far outside the window
    uint64_t packetsLost = 0;     ///< sequence numbers passed without their packet; counted
                                  ///< when the next packet plays (a pause is not a loss)
    uint64_t packetsLate = 0;     ///< arrived after their frame was passed (concealed,
                                  ///< rebuilt from FEC, or skipped in a stall)
    /// The late packets whose frame had been concealed or rebuilt from FEC,
    /// so also counted in packetsLost.
    uint64_t packetsLateMissed = 0;
    uint64_t packetsDuplicate = 0;   ///< same sequence number seen before
    uint64_t packetsDiscarded = 0;   ///< buffered frames dropped to shrink the delay
    uint64_t framesDecoded = 0;      ///< frames played from their own packet
    uint64_t framesFecRecovered = 0; ///< lost frames rebuilt from the next packet's FEC
    uint64_t framesConcealed = 0;    ///< frames made by Decoder::conceal() (loss, stretch, gaps)
    /// The concealed frames that came out below kQuietDbfs: a pause or a
    /// suppressed noise floor carried on, which nobody hears as a loss.
    uint64_t framesConcealedQuiet = 0;
    uint64_t framesInserted = 0;              ///< the concealed frames that stretched the delay
    uint64_t framesSilent = 0;                ///< silence before the first packet
    uint64_t decodeErrors = 0;                ///< payloads the decoder rejected (then concealed)
    uint64_t resyncs = 0;                     ///< restarts after a long gap
    uint64_t stalls = 0;                      ///< pull gaps after which playout skipped the backlog
    std::chrono::nanoseconds currentDelay{0}; ///< playout delay of the last frame played
    std::chrono::nanoseconds targetDelay{0};
    std::chrono::nanoseconds jitter{0}; ///< RFC 3550 interarrival jitter estimate

    /// Packets that never arrived (RFC 3550's "cumulative number of packets
    /// lost": a late packet is not lost, it was received). packetsLost counts
    /// every frame played without its packet; a late arrival is counted the
    /// moment it comes, its frame only when the run of missing ones ends, so
    /// the difference is held at 0 in between.
    uint64_t packetsNeverArrived() const {
        return packetsLost > packetsLateMissed ? packetsLost - packetsLateMissed : 0;
    }
};

class JitterBuffer {
public:
    /// Frames of history and look-ahead kept in the reorder window.
    static constexpr size_t kWindow = 128;
    /// A concealed frame whose RMS is below -50 dBFS counts as quiet
    /// (framesConcealedQuiet): 32768 * 10^(-50/20) = 103.6, squared.
    static constexpr int kQuietDbfs = -50;
    static constexpr uint64_t kQuietMeanSquare = 10737;
    /// How fast the peak transit (and so the target delay) falls when calm.
    static constexpr std::chrono::nanoseconds kPeakDecayPerSecond = std::chrono::milliseconds(4);
    /// How long the peak is held before it decays: jitter that comes back
    /// within this keeps the target where it was. A sound server that moves
    /// capture in blocks whose phase drifts (PulseAudio's null source) makes
    /// a sawtooth of up to a block in the transit, period about a second;
    /// decaying between its peaks would let every peak run the buffer dry.
    static constexpr std::chrono::nanoseconds kPeakHold = std::chrono::seconds(3);
    /// Length of one block of the sliding minimum-transit estimate.
    static constexpr std::chrono::nanoseconds kTransitBlock = std::chrono::seconds(2);
    /// Frames without FEC after which the target gives back the frame it
    /// keeps for FEC (about 5 s at 20 ms).
    static constexpr uint64_t kFecMemory = 250;
    /// How long after a stall arrivals do not count as jitter.
    static constexpr std::chrono::nanoseconds kStallSettle = std::chrono::seconds(2);

    /// What one pull() produced.
    enum class Frame : uint8_t {
        Silence,      ///< nothing received yet
        Decoded,      ///< the frame's own packet
        FecRecovered, ///< rebuilt from the following packet
        Concealed,    ///< PLC for a missing frame (its sequence number was passed; if a
                      ///< long gap turns out to be a sender pause, playout resumes at it)
        Inserted,     ///< PLC to grow the delay or while waiting after a gap
    };
    struct PullResult {
        Frame frame;
        uint32_t sequence; ///< the frame played (Decoded/FecRecovered/Concealed)
        /// How far the playout delay at `now` was above the target (negative:
        /// below it), for the frame played or, while buffering, the first
        /// frame waiting. The player uses it to align its schedule with the
        /// arrivals (AudioPipeline). Valid only when slackKnown (false before
        /// any packet arrived and while waiting after a long gap with nothing
        /// buffered).
        int64_t slackNs = 0;
        bool slackKnown = false;
    };

    /// Normal thread. `decoder` is used only by pull() on the player thread
    /// and must outlive the buffer. InvalidArgument when maxDelay does not fit
    /// the window for this frame size or the settings are out of range.
    static Result<std::unique_ptr<JitterBuffer>> make(Decoder& decoder,
                                                      const JitterBufferConfig& config = {});
    JitterBuffer(const JitterBuffer&) = delete;
    JitterBuffer& operator=(const JitterBuffer&) = delete;

    /// Receiver thread. Lock-free, no allocation. Queues one packet for the
    /// player; `arrival` is the receiver's monotonic clock (the same clock the
    /// player passes to pull()). Returns false when the packet was refused
    /// (queue full or payload over kMaxPayloadBytes); it is counted either way.
    bool push(uint32_t sequence, uint32_t timestamp, std::chrono::nanoseconds arrival,
              std::span<const uint8_t> payload);

    /// Player thread, once per frame period. Lock-free, no allocation.
    /// Drains what the receiver queued and writes exactly frameSamples()
    /// samples into `out` (which must hold that many). `now` is the player's
    /// monotonic clock; a clock that advances exactly one frame per call
    /// (counted from the audio device) gives the steadiest playout.
    PullResult pull(std::chrono::nanoseconds now, std::span<int16_t> out);

    /// Any thread.
    JitterBufferStats stats() const;
    size_t frameSamples() const { return frameSamples_; }
    std::chrono::nanoseconds frameDuration() const { return std::chrono::nanoseconds(frameNs_); }

private:
    enum class SlotState : uint8_t { Empty, Buffered, Played, Missed, LateSeen, Discarded };
    struct Slot {
        uint64_t sequence = 0; // extended
        SlotState state = SlotState::Empty;
        uint16_t size = 0;
        uint8_t payload[kMaxPayloadBytes];
    };
    enum class State : uint8_t { Idle, Buffering, Playing };

    JitterBuffer(Decoder& decoder, const JitterBufferConfig& config);

    void drain();
    void accept(const QueuedPacket& packet);
    void updateEstimates(uint64_t ext, const QueuedPacket& packet);
    uint64_t extend(uint32_t sequence) const;
    Slot* buffered(uint64_t ext);
    int64_t senderTimeNs(uint64_t ext) const;
    int64_t minTransitNs() const;
    int64_t targetNs() const;
    void startPlaying();
    void enterBuffering();
    void skipStaleBacklog(int64_t nowNs);
    PullResult playOne(std::span<int16_t> out);
    /// Decoder::conceal() into out, counted (and counted quiet when it is).
    void conceal(std::span<int16_t> out);
    PullResult insert(std::span<int16_t> out);
    static PullResult withSlack(PullResult r, int64_t slackNs) {
        r.slackNs = slackNs;
        r.slackKnown = true;
        return r;
    }
    static void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    Decoder& decoder_;
    const size_t frameSamples_;
    const int64_t frameNs_;
    const int64_t marginNs_;
    const int64_t maxDelayNs_;
    const uint32_t sampleRate_;
    PacketQueue queue_;

    // ---- Player thread only ----
    std::vector<Slot> window_; // kWindow slots, indexed by extended sequence % kWindow
    State state_ = State::Idle;
    bool hasPlayed_ = false; // something was played since construction
    uint64_t nextSeq_ = 0;   // next frame to play (Playing) or to start at (Buffering)
    uint64_t passedSeq_ = 0; // every sequence below this has been passed by playout
    uint64_t anchorSeq_ = 0; // sequence of the first packet: sender time 0
    uint64_t highestBuffered_ = 0;
    size_t bufferedCount_ = 0;
    size_t missingRun_ = 0; // consecutive frames played without a packet
    bool havePulled_ = false;
    int64_t lastPullNs_ = 0;
    uint64_t staleBelow_ = 0; // packets below this were skipped after a stall
    int64_t settleUntilNs_ = std::numeric_limits<int64_t>::min(); // see kStallSettle
    int64_t currentBlockMin_ = 0;
    int64_t previousBlockMin_ = 0;
    bool haveCurrentBlock_ = false;
    bool havePreviousBlock_ = false;
    int64_t blockStartNs_ = 0;
    int64_t highestNs_ = 0;   // highest relative transit, slowly decaying
    int64_t peakNs_ = 0;      // the second highest: what the target covers
    bool fecSeen_ = false;    // the stream carries FEC: keep the next packet buffered
    uint64_t lastFecSeq_ = 0; // the latest packet with FEC
    int64_t peakUpdatedNs_ = 0;
    int64_t peakReachedNs_ = 0; // arrival of the last packet at or above the peak
    bool haveLastArrival_ = false;
    int64_t lastArrivalNs_ = 0;
    uint32_t lastTimestamp_ = 0;
    double jitterNs_ = 0; // RFC 3550 J, in ns

    // ---- Written by one thread, read by any ----
    std::atomic<uint64_t> received_{0};       // receiver thread
    std::atomic<uint64_t> overflow_{0};       // receiver thread (queue) ...
    std::atomic<uint64_t> windowOverflow_{0}; // ... and player thread (window)
    std::atomic<uint64_t> lost_{0};
    std::atomic<uint64_t> late_{0};
    std::atomic<uint64_t> lateMissed_{0};
    std::atomic<uint64_t> duplicate_{0};
    std::atomic<uint64_t> discarded_{0};
    std::atomic<uint64_t> decoded_{0};
    std::atomic<uint64_t> fecRecovered_{0};
    std::atomic<uint64_t> concealed_{0};
    std::atomic<uint64_t> concealedQuiet_{0};
    std::atomic<uint64_t> inserted_{0};
    std::atomic<uint64_t> silent_{0};
    std::atomic<uint64_t> decodeErrors_{0};
    std::atomic<uint64_t> resyncs_{0};
    std::atomic<uint64_t> stalls_{0};
    std::atomic<int64_t> currentDelayNs_{0};
    std::atomic<int64_t> targetDelayNs_{0};
    std::atomic<int64_t> jitterStatNs_{0};
};

} // namespace voice
