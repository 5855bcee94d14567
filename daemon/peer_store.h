// SPDX-License-Identifier: MIT
// PeerStore: peers pinned on first call (TOFU), kept in $XDG_CONFIG_HOME/voiced/peers.
//
// File: one "name <32 hex digits>" per line, '#' comments, and " verified" after
// the fingerprint when the user pinned it by hand (voicectl trust NAME FINGERPRINT);
// 0600, written atomically, at most kMaxPeers entries. Control thread only.
#pragma once

#include "core/result.h"

#include <map>
#include <set>
#include <string>

namespace voice {

class PeerStore {
public:
    static constexpr size_t kMaxPeers = 4096;
    static constexpr size_t kMaxFileBytes = 256 * 1024;

    /// Outcome of check().
    enum class Verdict { Matched, FirstUse, Changed };

    /// Loads path (missing = empty). Malformed lines are errors "path:line: ...".
    static Result<PeerStore> load(const std::string& path);

    /// fingerprint in canonical form ("ab12 cd34 ..."). FirstUse pins and saves it.
    Result<Verdict> check(const std::string& name, const std::string& fingerprint);
    /// Pins (replacing any old pin) and saves; verified: the user compared
    /// and typed the fingerprint (not just accepted the key a call presented).
    Status trust(const std::string& name, const std::string& fingerprint, bool verified = false);
    /// The pinned fingerprint, or "" when none.
    std::string pinned(const std::string& name) const;
    /// Whether name's pin was verified by the user.
    bool verified(const std::string& name) const { return verified_.count(name) != 0; }
    /// Every pin: name -> canonical fingerprint.
    const std::map<std::string, std::string>& pins() const { return pins_; }

private:
    explicit PeerStore(std::string path) : path_(std::move(path)) {}
    Status save() const;

    std::string path_;
    std::map<std::string, std::string> pins_; // name -> canonical fingerprint
    std::set<std::string> verified_;          // names pinned by hand
};

} // namespace voice
