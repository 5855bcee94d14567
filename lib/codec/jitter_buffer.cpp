// SPDX-License-Identifier: MIT
// JitterBuffer: reorder window, delay estimate and playout decisions.
#include "codec/jitter_buffer.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <string>

namespace voice {
namespace {

// Extended sequence numbers start high so that packets reordered before the
// very first one still have a positive extended number.
constexpr uint64_t kExtendedBase = uint64_t{1} << 40;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

} // namespace

Result<std::unique_ptr<JitterBuffer>> JitterBuffer::make(Decoder& decoder,
                                                         const JitterBufferConfig& config) {
    if (decoder.sampleRate() == 0 || decoder.frameSamples() == 0) {
        return Status(Errc::InvalidArgument, "jitter buffer needs a decoder with a frame size");
    }
    const int64_t frameNs = static_cast<int64_t>(decoder.frameSamples()) * kNanosPerSecond /
                            static_cast<int64_t>(decoder.sampleRate());
    if (config.margin.count() < 0 || config.margin > std::chrono::milliseconds(100)) {
        return Status(Errc::InvalidArgument, "jitter buffer margin must be within 0..100 ms");
    }
    if (config.maxDelay.count() < frameNs + config.margin.count()) {
        return Status(Errc::InvalidArgument,
                      "jitter buffer max delay must hold at least one frame plus the margin");
    }
    // The window must hold the whole delay plus room for reordering ahead
    // and the history that tells late packets from duplicates.
    const int64_t maxFrames = config.maxDelay.count() / frameNs + 2;
    if (maxFrames > static_cast<int64_t>(kWindow / 2)) {
        return Status(Errc::InvalidArgument,
                      "jitter buffer max delay of " + std::to_string(maxFrames) +
                          " frames does not fit the window (" + std::to_string(kWindow / 2) +
                          " frames); use a longer frame or a shorter max delay");
    }
    if (config.queueCapacity == 0 || config.queueCapacity > 4096) {
        return Status(Errc::InvalidArgument, "jitter buffer queue capacity must be 1..4096");
    }
    return std::unique_ptr<JitterBuffer>(new JitterBuffer(decoder, config));
}

JitterBuffer::JitterBuffer(Decoder& decoder, const JitterBufferConfig& config)
    : decoder_(decoder), frameSamples_(decoder.frameSamples()),
      frameNs_(static_cast<int64_t>(decoder.frameSamples()) * kNanosPerSecond /
               static_cast<int64_t>(decoder.sampleRate())),
      marginNs_(config.margin.count()), maxDelayNs_(config.maxDelay.count()),
      sampleRate_(decoder.sampleRate()), queue_(config.queueCapacity), window_(kWindow) {
    targetDelayNs_.store(targetNs(), std::memory_order_relaxed);
}

bool JitterBuffer::push(uint32_t sequence, uint32_t timestamp, std::chrono::nanoseconds arrival,
                        std::span<const uint8_t> payload) {
    if (!queue_.push(sequence, timestamp, arrival.count(), payload)) {
        bump(overflow_);
        return false;
    }
    bump(received_);
    return true;
}

JitterBufferStats JitterBuffer::stats() const {
    const auto get = [](const std::atomic<uint64_t>& a) {
        return a.load(std::memory_order_relaxed);
    };
    JitterBufferStats s;
    s.packetsReceived = get(received_);
    s.packetsOverflow = get(overflow_) + get(windowOverflow_);
    s.packetsLost = get(lost_);
    s.packetsLate = get(late_);
    s.packetsLateMissed = get(lateMissed_);
    s.packetsDuplicate = get(duplicate_);
    s.packetsDiscarded = get(discarded_);
    s.framesDecoded = get(decoded_);
    s.framesFecRecovered = get(fecRecovered_);
    s.framesConcealed = get(concealed_);
    s.framesConcealedQuiet = get(concealedQuiet_);
    s.framesInserted = get(inserted_);
    s.framesSilent = get(silent_);
    s.decodeErrors = get(decodeErrors_);
    s.resyncs = get(resyncs_);
    s.stalls = get(stalls_);
    s.currentDelay = std::chrono::nanoseconds(currentDelayNs_.load(std::memory_order_relaxed));
    s.targetDelay = std::chrono::nanoseconds(targetDelayNs_.load(std::memory_order_relaxed));
    s.jitter = std::chrono::nanoseconds(jitterStatNs_.load(std::memory_order_relaxed));
    return s;
}

uint64_t JitterBuffer::extend(uint32_t sequence) const {
    // Serial-number arithmetic: the packet is the one nearest to nextSeq_,
    // so 32-bit wrap-around is invisible as long as reordering stays within
    // 2^31 packets.
    const auto delta = static_cast<int32_t>(sequence - static_cast<uint32_t>(nextSeq_));
    return nextSeq_ + static_cast<uint64_t>(static_cast<int64_t>(delta));
}

JitterBuffer::Slot* JitterBuffer::buffered(uint64_t ext) {
    Slot& slot = window_[ext % kWindow];
    return slot.sequence == ext && slot.state == SlotState::Buffered ? &slot : nullptr;
}

int64_t JitterBuffer::senderTimeNs(uint64_t ext) const {
    return static_cast<int64_t>(ext - anchorSeq_) * frameNs_;
}

int64_t JitterBuffer::minTransitNs() const {
    if (haveCurrentBlock_ && havePreviousBlock_) {
        return std::min(currentBlockMin_, previousBlockMin_);
    }
    return haveCurrentBlock_ ? currentBlockMin_ : previousBlockMin_;
}

int64_t JitterBuffer::targetNs() const {
    // No frame term for the audio itself: the delay is measured against the
    // fastest transit, which already contains the sender's frame of capture
    // accumulation. A stream with FEC keeps one frame more, so that the
    // packet after a lost one is there to rebuild it from.
    // FEC counts while it was seen within the last kFecMemory frames: the
    // sender turns it off after a calm period, and then the frame is given back.
    const bool fec = fecSeen_ && nextSeq_ < lastFecSeq_ + kFecMemory;
    return std::min(maxDelayNs_, marginNs_ + peakNs_ + (fec ? frameNs_ : 0));
}

void JitterBuffer::drain() {
    while (const QueuedPacket* packet = queue_.front()) {
        accept(*packet);
        queue_.pop();
    }
}

void JitterBuffer::accept(const QueuedPacket& packet) {
    if (state_ == State::Idle) {
        anchorSeq_ = kExtendedBase | packet.sequence;
        nextSeq_ = anchorSeq_;
        state_ = State::Buffering;
    }
    const uint64_t ext = extend(packet.sequence);

    if (ext < passedSeq_) {
        // Its frame has been played, concealed or skipped already.
        Slot& slot = window_[ext % kWindow];
        if (slot.sequence == ext && slot.state != SlotState::Missed) {
            bump(duplicate_);
            return;
        }
        if (slot.sequence == ext) {
            slot.state = SlotState::LateSeen; // a second copy is a duplicate
            bump(lateMissed_);
        }
        bump(late_);
        if (ext < staleBelow_) {
            // Held up by our own stall, not by the network: it says nothing
            // about the jitter to cover.
            return;
        }
        // Late packets are the best evidence that the delay is too short.
        updateEstimates(ext, packet);
        return;
    }

    if (state_ == State::Buffering) {
        if (bufferedCount_ == 0) {
            // (Re)start from whatever comes first, and measure sender time
            // from here, so it stays small however far the stream jumped.
            nextSeq_ = ext;
            anchorSeq_ = ext;
            haveCurrentBlock_ = false;
            havePreviousBlock_ = false;
        } else if (ext < nextSeq_) {
            if (highestBuffered_ - ext >= kWindow) {
                bump(windowOverflow_);
                return;
            }
            nextSeq_ = ext; // reordered before the first buffered packet
        }
    }
    if (ext >= nextSeq_ + kWindow) {
        // Far ahead of playout: a sender that jumped, or garbage. Never
        // grows memory; a real jump is picked up after the gap times out.
        bump(windowOverflow_);
        return;
    }
    Slot& slot = window_[ext % kWindow];
    if (slot.sequence == ext && slot.state == SlotState::Buffered) {
        bump(duplicate_);
        return;
    }
    slot.sequence = ext;
    slot.state = SlotState::Buffered;
    slot.size = packet.size;
    std::memcpy(slot.payload, packet.payload, packet.size);
    if (decoder_.hasFec({slot.payload, slot.size}) && (!fecSeen_ || ext > lastFecSeq_)) {
        fecSeen_ = true;
        lastFecSeq_ = ext;
    }
    if (bufferedCount_ == 0 || ext > highestBuffered_) {
        highestBuffered_ = ext;
    }
    ++bufferedCount_;
    updateEstimates(ext, packet);
}

void JitterBuffer::updateEstimates(uint64_t ext, const QueuedPacket& packet) {
    const int64_t arrival = packet.arrivalNs;
    // Read late by our own catch-up after a stall (kStallSettle), not by the network.
    const bool settling = arrival < settleUntilNs_;

    // RFC 3550 section 6.4.1 interarrival jitter, in arrival order.
    if (haveLastArrival_ && !settling) {
        const auto tsDelta = static_cast<int32_t>(packet.timestamp - lastTimestamp_);
        const int64_t tsDeltaNs = int64_t{tsDelta} * kNanosPerSecond / sampleRate_;
        const double d = static_cast<double>((arrival - lastArrivalNs_) - tsDeltaNs);
        jitterNs_ += (std::fabs(d) - jitterNs_) / 16.0;
        jitterStatNs_.store(static_cast<int64_t>(jitterNs_), std::memory_order_relaxed);
    }
    haveLastArrival_ = true;
    lastArrivalNs_ = arrival;
    lastTimestamp_ = packet.timestamp;

    // Sliding minimum of the transit time (up to an unknown clock offset)
    // over two blocks: it follows drift and route changes within 2..4 s.
    const int64_t transit = arrival - senderTimeNs(ext);
    if (!haveCurrentBlock_ || arrival - blockStartNs_ >= kTransitBlock.count()) {
        if (haveCurrentBlock_) {
            previousBlockMin_ = currentBlockMin_;
            havePreviousBlock_ = true;
        }
        currentBlockMin_ = transit;
        blockStartNs_ = arrival;
        haveCurrentBlock_ = true;
    } else {
        currentBlockMin_ = std::min(currentBlockMin_, transit);
    }
    if (settling) {
        return; // the minimum above only falls: a packet that came in time still counts
    }

    // Peak of the transit above that minimum: up at once, down slowly. The
    // target follows the second-highest recent value, so one packet held up
    // alone (a sender or relay that was not scheduled for 30 ms on a busy
    // host) costs one concealed frame instead of raising the delay of every
    // frame for the seconds the peak takes to decay; a second late packet
    // while the first is remembered shows real jitter and the target jumps.
    const int64_t relative = std::min(transit - minTransitNs(), maxDelayNs_);
    if (arrival > peakUpdatedNs_) {
        // Only the time since the hold ran out decays. Cap it so the product
        // cannot overflow (arrival is a raw monotonic clock and the times
        // start at 0); 100 s of decay already takes any peak to zero.
        const int64_t from = std::max(peakUpdatedNs_, peakReachedNs_ + kPeakHold.count());
        const int64_t elapsed = std::clamp<int64_t>(arrival - from, 0, 100 * kNanosPerSecond);
        const int64_t decay = elapsed * kPeakDecayPerSecond.count() / kNanosPerSecond;
        highestNs_ = std::max<int64_t>(0, highestNs_ - decay);
        peakNs_ = std::max<int64_t>(0, peakNs_ - decay);
        peakUpdatedNs_ = arrival;
    }
    if (relative > highestNs_) {
        peakNs_ = highestNs_;
        highestNs_ = relative;
    } else {
        peakNs_ = std::max(peakNs_, relative);
    }
    if (relative >= peakNs_) {
        peakReachedNs_ = arrival;
    }
    targetDelayNs_.store(targetNs(), std::memory_order_relaxed);
}

void JitterBuffer::startPlaying() {
    if (hasPlayed_) {
        // Resuming after a gap: the frames between the old and the new
        // position were never played.
        bump(lost_, nextSeq_ - passedSeq_);
        bump(resyncs_);
    }
    passedSeq_ = nextSeq_;
    missingRun_ = 0;
    state_ = State::Playing;
}

void JitterBuffer::enterBuffering() {
    // Nothing for longer than the maximum delay: wait for the stream to come
    // back and start over from its new position, measuring transit afresh
    // (the sender may have paused, or the route changed). The frames
    // concealed in this run are not counted lost yet: if the sender only
    // paused, its next packet continues right where the run began and
    // playout resumes there; if packets were lost, startPlaying() counts the
    // whole gap.
    passedSeq_ = nextSeq_ - missingRun_;
    nextSeq_ = passedSeq_;
    missingRun_ = 0;
    state_ = State::Buffering;
    haveCurrentBlock_ = false;
    havePreviousBlock_ = false;
}

void JitterBuffer::skipStaleBacklog(int64_t nowNs) {
    bump(stalls_);
    settleUntilNs_ = nowNs + kStallSettle.count();
    if (state_ == State::Idle || (!haveCurrentBlock_ && !havePreviousBlock_)) {
        return; // nothing to skip, or no transit to tell the due frame by
    }
    // The frame due now at the target delay. Sender time, transit and the
    // target are those from before the stall: the stall was ours, the
    // sender and the path went on as they were.
    const int64_t dueSenderNs = nowNs - minTransitNs() - targetNs();
    if (dueSenderNs < senderTimeNs(nextSeq_) + frameNs_) {
        return; // less than a frame behind: the usual shrink handles it
    }
    const uint64_t due = anchorSeq_ + static_cast<uint64_t>(dueSenderNs / frameNs_);
    for (Slot& slot : window_) {
        if (slot.state == SlotState::Buffered && slot.sequence < due) {
            slot.state = SlotState::Discarded;
            --bufferedCount_;
            bump(discarded_);
        }
    }
    // The frames skipped were never played; those of a run of missing ones
    // before the stall are lost now.
    bump(lost_, missingRun_);
    missingRun_ = 0;
    bump(resyncs_);
    nextSeq_ = due;
    passedSeq_ = due;
    staleBelow_ = due;
    // Playing (not Buffering): a restart from the next packet would anchor
    // the transit at a stale one. Nothing buffered: concealment until the
    // frame due arrives, or a resync after maxDelay without any.
    state_ = State::Playing;
}

JitterBuffer::PullResult JitterBuffer::insert(std::span<int16_t> out) {
    if (!hasPlayed_) {
        std::fill_n(out.begin(), frameSamples_, int16_t{0});
        bump(silent_);
        return {Frame::Silence, 0};
    }
    conceal(out);
    bump(inserted_);
    return {Frame::Inserted, static_cast<uint32_t>(nextSeq_)};
}

JitterBuffer::PullResult JitterBuffer::pull(std::chrono::nanoseconds now, std::span<int16_t> out) {
    assert(out.size() >= frameSamples_);
    const int64_t nowNs = now.count();
    // Before drain(): what the receiver queued during the stall must not
    // reach the estimates before its frames are known to be stale.
    if (havePulled_ && nowNs - lastPullNs_ > std::max(maxDelayNs_, 3 * frameNs_)) {
        skipStaleBacklog(nowNs);
    }
    havePulled_ = true;
    lastPullNs_ = nowNs;
    drain();
    const int64_t target = targetNs();
    targetDelayNs_.store(target, std::memory_order_relaxed);

    if (state_ == State::Idle) {
        return insert(out);
    }
    if (state_ == State::Buffering) {
        if (bufferedCount_ == 0) {
            return insert(out);
        }
        const int64_t delay = nowNs - (senderTimeNs(nextSeq_) + minTransitNs());
        currentDelayNs_.store(delay, std::memory_order_relaxed);
        if (delay < target) {
            return withSlack(insert(out), delay - target);
        }
        startPlaying();
    }

    int64_t delay = nowNs - (senderTimeNs(nextSeq_) + minTransitNs());
    // Pulls come once a period at a phase of the player's own, so a frame's
    // delay at playout is only known to within a period. A frame that has
    // arrived and is less than half a period short of the target plays now:
    // waiting would put it further above the target than it is below now
    // (and a player clock wobbling around the target must not stretch).
    // A missing frame with a later one already here is lost (or reordered
    // beyond any jitter seen): stretching for it would only add a frame of
    // delay for every frame after it, so it is concealed (or rebuilt from
    // FEC) on time instead.
    const bool dry =
        buffered(nextSeq_) == nullptr && !(bufferedCount_ > 0 && highestBuffered_ > nextSeq_);
    if (delay < target && (delay < target - frameNs_ / 2 || dry)) {
        // Too little buffered for the jitter seen: stretch by one frame. When
        // the frame is missing this also gives it one more period to arrive.
        currentDelayNs_.store(delay, std::memory_order_relaxed);
        return withSlack(insert(out), delay - target);
    }
    // Shrink by one frame at a time, and only inside a run of buffered
    // frames, so the skip never lands next to a gap. The skip leaves the
    // delay at least a quarter period above the target, and a frame that
    // is there plays down to half a period below it: that hysteresis keeps a
    // jittery player clock from toggling stretch/shrink, while one stretch
    // does not cost a whole frame of delay for good.
    if (delay >= target + frameNs_ + frameNs_ / 4) {
        Slot* skip = buffered(nextSeq_);
        if (skip != nullptr && buffered(nextSeq_ + 1) != nullptr) {
            skip->state = SlotState::Discarded;
            --bufferedCount_;
            bump(discarded_);
            ++nextSeq_;
            passedSeq_ = nextSeq_;
            delay -= frameNs_;
        }
    }
    currentDelayNs_.store(delay, std::memory_order_relaxed);
    return withSlack(playOne(out), delay - target);
}

void JitterBuffer::conceal(std::span<int16_t> out) {
    decoder_.conceal(out);
    bump(concealed_);
    // Mean square against the threshold, in integers (real-time safe).
    uint64_t sum = 0;
    for (size_t i = 0; i < frameSamples_; ++i) {
        sum += static_cast<uint64_t>(int64_t{out[i]} * out[i]);
    }
    if (sum < kQuietMeanSquare * frameSamples_) {
        bump(concealedQuiet_);
    }
}

JitterBuffer::PullResult JitterBuffer::playOne(std::span<int16_t> out) {
    const auto sequence = static_cast<uint32_t>(nextSeq_);
    PullResult result{Frame::Decoded, sequence};
    if (Slot* slot = buffered(nextSeq_)) {
        if (decoder_.decode({slot->payload, slot->size}, out)) {
            bump(decoded_);
        } else {
            conceal(out);
            bump(decodeErrors_);
            result.frame = Frame::Concealed;
        }
        slot->state = SlotState::Played;
        --bufferedCount_;
        // The run of missing frames before this one is now known to be lost.
        bump(lost_, missingRun_);
        missingRun_ = 0;
    } else {
        const Slot* next = buffered(nextSeq_ + 1);
        if (next != nullptr && decoder_.hasFec({next->payload, next->size}) &&
            decoder_.decodeFec({next->payload, next->size}, out)) {
            bump(fecRecovered_);
            result.frame = Frame::FecRecovered;
        } else {
            conceal(out);
            result.frame = Frame::Concealed;
        }
        // Counted in lost_ when the run ends (see enterBuffering()).
        // Remember the miss so a late arrival is told from a duplicate.
        Slot& missed = window_[nextSeq_ % kWindow];
        missed.sequence = nextSeq_;
        missed.state = SlotState::Missed;
        ++missingRun_;
    }
    ++nextSeq_;
    passedSeq_ = nextSeq_;
    hasPlayed_ = true;
    if (bufferedCount_ == 0 && static_cast<int64_t>(missingRun_) * frameNs_ > maxDelayNs_) {
        enterBuffering();
    }
    return result;
}

} // namespace voice
