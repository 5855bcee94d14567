// SPDX-License-Identifier: MIT
// systemd integration: sd_notify readiness/watchdog/status and socket activation, thinly wrapped.
#pragma once

#include "core/result.h"
#include "core/unique_fd.h"

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace voice {

/// True when NOTIFY_SOCKET is set (we run under a Type=notify unit).
/// All notify*() calls are no-ops returning ok when it is not.
bool notifySocketPresent();

/// "READY=1": call after sockets are bound and the bus name is owned.
Status notifyReady();
/// "STOPPING=1": call when a shutdown starts.
Status notifyStopping();
/// "RELOADING=1": call when a SIGHUP reload starts; notifyReady() after it.
Status notifyReloading();
/// "WATCHDOG=1": call at half the watchdogInterval(), only while the
/// service really makes progress.
Status notifyWatchdog();
/// "STATUS=text", shown by systemctl status. Control characters become
/// spaces and the text is cut at 200 bytes (it is one line for people).
Status notifyStatus(std::string_view text);

/// The watchdog interval from WATCHDOG_USEC (for this process, checked
/// against WATCHDOG_PID), or nullopt when the watchdog is off.
std::optional<std::chrono::microseconds> watchdogInterval();

/// Sockets passed by a systemd .socket unit, sorted by type.
struct ActivatedSockets {
    std::vector<UniqueFd> tcpListeners; ///< IPv4/IPv6 SOCK_STREAM, listening
    std::vector<UniqueFd> udp;          ///< IPv4/IPv6 SOCK_DGRAM
    bool empty() const { return tcpListeners.empty() && udp.empty(); }
};

/// Takes the sockets from LISTEN_FDS/LISTEN_PID (and unsets those
/// variables so children do not inherit them). The sockets are made
/// non-blocking and close-on-exec. Any socket that is not an IPv4/IPv6
/// TCP listener or UDP socket is an InvalidArgument error (the unit file
/// is wrong), and all passed sockets are closed. Empty when not activated.
Result<ActivatedSockets> takeActivatedSockets();

} // namespace voice
