// SPDX-License-Identifier: MIT
#include "pipeline/echo_reference.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace voice {

namespace {
constexpr size_t kMarkSlots = 512;
}

EchoReference::EchoReference(uint32_t rate, size_t capacityFrames)
    : rate_(rate),
      ring_(capacityFrames, 1, OverflowPolicy::DropIncoming, UnderflowPolicy::FillSilence),
      marks_(kMarkSlots), scratch_(1024) {}

void EchoReference::push(std::span<const int16_t> out, int64_t playTimeNs, bool timed) {
    if (out.empty())
        return;
    // A full queue of marks only costs precision: the older mark still
    // describes the stream until a later one gets through.
    (void)marks_.tryPush({written_, playTimeNs, timed});
    written_ += ring_.write(out);
}

void EchoReference::skip(uint64_t frames) {
    while (frames > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(frames, scratch_.size()));
        (void)ring_.read(std::span(scratch_).first(n));
        frames -= n;
    }
}

EchoReference::Fetch EchoReference::fetch(int64_t captureTimeNs, std::span<int16_t> block) {
    const int64_t wantNs = captureTimeNs - kLeadNs;
    // The newest mark played no later than the wanted time describes it best.
    while (const Mark* m = marks_.front()) {
        if (haveMark_ && m->playTimeNs > wantNs)
            break;
        last_ = *m;
        haveMark_ = true;
        marks_.pop();
    }
    if (!haveMark_) {
        std::fill(block.begin(), block.end(), int16_t{0});
        return Fetch::Missing;
    }
    const int64_t offset =
        (wantNs - last_.playTimeNs) * static_cast<int64_t>(rate_) / 1'000'000'000;
    const int64_t target = std::max<int64_t>(0, static_cast<int64_t>(last_.position) + offset);
    const int64_t threshold = kRealignThresholdNs * static_cast<int64_t>(rate_) / 1'000'000'000;
    // What timing can say: the reader cannot be behind by more than what
    // was played and not read yet (beyond that nothing was played: the
    // player pushed nothing, a device that took no audio or a stalled
    // player, and the figures run on from an old mark), nor ahead by more
    // than the ring holds (a delay or capture time off by seconds). Past
    // these bounds the figures are not a move of the echo path, however
    // long they stay so: the fetch reads on, and neither the settling nor
    // the average takes them. (Without these bounds a player that pushed
    // nothing while the figures settled became a move as long as the pause
    // so far when they settled, and one capture time off by seconds a move
    // that long; the CI's ASan pipewire_call_test restarted the canceller
    // on a "move" of 21230.6 ms, where the reference ring holds 500 ms.)
    const auto available = static_cast<int64_t>(ring_.availableToRead());
    const auto plausible = [&](int64_t behind) {
        return behind <= available + threshold &&
               behind >= -static_cast<int64_t>(ring_.capacityFrames());
    };
    if (aligned_ && !settled_) {
        // Until timed figures have held for kSettleNs with the player
        // writing, what the alignment is off by them is the sound server
        // settling (see the header). A reader that ran dry before anything
        // audible was read (the device took nothing while it started) is
        // aligned afresh on what comes next; after that a move would be an
        // unannounced change of the echo path (echo_path_test: 70 ms when
        // the player paused as the sink's latency settled, 2 s of 5-21 dB).
        if (!heard_ && ring_.availableToRead() < block.size()) {
            aligned_ = false;
            timedSinceNs_ = -1;
            bias_ = 0;
        } else if (!last_.timed || !plausible(target - static_cast<int64_t>(readPos_))) {
            timedSinceNs_ = -1;
        } else {
            if (timedSinceNs_ < 0)
                timedSinceNs_ = captureTimeNs;
            bias_ = target - static_cast<int64_t>(readPos_);
            settled_ = captureTimeNs - timedSinceNs_ >= kSettleNs;
        }
        errorAvg_ = 0;
        settled_ = settled_ || captureTimeNs - alignedAtNs_ >= kSettleLimitNs;
    }
    const int64_t rawInstant = target - bias_ - static_cast<int64_t>(readPos_);
    const bool usable = plausible(rawInstant);
    // The first alignment skips at most what is there (below) but holds
    // back only within the ring: a hold of seconds is no alignment.
    const int64_t instant = usable || rawInstant > 0 ? rawInstant : 0;
    // The measured delays wobble from block to block (a sound server's
    // delay jumps by a period with its timing updates): only an error that
    // persists in the average moves the reference, and then to where this
    // block's timing puts it (within the wobble, which the canceller's
    // filter absorbs as part of the echo path).
    if (usable)
        errorAvg_ += kErrorSmoothing * (static_cast<double>(instant) - errorAvg_);
    Fetch result = Fetch::Aligned;
    size_t hold = 0; // zeros in front of the block: the reference was ahead
    if (!aligned_ || holding_ > 0 ||
        (settled_ && usable && std::abs(errorAvg_) > static_cast<double>(threshold))) {
        const int64_t errorFrames = holding_ > 0 ? holding_ : instant;
        if (errorFrames > 0 && holding_ == 0) {
            // Behind: drop what was played before the wanted time.
            const uint64_t drop =
                std::min<uint64_t>(static_cast<uint64_t>(errorFrames), ring_.availableToRead());
            skip(drop);
            readPos_ += drop;
        } else if (errorFrames < 0 || holding_ > 0) {
            // Ahead (played audio cannot be read twice): hold the reference
            // back by up to a block per fetch until it is in place.
            const int64_t need = holding_ > 0 ? holding_ : -errorFrames;
            hold = static_cast<size_t>(std::min<int64_t>(need, static_cast<int64_t>(block.size())));
            holding_ = need - static_cast<int64_t>(hold);
        }
        if (aligned_ && !realigning_ && settled_) {
            lastRealignUs_.store(errorFrames * 1'000'000 / static_cast<int64_t>(rate_),
                                 std::memory_order_relaxed);
            realigns_.fetch_add(1, std::memory_order_relaxed);
        }
        if (!aligned_)
            alignedAtNs_ = captureTimeNs;
        aligned_ = true;
        errorAvg_ = 0;
        result = Fetch::Realigned;
    }
    realigning_ = result == Fetch::Realigned;
    std::fill(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(hold), int16_t{0});
    // Only what was played: the rest are zeros, and readPos_ stays with the ring.
    const size_t n = std::min(block.size() - hold, ring_.availableToRead());
    (void)ring_.read(block.subspan(hold, n));
    std::fill(block.begin() + static_cast<std::ptrdiff_t>(hold + n), block.end(), int16_t{0});
    readPos_ += n;
    heard_ = heard_ || std::any_of(block.begin(), block.end(), [](int16_t v) {
                 return std::abs(static_cast<int>(v)) > kAudibleSample;
             });
    return result;
}

} // namespace voice
