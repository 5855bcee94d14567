// SPDX-License-Identifier: MIT
// UniqueFd: closing without retrying on EINTR (Linux always frees the fd).
#include "core/unique_fd.h"

#include <unistd.h>

namespace voice {

void UniqueFd::reset(int fd) {
    const int old = std::exchange(fd_, fd);
    if (old >= 0 && old != fd) {
        // On Linux the descriptor is released even when close() reports
        // EINTR, so retrying could close a descriptor another thread opened.
        ::close(old);
    }
}

} // namespace voice
