// SPDX-License-Identifier: MIT
// CallHistory: the calls voiced made and received.
#include "call_history.h"

#include "config/secure_file.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "peer_names.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace voice {

namespace {

using Json = nlohmann::json;

/// Longer lines are not ours (an entry is well under 200 bytes).
constexpr std::size_t kMaxLineBytes = 1024;

bool isOutcome(const std::string& s) {
    return s == "answered" || s == "missed" || s == "declined" || s == "busy" || s == "cancelled" ||
           s == "failed";
}

bool isReason(const std::string& s) {
    if (s.empty() || s.size() > 32) {
        return false;
    }
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || c == '-')) {
            return false;
        }
    }
    return true;
}

/// One line, or nullopt when any field is missing, of the wrong type or out of range.
std::optional<HistoryEntry> parseLine(std::string_view line) {
    if (line.size() > kMaxLineBytes) {
        return std::nullopt;
    }
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
        return std::nullopt;
    }
    auto str = [&j](const char* key) -> const std::string* {
        auto it = j.find(key);
        return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
    };
    const std::string* peer = str("peer");
    const std::string* direction = str("direction");
    const std::string* outcome = str("outcome");
    const std::string* reason = str("reason");
    auto start = j.find("start");
    auto duration = j.find("duration");
    if (!peer || !direction || !outcome || !reason || start == j.end() || duration == j.end() ||
        !start->is_number_integer() || !duration->is_number_unsigned()) {
        return std::nullopt;
    }
    HistoryEntry e;
    e.peer = *peer;
    e.outgoing = *direction == "out";
    e.start = start->get<std::int64_t>();
    e.durationS = duration->get<std::uint64_t>();
    e.outcome = *outcome;
    e.reason = *reason;
    if (!isValidPeerName(e.peer) || (*direction != "out" && *direction != "in") ||
        !isOutcome(e.outcome) || !isReason(e.reason) || e.start < 0 ||
        e.durationS > 10ull * 365 * 86400) {
        return std::nullopt;
    }
    return e;
}

} // namespace

std::string historyOutcome(const CallRecord& r) {
    if (r.answered) {
        return "answered";
    }
    switch (r.reason) {
    case EndReason::Declined:
        return "declined";
    case EndReason::Busy:
        return "busy";
    case EndReason::Timeout:
        return "missed";
    case EndReason::Hangup:
    case EndReason::PeerLost:
        // The caller gave up (or vanished) while it rang: the callee missed it.
        return r.outgoing ? "cancelled" : "missed";
    default:
        return "failed";
    }
}

HistoryEntry historyEntryOf(const CallRecord& r) {
    HistoryEntry e;
    e.peer = r.peer;
    e.outgoing = r.outgoing;
    e.start = std::chrono::duration_cast<std::chrono::seconds>(r.start.time_since_epoch()).count();
    e.durationS = r.answered ? r.durationS : 0;
    e.outcome = historyOutcome(r);
    e.reason = std::string(endReasonName(r.reason));
    return e;
}

std::string formatHistoryLine(const HistoryEntry& e) {
    // Keys in a fixed order, so the file reads the same from run to run.
    Json j = Json::object();
    j["peer"] = e.peer;
    j["direction"] = e.outgoing ? "out" : "in";
    j["start"] = e.start;
    j["duration"] = e.durationS;
    j["outcome"] = e.outcome;
    j["reason"] = e.reason;
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::vector<HistoryEntry> parseHistory(std::string_view text, std::size_t maxEntries,
                                       std::size_t* skipped) {
    std::deque<HistoryEntry> kept;
    std::size_t bad = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (line.empty()) {
            continue;
        }
        if (auto e = parseLine(line)) {
            kept.push_back(std::move(*e));
            if (kept.size() > maxEntries) {
                kept.pop_front();
            }
        } else {
            ++bad;
        }
    }
    if (skipped != nullptr) {
        *skipped = bad;
    }
    return {std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end())};
}

CallHistory::CallHistory(std::string path, std::size_t maxEntries)
    : path_(std::move(path)), maxEntries_(maxEntries == 0 ? 1 : maxEntries) {
    if (path_.empty()) {
        return;
    }
    auto text = readBoundedFile(path_, kMaxFileBytes, FileAccess::OwnerOnly);
    if (!text.ok()) {
        if (text.status().code() != Errc::NotFound) {
            warning_ = "call history " + path_ + " cannot be read (" + text.status().toString() +
                       "); starting a new one";
            LOG_WARNING("%s", warning_.c_str());
            // Keep the old file for a person to look at; the next call writes a fresh one.
            const std::string aside = path_ + ".bad";
            if (std::rename(path_.c_str(), aside.c_str()) != 0) {
                LOG_WARNING("cannot move the unreadable call history aside to %s", aside.c_str());
            }
        }
        return;
    }
    std::size_t skipped = 0;
    linesInFile_ = static_cast<std::size_t>(std::count(text->begin(), text->end(), '\n'));
    if (!text->empty() && text->back() != '\n') {
        linesInFile_ = 2 * maxEntries_; // a line cut short: rewrite before appending to it
    }
    auto entries = parseHistory(*text, maxEntries_, &skipped);
    entries_.assign(std::make_move_iterator(entries.begin()),
                    std::make_move_iterator(entries.end()));
    if (skipped > 0) {
        warning_ =
            "call history " + path_ + ": skipped " + std::to_string(skipped) + " malformed line(s)";
        LOG_WARNING("%s", warning_.c_str());
    }
}

Status CallHistory::add(HistoryEntry entry) {
    entries_.push_back(std::move(entry));
    while (entries_.size() > maxEntries_) {
        entries_.pop_front();
    }
    if (linesInFile_ < 2 * maxEntries_) {
        if (Status s = append(entries_.back()); s.ok()) {
            ++linesInFile_;
            return s;
        }
        // Could not append (a file that went away, a full disk): rewrite it whole.
    }
    Status s = save();
    if (s.ok()) {
        linesInFile_ = entries_.size();
    }
    return s;
}

Status CallHistory::append(const HistoryEntry& entry) const {
    if (path_.empty()) {
        return {};
    }
    UniqueFd fd(
        ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) {
        return Status::fromErrno(Errc::Io, errno, "open " + path_);
    }
    const std::string line = formatHistoryLine(entry) + '\n';
    const ssize_t n = ::write(fd.get(), line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
        return Status::fromErrno(Errc::Io, n < 0 ? errno : EIO, "write " + path_);
    }
    return {};
}

Status CallHistory::save() const {
    if (path_.empty()) {
        return {};
    }
    std::string out;
    out.reserve(entries_.size() * 128);
    for (const auto& e : entries_) {
        out += formatHistoryLine(e);
        out += '\n';
    }
    return writeFileAtomically(path_, out, 0600);
}

std::vector<HistoryEntry> CallHistory::newest(std::size_t limit) const {
    std::vector<HistoryEntry> out;
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
        if (limit != 0 && out.size() >= limit) {
            break;
        }
        out.push_back(*it);
    }
    return out;
}

std::int64_t CallHistory::lastCall(const std::string& peer) const {
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
        if (it->peer == peer) {
            return it->start;
        }
    }
    return 0;
}

void CallHistory::ended(const CallRecord& record) {
    if (Status s = add(historyEntryOf(record)); !s.ok()) {
        LOG_WARNING("call history: %s", s.toString().c_str());
    }
}

std::string defaultStateDir() {
    const char* xdg = std::getenv("XDG_STATE_HOME");
    if (xdg != nullptr && xdg[0] == '/') {
        return std::string(xdg) + "/voiced";
    }
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "") + "/.local/state/voiced";
}

} // namespace voice
