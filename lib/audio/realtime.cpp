// SPDX-License-Identifier: MIT
// makeThreadRealtime: SCHED_FIFO within RLIMIT_RTPRIO, or a single warning.
#include "audio/realtime.h"

#include "core/log.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <sched.h>
#include <string>
#include <sys/resource.h>

namespace voice {

int clampRealtimePriority(int wanted, long rlimitRtprio, int maxPriority) {
    int prio = std::clamp(wanted, 1, std::max(1, maxPriority));
    if (rlimitRtprio >= 0) {
        if (rlimitRtprio == 0) {
            return 0;
        }
        prio = static_cast<int>(std::min<long>(prio, rlimitRtprio));
    }
    return prio;
}

Result<int> makeThreadRealtime(int wanted) {
    static std::atomic<bool> warned{false};
    const int maxPriority = sched_get_priority_max(SCHED_FIFO);
    rlimit limit{};
    long rtprio = -1;
    if (getrlimit(RLIMIT_RTPRIO, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        rtprio = static_cast<long>(limit.rlim_cur);
    }
    int prio = clampRealtimePriority(wanted, rtprio, maxPriority);
    // A zero limit still lets a privileged (CAP_SYS_NICE) process through,
    // so try with the wanted priority clamped to the maximum alone.
    if (prio == 0) {
        prio = clampRealtimePriority(wanted, -1, maxPriority);
    }
    sched_param param{};
    param.sched_priority = prio;
    // pid 0 is the calling thread (sched_setscheduler is per thread on Linux).
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &param) == 0) {
        return prio;
    }
    const int err = errno;
    Status status = Status::fromErrno(err == EPERM ? Errc::Permission : Errc::Io, err,
                                      "SCHED_FIFO priority " + std::to_string(prio));
    if (!warned.exchange(true)) {
        LOG_WARNING("real-time scheduling not available (%s; RLIMIT_RTPRIO=%ld): audio threads "
                    "run at normal priority and may glitch under load",
                    status.detail().c_str(), rtprio);
    }
    return status;
}

} // namespace voice
