// SPDX-License-Identifier: MIT
// systemd integration over libsystemd's sd-daemon calls.
#include "net/systemd.h"

#include "net/socket.h"

#include <cstdlib>
#include <string>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

namespace voice {

namespace {

Status notify(const std::string& message) {
    const int rc = sd_notify(0, message.c_str());
    if (rc < 0) {
        return Status::fromErrno(Errc::Io, -rc, "sd_notify");
    }
    return {};
}

} // namespace

bool notifySocketPresent() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    return socket != nullptr && socket[0] != '\0';
}

Status notifyReady() {
    return notify("READY=1");
}
Status notifyStopping() {
    return notify("STOPPING=1");
}
Status notifyReloading() {
    return notify("RELOADING=1");
}
Status notifyWatchdog() {
    return notify("WATCHDOG=1");
}

Status notifyStatus(std::string_view text) {
    std::string line = "STATUS=";
    const size_t limit = std::min<size_t>(text.size(), 200);
    for (size_t i = 0; i < limit; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        line += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
    }
    return notify(line);
}

std::optional<std::chrono::microseconds> watchdogInterval() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        return std::nullopt;
    }
    return std::chrono::microseconds(usec);
}

Result<ActivatedSockets> takeActivatedSockets() {
    const int n = sd_listen_fds(1);
    if (n < 0) {
        return Status::fromErrno(Errc::Io, -n, "sd_listen_fds");
    }
    ActivatedSockets result;
    std::vector<UniqueFd> all;
    for (int i = 0; i < n; ++i) {
        all.emplace_back(SD_LISTEN_FDS_START + i);
    }
    for (UniqueFd& fd : all) {
        const int raw = fd.get();
        const bool tcp = sd_is_socket_inet(raw, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0;
        const bool udp = !tcp && sd_is_socket_inet(raw, AF_UNSPEC, SOCK_DGRAM, -1, 0) > 0;
        if (!tcp && !udp) {
            // `all` still owns every descriptor not yet sorted: they close on return.
            return Result<ActivatedSockets>(
                Errc::InvalidArgument,
                "socket-activated fd " + std::to_string(raw) +
                    " is neither a listening TCP socket nor a UDP socket (check the .socket unit)");
        }
        if (Status s = setNonBlocking(raw); !s) {
            return s;
        }
        (tcp ? result.tcpListeners : result.udp).push_back(std::move(fd));
    }
    return result;
}

} // namespace voice
