// SPDX-License-Identifier: MIT
// Reuseport steering: how many of the relay's media threads the kernel hands datagrams to.
#include "relay/reuseport_steering.h"

#include <cerrno>
#include <linux/filter.h>
#include <sys/socket.h>

#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

namespace voice {

Status setMediaSpread(int fd, MediaSpread spread) {
    if (spread == MediaSpread::All) {
        int zero = 0;
        // ENOENT: no program attached, already spread.
        if (::setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &zero, sizeof zero) != 0 &&
            errno != ENOENT) {
            return Status::fromErrno(Errc::Io, errno, "SO_DETACH_REUSEPORT_BPF");
        }
        return Status();
    }
    // The returned value is the index of the socket in the group; 0 is the
    // first one bound.
    sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 0}};
    sock_fprog prog{};
    prog.len = 1;
    prog.filter = code;
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0) {
        return Status::fromErrno(Errc::Io, errno, "SO_ATTACH_REUSEPORT_CBPF");
    }
    return Status();
}

} // namespace voice
