// SPDX-License-Identifier: MIT
// What the relay benches measure with: the one host clock, a process's CPU time, quantiles.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

namespace voice::bench {

/// CLOCK_MONOTONIC in microseconds: senders stamp packets with it and
/// receivers on the same host subtract it (one clock, no offset to estimate).
inline uint64_t nowUs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

/// CLOCK_REALTIME in microseconds: the clock of the kernel's receive
/// timestamps (SO_TIMESTAMPNS), for senders whose receivers read those.
inline uint64_t wallUs() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

/// utime + stime of every thread of `pid` so far (/proc/PID/stat), seconds.
inline double cpuSeconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = all.rfind(')'); // the command name may hold spaces and parentheses
    if (close == std::string::npos) {
        return 0;
    }
    std::istringstream rest(all.substr(close + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) {
            utime = std::stoul(field);
        } else if (i == 15) {
            stime = std::stoul(field);
        }
    }
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

/// The q-quantile (0..1) of v, reordering v; 0 for an empty v.
template <typename T>
double quantile(std::vector<T>& v, double q) {
    if (v.empty()) {
        return 0;
    }
    size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return double(v[k]);
}

} // namespace voice::bench
