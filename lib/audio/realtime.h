// SPDX-License-Identifier: MIT
// Real-time scheduling for the audio threads, asked for in one place.
#pragma once

#include "core/result.h"

namespace voice {

/// The priority actually requestable: `wanted` clamped to [1, maxPriority]
/// and, when rlimitRtprio is not unlimited (< 0 means unlimited), to it.
/// Returns 0 when the limit allows no real-time priority at all. Pure.
int clampRealtimePriority(int wanted, long rlimitRtprio, int maxPriority);

/// Makes the calling thread SCHED_FIFO | SCHED_RESET_ON_FORK (children do
/// not inherit it) at `wanted` clamped to RLIMIT_RTPRIO and
/// sched_get_priority_max(SCHED_FIFO). Returns the priority set.
///
/// When it is not allowed (no RLIMIT_RTPRIO, no CAP_SYS_NICE, a container
/// without the capability) the thread stays as it is, a warning is logged
/// once per process, and a Permission status is returned: callers carry on
/// without real-time priority. Call it at the start of an audio thread,
/// before its real-time loop (it may log synchronously).
Result<int> makeThreadRealtime(int wanted = 20);

} // namespace voice
