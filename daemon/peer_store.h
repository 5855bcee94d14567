// SPDX-License-Identifier: MIT
// PeerStore: peers pinned on first call (TOFU), kept in $XDG_CONFIG_HOME/voiced/peers.
//
// File: one "name <32 hex digits>" per line, '#' comments; 0600, written
// atomically, at most kMaxPeers entries. Control thread only.
#pragma once

#include "core/result.h"

#include <map>
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
    /// Pins (replacing any old pin) and saves.
    Status trust(const std::string& name, const std::string& fingerprint);
    /// The pinned fingerprint, or "" when none.
    std::string pinned(const std::string& name) const;

private:
    explicit PeerStore(std::string path) : path_(std::move(path)) {}
    Status save() const;

    std::string path_;
    std::map<std::string, std::string> pins_; // name -> canonical fingerprint
};

} // namespace voice
