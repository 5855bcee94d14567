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
/// When that is refused (RLIMIT_RTPRIO 0 and no CAP_SYS_NICE: most
/// desktops), asks RTKit as PipeWire does (makeThreadRealtimeWithRtkit).
/// When neither works the thread stays as it is, a warning is logged
/// once per process, and a Permission status is returned: callers carry on
/// without real-time priority. Call it at the start of an audio thread,
/// before its real-time loop (it may log synchronously and wait up to a
/// second for RTKit).
Result<int> makeThreadRealtime(int wanted = 20);

/// org.freedesktop.RealtimeKit1 on the system bus (DBUS_SYSTEM_BUS_ADDRESS
/// when set): sets RLIMIT_RTTIME to at most RTKit's RTTimeUSecMax first (RTKit
/// refuses a process without it; a real-time thread that spins longer gets
/// SIGXCPU), then MakeThreadRealtime(this thread, wanted clamped to
/// MaxRealtimePriority). RTKit picks the policy (SCHED_RR by default). Returns
/// the priority granted; Unsupported without a bus or RTKit, Permission when
/// RTKit refuses.
Result<int> makeThreadRealtimeWithRtkit(int wanted);

/// Puts the calling thread back to SCHED_OTHER (always permitted). Call it
/// when an audio thread leaves its real-time loop, before its buffers are
/// freed and the thread exits: teardown takes allocator locks, and a
/// SCHED_FIFO thread spinning for a lock that a lower-priority thread on
/// the same CPU holds never lets that thread run (AddressSanitizer's
/// quarantine lock is a spin lock: a call's four threads, pinned to one CPU,
/// livelocked at hangup in an ASan CI run).
void leaveRealtime();

/// Whether this thread's real-time scheduling came from RTKit (set by
/// makeThreadRealtime on the calling thread).
bool threadRealtimeViaRtkit();

} // namespace voice
