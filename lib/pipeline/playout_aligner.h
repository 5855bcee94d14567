// SPDX-License-Identifier: MIT
// PlayoutAligner: shortens a decoded frame by a few samples so playout can move closer to arrivals.
//
// The player's schedule is the playback stream itself: every sample written
// plays one sample period after the one before it. To play the next frame
// earlier (when frames wait in the jitter buffer longer than the target), the
// stream must get shorter; this removes up to a quarter frame (at most
// 2.5 ms) from the middle of a frame with a crossfade at the lag of best
// self-similarity (a pitch-synchronous splice, like the "accelerate"
// operation of WebRTC NetEq), so voice and tones come out without a click.
// The frame's first and last samples stay where they are: the measured
// capture-to-playout latency still refers to its first sample, and the
// decoder's next frame continues seamlessly from its last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace voice {

class PlayoutAligner {
public:
    /// Control thread. `frameSamples` > 0, `sampleRate` > 0.
    PlayoutAligner(size_t frameSamples, uint32_t sampleRate);

    /// Most samples shorten() removes from one frame.
    size_t maxDrop() const { return maxDrop_; }

    /// Player thread; real-time safe (no allocation). Copies `in` (one frame)
    /// to `out` (at least in.size()) without between drop/2 and drop samples
    /// (drop is clamped to maxDrop()), choosing the splice lag that matches
    /// best. Returns the samples written: in.size() - removed.
    size_t shorten(std::span<const int16_t> in, size_t drop, std::span<int16_t> out) const;

private:
    size_t maxDrop_;
};

} // namespace voice
