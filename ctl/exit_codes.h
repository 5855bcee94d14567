// SPDX-License-Identifier: MIT
// voicectl's exit codes: distinct per failure so scripts can branch on them.
#pragma once

#include <string_view>

namespace voice::ctl {

enum ExitCode : int {
    kExitOk = 0,            ///< done (a call: answered)
    kExitError = 1,         ///< any other error; the message says what
    kExitUsage = 2,         ///< bad command line, bad name or fingerprint
    kExitNoDaemon = 3,      ///< voiced is not running (or no session bus)
    kExitBusy = 4,          ///< the peer (or we) are already in a call
    kExitOffline = 5,       ///< the peer is not registered at the relay
    kExitDeclined = 6,      ///< the peer rejected the call
    kExitTimeout = 7,       ///< nobody answered in time
    kExitUntrusted = 8,     ///< the peer's key is not the pinned one
    kExitNotRegistered = 9, ///< we are not registered at a relay
    kExitInvalidState = 10, ///< the command does not apply now (no call to answer...)
    kExitRateLimited = 11,  ///< requests come faster than the relay allows; nothing was sent
    kExitUnavailable = 12,  ///< the relay cannot reach the peer's state now (relay cluster)
    kExitInterrupted = 130, ///< SIGINT/SIGTERM while waiting for a call (the attempt is hung up)
};

/// The exit-code table as printed by `voicectl --help`.
inline constexpr std::string_view kExitCodeHelp =
    "Exit codes:\n"
    "  0    ok (call: answered)\n"
    "  1    other error\n"
    "  2    bad usage (command line, name, fingerprint)\n"
    "  3    voiced is not running\n"
    "  4    busy (the peer or we are already in a call)\n"
    "  5    peer offline\n"
    "  6    call declined\n"
    "  7    timeout (no answer)\n"
    "  8    peer key untrusted\n"
    "  9    not registered at a relay\n"
    "  10   invalid state (e.g. no call to answer)\n"
    "  11   rate limited (requests faster than the relay allows; try again)\n"
    "  12   unavailable (the relay cannot reach the peer now; try again)\n"
    "  130  interrupted while waiting\n";

/// Exit code for a D-Bus error name returned by voiced or the bus.
inline int exitCodeForDbusError(std::string_view name) {
    constexpr std::string_view prefix = "org.voiced.Voice1.Error.";
    if (name.starts_with(prefix)) {
        const std::string_view kind = name.substr(prefix.size());
        if (kind == "Busy") {
            return kExitBusy;
        }
        if (kind == "Offline") {
            return kExitOffline;
        }
        if (kind == "Declined") {
            return kExitDeclined;
        }
        if (kind == "Timeout") {
            return kExitTimeout;
        }
        if (kind == "Untrusted") {
            return kExitUntrusted;
        }
        if (kind == "NotRegistered") {
            return kExitNotRegistered;
        }
        if (kind == "InvalidState") {
            return kExitInvalidState;
        }
        if (kind == "RateLimited") {
            return kExitRateLimited;
        }
        if (kind == "InvalidArgument") {
            return kExitUsage;
        }
        return kExitError;
    }
    // Nobody owns the name and it cannot be activated.
    if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
        name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
        name.starts_with("org.freedesktop.DBus.Error.Spawn.")) {
        return kExitNoDaemon;
    }
    return kExitError;
}

/// Exit code for a CallEnded reason that ended `voicectl call` before an answer.
inline int exitCodeForEndReason(std::string_view reason) {
    if (reason == "busy") {
        return kExitBusy;
    }
    if (reason == "offline") {
        return kExitOffline;
    }
    if (reason == "unavailable") {
        return kExitUnavailable;
    }
    if (reason == "declined") {
        return kExitDeclined;
    }
    if (reason == "timeout") {
        return kExitTimeout;
    }
    if (reason == "untrusted") {
        return kExitUntrusted;
    }
    return kExitError;
}

} // namespace voice::ctl
