// SPDX-License-Identifier: MIT
// makeThreadRealtime: SCHED_FIFO within RLIMIT_RTPRIO, or a single warning.
#include "audio/realtime.h"

#include "core/log.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <sched.h>
#include <string>
#include <sys/resource.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

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

namespace {

thread_local bool tViaRtkit = false;

constexpr const char* kRtkitName = "org.freedesktop.RealtimeKit1";
constexpr const char* kRtkitPath = "/org/freedesktop/RealtimeKit1";

Status busError(Errc code, const char* what, int r, const sd_bus_error& err) {
    return Status(code, std::string("rtkit: ") + what + ": " +
                            (err.message != nullptr ? err.message : std::strerror(-r)));
}

} // namespace

void leaveRealtime() {
    sched_param param{};
    param.sched_priority = 0;
    (void)sched_setscheduler(0, SCHED_OTHER, &param);
    tViaRtkit = false;
}

bool threadRealtimeViaRtkit() {
    return tViaRtkit;
}

Result<int> makeThreadRealtimeWithRtkit(int wanted) {
    sd_bus* raw = nullptr;
    int r = sd_bus_open_system(&raw);
    if (r < 0) {
        return Status(Errc::Unsupported, std::string("rtkit: system bus: ") + std::strerror(-r));
    }
    std::unique_ptr<sd_bus, sd_bus* (*)(sd_bus*)> bus(raw, sd_bus_flush_close_unref);
    (void)sd_bus_set_method_call_timeout(bus.get(), 1'000'000); // 1 s
    sd_bus_error err = SD_BUS_ERROR_NULL;
    int32_t maxPriority = 0;
    int64_t rttimeMax = 0;
    r = sd_bus_get_property_trivial(bus.get(), kRtkitName, kRtkitPath, kRtkitName,
                                    "MaxRealtimePriority", &err, 'i', &maxPriority);
    if (r >= 0) {
        r = sd_bus_get_property_trivial(bus.get(), kRtkitName, kRtkitPath, kRtkitName,
                                        "RTTimeUSecMax", &err, 'x', &rttimeMax);
    }
    if (r < 0) {
        Status s = busError(Errc::Unsupported, "properties", r, err);
        sd_bus_error_free(&err);
        return s;
    }
    if (maxPriority < 1 || rttimeMax <= 0) {
        return Status(Errc::Permission, "rtkit grants no real-time priority");
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_RTTIME, &limit) != 0) {
        return Status::fromErrno(Errc::Io, errno, "getrlimit(RLIMIT_RTTIME)");
    }
    const auto most = static_cast<rlim_t>(rttimeMax);
    if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max > most || limit.rlim_cur > most) {
        limit.rlim_cur = std::min(limit.rlim_cur, most);
        limit.rlim_max = std::min(limit.rlim_max, most);
        if (setrlimit(RLIMIT_RTTIME, &limit) != 0) {
            return Status::fromErrno(Errc::Io, errno, "setrlimit(RLIMIT_RTTIME)");
        }
    }
    const int prio = std::clamp(wanted, 1, static_cast<int>(maxPriority));
    r = sd_bus_call_method(bus.get(), kRtkitName, kRtkitPath, kRtkitName, "MakeThreadRealtime",
                           &err, nullptr, "tu", static_cast<uint64_t>(gettid()),
                           static_cast<uint32_t>(prio));
    if (r < 0) {
        Status s = busError(Errc::Permission, "MakeThreadRealtime", r, err);
        sd_bus_error_free(&err);
        return s;
    }
    return prio;
}

Result<int> makeThreadRealtime(int wanted) {
    tViaRtkit = false;
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
    if (err == EPERM) {
        // A desktop user: RLIMIT_RTPRIO 0. Ask RTKit, as PipeWire does.
        auto granted = makeThreadRealtimeWithRtkit(wanted);
        if (granted.ok()) {
            tViaRtkit = true;
            return granted;
        }
        status = Status(status.code(), status.detail() + "; " + granted.status().detail());
    }
    if (!warned.exchange(true)) {
        LOG_WARNING("real-time scheduling not available (%s; RLIMIT_RTPRIO=%ld): audio threads "
                    "run at normal priority and may glitch under load",
                    status.detail().c_str(), rtprio);
    }
    return status;
}

} // namespace voice
