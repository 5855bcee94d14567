// SPDX-License-Identifier: MIT
// Media slice: asks the kernel to run a media thread soon after a datagram wakes it.
#include "relay/media_slice.h"

#include <cerrno>
#include <cstdint>
#include <sys/syscall.h>
#include <unistd.h>

namespace voice {

namespace {

// include/uapi/linux/sched/types.h (glibc has no wrapper before 2.41).
struct SchedAttr {
    uint32_t size;
    uint32_t policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime; // ns: the slice, for SCHED_OTHER
    uint64_t deadline;
    uint64_t period;
    uint32_t utilMin;
    uint32_t utilMax;
};

} // namespace

Status requestShortSlice(std::chrono::microseconds slice) {
    SchedAttr attr{};
    // Read first, so policy, nice and the rest stay as they are.
    if (::syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) {
        return Status::fromErrno(Errc::Io, errno, "sched_getattr");
    }
    attr.size = sizeof attr;
    attr.runtime = uint64_t(std::chrono::nanoseconds(slice).count());
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
        return Status::fromErrno(Errc::Io, errno, "sched_setattr");
    }
    return Status();
}

} // namespace voice
