// SPDX-License-Identifier: MIT
// EchoReference: hands what the player wrote to the playback device over to
// the capture side, aligned in time, as the echo canceller's far-end
// reference.
//
// The player pushes every block it writes with the time its first sample
// will be played (now + the frames queued in the device ahead of it,
// snd_pcm_delay). The transmitter asks for the block played at the moment a
// captured block was captured (the recorder's capture time, which counts
// the capture device's delay). So both devices' measured delays align the
// two streams; what is left is the acoustic path (and the sound server's
// own buffering), which the canceller models.
//
// Once aligned, the reference is read sequentially (no sample is skipped or
// repeated, which an adaptive filter would take for a changed echo path);
// it is realigned only when the timing says it is off by more than
// kRealignThreshold (a device reopened, an xrun), and fetch() then says so,
// so the caller can reset the canceller.
//
// A sound server's first figures do not hold: a PulseAudio stream that
// starts on an idle null sink takes no audio for up to 2 s (its first block
// after resuming), then plays it at once for a second or more, its delay
// below what was just written; only then does it report its real latency,
// 38-53 ms more in echo_path_test. Those marks are untimed; the reference
// is aligned on them at first (the canceller converges on that alignment:
// 36-83 dB before the old realignment), and when the first timed mark
// comes the difference is taken as the figures settling, not as the echo
// path moving (until timed marks have held for kSettleNs): later errors
// count from it, and only they realign.
//
// Timing can only say so much: the reader is never behind by more than
// what was played and not read yet, nor ahead by more than the ring holds.
// Figures past that (a stale mark the player pushed nothing after, a delay
// or capture time off by seconds) are no move and are not settled on: the
// reference reads on.
//
// Threads: push() on the player (producer), fetch() on the transmitter
// (consumer). Lock-free, no allocation after construction.
#pragma once

#include "core/audio_ring.h"
#include "core/spsc_queue.h"

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

namespace voice {

class EchoReference {
public:
    /// The reference starts this much before the captured block, so the
    /// echo never leads it when the delay measurements are off a little.
    static constexpr int64_t kLeadNs = 10'000'000;
    /// Alignment errors smaller than this, in the average over about 50
    /// blocks (kErrorSmoothing), are left alone.
    static constexpr int64_t kRealignThresholdNs = 30'000'000;
    static constexpr double kErrorSmoothing = 0.02;
    /// The figures have settled once timed marks have held this long (or
    /// kSettleLimitNs after the first alignment, whatever they do).
    static constexpr int64_t kSettleNs = 500'000'000;
    static constexpr int64_t kSettleLimitNs = 5'000'000'000;
    /// A sample above this (about -50 dBFS) is audible.
    static constexpr int kAudibleSample = 100;

    /// Control thread. `capacityFrames` must hold the playback buffer plus
    /// the time a captured frame waits for the transmitter (0.5 s is ample).
    EchoReference(uint32_t rate, size_t capacityFrames);

    /// Player thread. `playTimeNs`: CLOCK_MONOTONIC time out[0] will play.
    /// `timed` false: the device had nothing queued after the write (its
    /// delay was below what was just written), so playTimeNs is a guess.
    void push(std::span<const int16_t> out, int64_t playTimeNs, bool timed = true);

    enum class Fetch {
        Aligned,   ///< the reference continues the previous block
        Realigned, ///< the reference jumped (first block, or timing moved)
        Missing,   ///< nothing played yet: zeros
    };
    /// Transmitter thread. Fills `block` with the audio that was played at
    /// `captureTimeNs` - kLeadNs.
    Fetch fetch(int64_t captureTimeNs, std::span<int16_t> block);

    /// Any thread. The longest delay the reference can align (its ring):
    /// a device's buffer is tens of ms, so a delay beyond this is no figure.
    int64_t spanNs() const {
        return static_cast<int64_t>(ring_.capacityFrames()) * 1'000'000'000 / rate_;
    }

    /// Any thread. Times the alignment jumped after the first.
    uint64_t realigns() const { return realigns_.load(std::memory_order_relaxed); }
    /// Any thread. The last jump after the first, in µs: positive when the
    /// reference moved on (it had lagged), negative when it was held back.
    int64_t lastRealignUs() const { return lastRealignUs_.load(std::memory_order_relaxed); }

private:
    struct Mark {
        uint64_t position = 0; // stream position of the first sample of a push
        int64_t playTimeNs = 0;
        bool timed = true;
    };

    /// Consumer: drops `frames` from the ring (through the scratch buffer).
    void skip(uint64_t frames);

    const uint32_t rate_;
    AudioRing ring_;
    SpscQueue<Mark> marks_;
    std::atomic<uint64_t> realigns_{0};
    std::atomic<int64_t> lastRealignUs_{0};
    // Player thread only.
    uint64_t written_ = 0;
    // Transmitter thread only.
    uint64_t readPos_ = 0;
    bool aligned_ = false;
    bool realigning_ = false;   // the last fetch realigned (a hold spans several)
    double errorAvg_ = 0;       // smoothed alignment error, frames
    bool heard_ = false;        // an audible sample was read
    bool settled_ = false;      // the figures have settled (bias_ is fixed)
    int64_t timedSinceNs_ = -1; // capture time timed figures began, while settling
    int64_t alignedAtNs_ = 0;   // capture time of the first alignment
    int64_t bias_ = 0;          // frames the start's alignment is off the settled figures
    int64_t holding_ = 0;       // frames of hold still to insert
    Mark last_{};
    bool haveMark_ = false;
    std::vector<int16_t> scratch_;
};

} // namespace voice
