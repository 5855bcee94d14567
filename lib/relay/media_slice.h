// SPDX-License-Identifier: MIT
// Media slice: asks the kernel to run a media thread soon after a datagram wakes it.
#pragma once

#include "core/status.h"

#include <chrono>

namespace voice {

/// Gives the calling thread a short scheduler slice (sched_setattr's
/// sched_runtime for a SCHED_OTHER thread; EEVDF, Linux 6.12 and later).
///
/// Why: a media thread sleeps until a datagram wakes it, works for a few
/// microseconds and sleeps again. On a busy machine (other processes using
/// every core) the kernel's default slice (0.75 ms or more) lets the running
/// CPU-bound task finish its slice before the woken media thread runs, so a
/// packet waited up to a millisecond in the relay's socket; a packet across
/// relays waits for two media threads, so the trunk hop (issue 19) paid it
/// twice. A short slice gives the thread an earlier deadline, so its wake-up
/// preempts the running task at once. It changes no priority or share: the
/// thread still gets its fair share of CPU, cut in shorter slices (more
/// switches only if it ever ran long, which a media thread does not), needs
/// no privilege, and keeps the thread's nice value. Older kernels ignore
/// sched_runtime for SCHED_OTHER (no effect, no error); an error (seccomp,
/// an unknown syscall) is returned for the caller to log.
Status requestShortSlice(std::chrono::microseconds slice);

/// The slice the media threads ask for: the kernel's minimum (0.1 ms).
constexpr std::chrono::microseconds kMediaSlice{100};

} // namespace voice
