// SPDX-License-Identifier: MIT
// Registry: what a relay knows about names — which key owns a name, who is
// online on which connection, and whose line is idle, ringing or in a call.
#pragma once

#include "relay/name_bindings.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace voice {

/// A name's line: what call matching looks at (CallMatcher).
enum class LineState { Idle, Ringing, InCall };

/// The one seam between single-relay and cluster modes for names, presence
/// and line state (issue 19): LocalRegistry keeps it in this process; a
/// Redis-backed registry will share it between relays. Connection ids are
/// the owning relay's. Called on the control loop only.
class Registry {
public:
    using Key = NameBindings::Key;
    /// checkName()'s answer for a name and the key that claims it.
    enum class NameCheck {
        Owned,              // bound to this key (by the allowlist or an earlier registration)
        Free,               // not bound yet: bindName() makes it this key's
        NotAllowed,         // an allowlist is on and does not list the name
        AllowlistedToOther, // the allowlist binds the name to another key
        Taken,              // another key registered it first
    };

    virtual ~Registry() = default;

    /// True when names are shared with other relays (RedisRegistry): a Free
    /// answer from checkName() must then be settled by the cluster.
    virtual bool sharesNames() const { return false; }

    // Names -> keys (first key wins; with an allowlist, only the listed key).
    virtual NameCheck checkName(std::string_view name, const Key& key) const = 0;
    /// Binds a Free name (persisted); false if there is no room.
    virtual bool bindName(const std::string& name, const Key& key) = 0;
    /// Replaces the allowlist (nullopt: none, names are first come first served).
    virtual void setAllowlist(std::optional<NameBindings> allowlist) = 0;
    virtual bool hasAllowlist() const = 0;

    // Presence: the connection a name is registered on.
    virtual std::optional<uint64_t> connectionOf(std::string_view name) const = 0;
    /// The name is now on `connection` (the newest registration wins; the
    /// caller closes the old one). Its line starts Idle.
    virtual void setOnline(const std::string& name, uint64_t connection) = 0;
    /// Offline, unless the name has moved to another connection meanwhile.
    virtual void setOffline(std::string_view name, uint64_t connection) = 0;

    // Line state (Idle for a name that is offline).
    virtual LineState line(std::string_view name) const = 0;
    /// Ignored unless the name is online on `connection`.
    virtual void setLine(std::string_view name, uint64_t connection, LineState state) = 0;
    virtual size_t online() const = 0;
};

} // namespace voice
