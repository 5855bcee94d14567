// SPDX-License-Identifier: MIT
// CallHistory: the calls voiced made and received, kept in $XDG_STATE_HOME/voiced/history.
//
// File: JSON lines, one call each, oldest first:
//   {"peer":"bob","direction":"out","start":1733540000,"duration":12,
//    "outcome":"answered","reason":"hangup"}
// 0600 in a 0700 directory. Each call appends one line (one write, no
// fsync: a call must not wait for the disk on the control thread; a line cut
// short by a crash is skipped when loading); once the file holds twice
// kMaxEntries lines it is rewritten atomically with the newest kMaxEntries
// (the oldest are dropped). Loading is defensive: a line
// that does not parse is skipped, a file over kMaxFileBytes or unreadable is
// set aside and history starts empty; each with one warning, never a crash.
// Control thread only.
#pragma once

#include "call_observer.h"
#include "core/result.h"

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace voice {

struct HistoryEntry {
    std::string peer;
    bool outgoing = false;
    std::int64_t start = 0;      ///< Unix time, seconds
    std::uint64_t durationS = 0; ///< talk time; 0 if never answered
    /// "answered", "missed", "declined", "busy", "cancelled" or "failed".
    std::string outcome;
    /// The end reason (endReasonName(): "hangup", "timeout", "offline", ...).
    std::string reason;

    bool operator==(const HistoryEntry&) const = default;
};

/// The outcome of a finished call for the history (see HistoryEntry::outcome).
std::string historyOutcome(const CallRecord& record);
/// A CallRecord as a history entry.
HistoryEntry historyEntryOf(const CallRecord& record);

/// One entry as its JSON line (without the newline).
std::string formatHistoryLine(const HistoryEntry& entry);
/// Parses a history file's text: valid lines in order (at most maxEntries,
/// the newest), *skipped counts the others. Never throws.
std::vector<HistoryEntry> parseHistory(std::string_view text, std::size_t maxEntries,
                                       std::size_t* skipped);

class CallHistory final : public CallObserver {
public:
    static constexpr std::size_t kMaxEntries = 1000;
    static constexpr std::size_t kMaxFileBytes = 1024 * 1024;

    /// Opens path (missing = empty); never fails: what cannot be read is
    /// reset with a warning (loadWarning()). An empty path keeps history in memory only.
    explicit CallHistory(std::string path, std::size_t maxEntries = kMaxEntries);

    /// Appends one call, dropping the oldest past the bound, and saves.
    Status add(HistoryEntry entry);
    /// Newest first, at most limit entries (0 = all).
    std::vector<HistoryEntry> newest(std::size_t limit) const;
    /// Unix time of the last call with peer, 0 if none.
    std::int64_t lastCall(const std::string& peer) const;
    /// Why loading reset or skipped something; empty when the file was fine.
    const std::string& loadWarning() const { return warning_; }

    // CallObserver
    void ended(const CallRecord& record) override;

private:
    Status save() const;
    /// Appends one line to the file (O_APPEND, 0600, never follows a link).
    Status append(const HistoryEntry& entry) const;

    std::string path_;
    std::size_t maxEntries_;
    std::deque<HistoryEntry> entries_;
    /// Lines the file holds now (kept, dropped and malformed): past
    /// 2 * maxEntries_ the next add() rewrites it.
    std::size_t linesInFile_ = 0;
    std::string warning_;
};

/// $XDG_STATE_HOME/voiced (absolute XDG_STATE_HOME), else ~/.local/state/voiced.
std::string defaultStateDir();

} // namespace voice
