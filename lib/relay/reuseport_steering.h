// SPDX-License-Identifier: MIT
// Reuseport steering: how many of the relay's media threads the kernel hands datagrams to.
#pragma once

#include "core/status.h"

#include <cstdint>

namespace voice {

/// Which of a SO_REUSEPORT group's sockets get the datagrams.
enum class MediaSpread {
    First, ///< all to the group's first socket: one media thread works, the others sleep
    All,   ///< the kernel's flow hash over every socket (its default): all threads work
};

/// Sets the group of `fd` (any socket of it) to `spread`: First attaches a
/// classic BPF program that returns index 0 (SO_ATTACH_REUSEPORT_CBPF), All
/// detaches it (SO_DETACH_REUSEPORT_BPF). A datagram already queued stays
/// where it is, so a switch can reorder a few packets of a flow once.
Status setMediaSpread(int fd, MediaSpread spread);

/// Sizes the media threads to the load, with hysteresis: under light load
/// one thread forwards everything, so the others do not wake per packet (at
/// 10k packets/s two threads cost 1.3x one thread per packet: each wakes for
/// half the packets and gathers smaller batches); above `spreadAbove`
/// datagrams/s the load is spread over all threads for capacity, and back to
/// one below `gatherBelow`.
///
/// Threading: not thread-safe; the relay's control loop owns one.
class MediaThreadSizer {
public:
    struct Limits {
        double spreadAbove = 150000; ///< datagrams/s over all threads
        double gatherBelow = 60000;
    };
    MediaThreadSizer() : MediaThreadSizer(Limits{}) {}
    explicit MediaThreadSizer(Limits limits) : limits_(limits) {}

    /// Given the datagrams/s just measured, the spread to use now.
    MediaSpread update(double datagramsPerSecond) {
        if (spread_ == MediaSpread::First && datagramsPerSecond > limits_.spreadAbove) {
            spread_ = MediaSpread::All;
        } else if (spread_ == MediaSpread::All && datagramsPerSecond < limits_.gatherBelow) {
            spread_ = MediaSpread::First;
        }
        return spread_;
    }
    MediaSpread spread() const { return spread_; }

private:
    Limits limits_;
    MediaSpread spread_ = MediaSpread::First;
};

} // namespace voice
