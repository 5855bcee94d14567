// SPDX-License-Identifier: MIT
// voicectl's waiting: SIGINT/SIGTERM as a descriptor, a poll loop over the bus with a deadline,
// and a watch for voiced leaving the bus. Single-threaded (voicectl's main thread).
#pragma once

#include "cli.h"

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <string>
#include <sys/signalfd.h>
#include <unistd.h>

namespace voice::ctl {

/// SIGINT and SIGTERM as a file descriptor, so the poll loop can end
/// cleanly (hang up a pending call) instead of dying mid-way.
class SignalFd {
public:
    SignalFd() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, nullptr);
        fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd_ < 0) {
            throw Failure{kExitError, std::string("signalfd: ") + std::strerror(errno)};
        }
    }
    ~SignalFd() { ::close(fd_); }
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;
    int fd() const { return fd_; }

private:
    int fd_ = -1;
};

enum class WaitEnd { Done, Deadline, Signal };

/// Dispatches bus messages (signal handlers run in here) until done()
/// holds, the deadline passes or SIGINT/SIGTERM arrives.
WaitEnd waitFor(sdbus::IConnection& bus, const SignalFd& signals,
                std::optional<Clock::time_point> deadline, const std::function<bool()>& done);

/// Sets *gone when voiced leaves the bus (its name loses its owner).
sdbus::Slot watchDaemon(sdbus::IConnection& bus, bool* gone);

} // namespace voice::ctl
