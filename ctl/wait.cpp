// SPDX-License-Identifier: MIT
// voicectl's waiting (see wait.h).
#include "wait.h"

#include "voice_proxy.h"

#include <poll.h>

namespace voice::ctl {

/// Dispatches bus messages (signal handlers run in here) until done()
/// holds, the deadline passes or SIGINT/SIGTERM arrives.
WaitEnd waitFor(sdbus::IConnection& bus, const SignalFd& signals,
                std::optional<Clock::time_point> deadline, const std::function<bool()>& done) {
    for (;;) {
        while (bus.processPendingRequest()) {
            if (done()) {
                return WaitEnd::Done;
            }
        }
        if (done()) {
            return WaitEnd::Done;
        }
        const auto poll = bus.getEventLoopPollData();
        int timeoutMs = poll.getPollTimeout();
        if (deadline) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now())
                    .count();
            if (left <= 0) {
                return WaitEnd::Deadline;
            }
            const int leftMs = static_cast<int>(left + 1);
            timeoutMs = timeoutMs < 0 ? leftMs : std::min(timeoutMs, leftMs);
        }
        pollfd fds[2] = {{poll.fd, poll.events, 0}, {signals.fd(), POLLIN, 0}};
        if (::poll(fds, 2, timeoutMs) < 0 && errno != EINTR) {
            throw Failure{kExitError, std::string("poll: ") + std::strerror(errno)};
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo info;
            [[maybe_unused]] const ssize_t n = ::read(signals.fd(), &info, sizeof info);
            return WaitEnd::Signal;
        }
    }
}

/// Sets *gone when voiced leaves the bus (its name loses its owner).
sdbus::Slot watchDaemon(sdbus::IConnection& bus, bool* gone) {
    const std::string rule = std::string("type='signal',sender='org.freedesktop.DBus',"
                                         "interface='org.freedesktop.DBus',"
                                         "member='NameOwnerChanged',arg0='") +
                             kBusName + "'";
    return bus.addMatch(rule, [gone](sdbus::Message& msg) {
        try {
            std::string name, oldOwner, newOwner;
            msg >> name >> oldOwner >> newOwner;
            if (name == kBusName && newOwner.empty()) {
                *gone = true;
            }
        } catch (const sdbus::Error&) {
            // a malformed signal from the bus itself: ignore
        }
    });
}

} // namespace voice::ctl
