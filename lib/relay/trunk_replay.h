// SPDX-License-Identifier: MIT
// Trunk replay protection: a sliding window per sending relay process, a bounded table of them.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace voice::trunk {

enum class Verdict {
    Fresh,     ///< never seen: forward it
    Duplicate, ///< seen before (a replay, or the network duplicated it): drop
    TooOld,    ///< below the window: it cannot be told from a replay, drop
};

/// The sequence numbers one sender used, as in IPsec/DTLS/SRTP: the highest
/// accepted and a bitmap of the kSize below and at it. Anything older is
/// refused, so a datagram is accepted at most once and reordering by up to
/// kSize - 1 sequence numbers still gets through. The bitmap is a ring of
/// 64-bit words indexed by sequence / 64 (RFC 6479): moving forward clears
/// the words it passes instead of shifting. Not thread-safe (ReplayGuard
/// locks it); allocation-free.
class ReplayWindow {
public:
    static constexpr uint64_t kSize = 1024;

    /// Accepts `sequence` once; the first call starts the window there.
    Verdict accept(uint64_t sequence);

private:
    // One spare word: kSize consecutive numbers can span kSize / 64 + 1 words.
    static constexpr uint64_t kWords = kSize / 64 + 1;
    std::array<uint64_t, kWords> bits_{};
    uint64_t top_ = 0;
    bool started_ = false;
};

/// The receiving relay's replay check for every trunk datagram whose tag
/// verified: one ReplayWindow per sender epoch (trunk.h), at most
/// kMaxSenders of them. An epoch never seen takes a free slot, or the slot of
/// the epoch that has gone longest without a fresh datagram (a relay process
/// that stopped: with a cluster of a few relays, 64 slots hold every live
/// sender and dozens of restarts). A forgotten epoch starts a new window if
/// it sends again; only cluster members can make a datagram that reaches
/// this table, so an outsider cannot churn it, and what a forgotten epoch's
/// replay could still deliver is dropped by the media router (that call is
/// gone, or its relay's address differs) or by the receiving client's
/// end-to-end replay window.
///
/// Threading: accept() is called by every media thread at once; one mutex,
/// held for a scan of the live slots and one window update (no allocation,
/// no system call), so the hot path stays short.
class ReplayGuard {
public:
    static constexpr size_t kMaxSenders = 64;

    /// The verdict on (epoch, sequence); counts drops and forgotten senders.
    Verdict accept(uint64_t epoch, uint64_t sequence);
    /// Sender epochs tracked now (at most kMaxSenders).
    size_t senders() const;

    /// Trunk datagrams dropped as duplicates / as older than their window.
    std::atomic<uint64_t> duplicates{0};
    std::atomic<uint64_t> tooOld{0};
    /// Epochs whose window was given to a newer epoch.
    std::atomic<uint64_t> sendersForgotten{0};

private:
    struct Slot {
        uint64_t epoch = 0;
        uint64_t lastFresh = 0; // clock_ at its last fresh datagram
        ReplayWindow window;
    };
    mutable std::mutex mutex_;
    std::array<Slot, kMaxSenders> slots_; // guarded by mutex_; [0, used_) are live
    size_t used_ = 0;                     // guarded by mutex_
    uint64_t clock_ = 0;                  // guarded by mutex_; counts fresh datagrams
};

} // namespace voice::trunk
