// SPDX-License-Identifier: MIT
// Two-thread stress of AudioRing: millions of frames, each carrying its own
// sequence number and checksum, prove nothing is lost, duplicated, reordered
// or torn where the policy forbids it, and that drops are counted exactly
// where it allows them. Runs under ThreadSanitizer in CI.
#include "core/audio_ring.h"

#include <atomic>
#include <cstdint>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace voice;

namespace {

// A frame is three samples: sequence low half, high half, and a checksum of
// both. A torn frame (half from one write, half from another) fails the check.
constexpr unsigned kChannels = 3;

int16_t checksum(uint16_t lo, uint16_t hi) {
    return static_cast<int16_t>(static_cast<uint16_t>(lo * 40503u + hi * 2654435761u + 0x5bd1u));
}

void encodeFrame(uint32_t seq, int16_t* frame) {
    const auto lo = static_cast<uint16_t>(seq & 0xffff);
    const auto hi = static_cast<uint16_t>(seq >> 16);
    frame[0] = static_cast<int16_t>(lo);
    frame[1] = static_cast<int16_t>(hi);
    frame[2] = checksum(lo, hi);
}

// Returns false for a torn or corrupted frame.
bool decodeFrame(const int16_t* frame, uint32_t& seq) {
    const auto lo = static_cast<uint16_t>(frame[0]);
    const auto hi = static_cast<uint16_t>(frame[1]);
    if (frame[2] != checksum(lo, hi)) {
        return false;
    }
    seq = (uint32_t{hi} << 16) | lo;
    return true;
}

// Small deterministic generator for chunk sizes, so both threads vary their
// pace without sharing state.
struct ChunkSizes {
    uint32_t state;
    size_t next(size_t max) {
        state = state * 1664525u + 1013904223u;
        return 1 + (state >> 8) % max;
    }
};

} // namespace

TEST(AnAudioRingUnderTwoThreads, LosesNothingWithRefusePolicies) {
    constexpr uint32_t kFrames = 10'000'000;
    AudioRing ring(1024, kChannels, OverflowPolicy::Refuse, UnderflowPolicy::Refuse);
    std::atomic<bool> done{false};

    std::thread producer([&ring, &done] {
        ChunkSizes sizes{12345};
        std::vector<int16_t> chunk(128 * kChannels);
        uint32_t seq = 0;
        while (seq < kFrames) {
            size_t frames = std::min<size_t>(sizes.next(127), kFrames - seq);
            for (size_t i = 0; i < frames; ++i) {
                encodeFrame(seq + static_cast<uint32_t>(i), &chunk[i * kChannels]);
            }
            std::span<const int16_t> data(chunk.data(), frames * kChannels);
            while (ring.write(data) == 0) {
                std::this_thread::yield(); // Refuse: we keep the frames and retry
            }
            seq += static_cast<uint32_t>(frames);
        }
        done.store(true, std::memory_order_release);
    });

    ChunkSizes sizes{777};
    std::vector<int16_t> chunk(128 * kChannels);
    uint32_t expected = 0;
    uint64_t torn = 0;
    uint64_t outOfOrder = 0;
    uint64_t received = 0;
    for (;;) {
        size_t frames = sizes.next(127);
        // Half of the time wait on the futex, half of the time spin: both
        // paths must hand over frames intact.
        if (frames % 2 == 0) {
            ring.waitForFrames(frames, 100ms);
        }
        if (done.load(std::memory_order_acquire)) {
            // The producer is finished: take what is left, then stop.
            frames = std::min(frames, ring.availableToRead());
            if (frames == 0) {
                break;
            }
        }
        std::span<int16_t> out(chunk.data(), frames * kChannels);
        if (ring.read(out) == 0) {
            std::this_thread::yield();
            continue;
        }
        received += frames;
        for (size_t i = 0; i < frames; ++i) {
            uint32_t seq = 0;
            if (!decodeFrame(&chunk[i * kChannels], seq)) {
                ++torn;
            } else if (seq != expected) {
                ++outOfOrder;
            }
            ++expected;
        }
    }
    producer.join();

    EXPECT_EQ(torn, 0u);
    EXPECT_EQ(outOfOrder, 0u) << "a frame was lost, duplicated or reordered";
    EXPECT_EQ(received, kFrames);
    auto s = ring.stats();
    EXPECT_EQ(s.framesWritten, kFrames);
    EXPECT_EQ(s.framesRead, kFrames);
    EXPECT_EQ(s.overflowFrames, 0u);
    EXPECT_EQ(s.underflowFrames, 0u);
    EXPECT_EQ(ring.availableToRead(), 0u);
}

TEST(AnAudioRingUnderTwoThreads, CountsEveryDroppedFrameWithDropIncoming) {
    // A small ring and a producer that never waits: frames are dropped, but
    // each drop is counted, and what arrives is intact and in order.
    constexpr uint32_t kFrames = 2'000'000;
    AudioRing ring(64, kChannels, OverflowPolicy::DropIncoming, UnderflowPolicy::Refuse);
    std::atomic<bool> done{false};

    std::thread producer([&ring, &done] {
        ChunkSizes sizes{99};
        std::vector<int16_t> chunk(64 * kChannels);
        uint32_t seq = 0;
        while (seq < kFrames) {
            size_t frames = std::min<size_t>(sizes.next(48), kFrames - seq);
            for (size_t i = 0; i < frames; ++i) {
                encodeFrame(seq + static_cast<uint32_t>(i), &chunk[i * kChannels]);
            }
            ring.write(std::span<const int16_t>(chunk.data(), frames * kChannels));
            seq += static_cast<uint32_t>(frames);
        }
        done.store(true, std::memory_order_release);
    });

    std::vector<int16_t> frame(kChannels);
    uint64_t received = 0;
    uint64_t gaps = 0;
    uint64_t torn = 0;
    uint64_t backwards = 0;
    int64_t last = -1;
    for (;;) {
        if (ring.read(frame) == 0) {
            if (done.load(std::memory_order_acquire) && ring.availableToRead() == 0) {
                break;
            }
            continue;
        }
        uint32_t seq = 0;
        if (!decodeFrame(frame.data(), seq)) {
            ++torn;
            continue;
        }
        if (static_cast<int64_t>(seq) <= last) {
            ++backwards;
        } else {
            gaps += static_cast<uint64_t>(static_cast<int64_t>(seq) - last - 1);
        }
        last = seq;
        ++received;
    }
    producer.join();
    gaps += kFrames - 1 - static_cast<uint64_t>(last); // frames dropped after the last one read

    auto s = ring.stats();
    EXPECT_EQ(torn, 0u);
    EXPECT_EQ(backwards, 0u) << "a frame was duplicated or reordered";
    EXPECT_EQ(received, s.framesRead);
    EXPECT_EQ(s.framesWritten + s.overflowFrames, kFrames);
    EXPECT_EQ(gaps, s.overflowFrames) << "every missing frame is a counted drop";
}
