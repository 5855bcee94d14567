// SPDX-License-Identifier: MIT
// KnownRelays: pin-on-first-use store of relay key fingerprints, like SSH known_hosts.
#pragma once

#include "core/result.h"
#include "net/fingerprint.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace voice {

/// Relay pins kept in a small text file, one "host:port sha256:<64 hex>"
/// per line; '#' comments and blank lines are allowed. Bounded: at most
/// kMaxEntries pins and kMaxFileBytes. The file is written 0600 and must
/// stay private to be loaded.
///
/// Not thread-safe: owned by the control thread.
class KnownRelays {
public:
    static constexpr size_t kMaxEntries = 256;
    static constexpr size_t kMaxFileBytes = 64 * 1024;

    /// Outcome of check().
    enum class Pin {
        Matched,  ///< the relay presented the pinned key
        FirstUse, ///< no pin existed; this key is now pinned and saved
    };

    /// An empty store that saves to path.
    explicit KnownRelays(std::string path) : path_(std::move(path)) {}
    /// Loads path; a missing file gives an empty store. Malformed lines are
    /// errors "path:line: message" (a pin file is never half-trusted).
    static Result<KnownRelays> load(const std::string& path);
    /// Writes the store atomically (mode 0600).
    Status save() const;

    /// The pin for a relay ("host:port", normalised like HostPort::toString()).
    std::optional<Fingerprint> find(std::string_view relay) const;
    /// Adds a pin for a relay without one. Fails if it already has a
    /// different pin (forget() it first: re-trusting is explicit) or the
    /// store is full. Does not save.
    Status add(std::string_view relay, const Fingerprint& fingerprint);
    /// Removes a pin; true if there was one. Does not save.
    bool forget(std::string_view relay);
    /// Trust on first use: Matched if the pin equals actual; FirstUse after
    /// pinning and saving a relay seen for the first time; an Auth error
    /// showing both fingerprints if the relay's key changed.
    Result<Pin> check(std::string_view relay, const Fingerprint& actual);

    size_t size() const { return pins_.size(); }
    const std::string& path() const { return path_; }

private:
    static Result<std::string> normalise(std::string_view relay);

    std::string path_;
    std::map<std::string, Fingerprint, std::less<>> pins_;
};

} // namespace voice
