// SPDX-License-Identifier: MIT
// voicectl's history command: the calls voiced made and received, newest first.
#include "cli.h"
#include "voice_proxy.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace voice::ctl {

namespace {

std::string formatDuration(std::uint64_t s) {
    char buf[32];
    if (s >= 3600) {
        std::snprintf(
            buf, sizeof buf, "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
            static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
    } else {
        std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(s / 60),
                      static_cast<unsigned long long>(s % 60));
    }
    return buf;
}

} // namespace

int cmdHistory(const Options& o) {
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    Json list;
    try {
        list = listToJson(proxy.History(o.limit.value_or(0)));
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    if (o.json) {
        printJson({{"history", list}});
        return kExitOk;
    }
    if (list.empty()) {
        std::cout << "no calls yet" << std::endl;
        return kExitOk;
    }
    for (const Json& e : list) {
        const std::int64_t start = intField(e, "start");
        const auto duration =
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, intField(e, "duration")));
        const std::string outcome = field(e, "outcome");
        std::string detail;
        if (outcome == "answered") {
            detail = formatDuration(duration);
        } else if (outcome == "failed") {
            detail = field(e, "reason");
        }
        std::printf("%s  %-3s %-16s %-9s %s\n", localTime(start).c_str(),
                    field(e, "direction").c_str(), field(e, "peer").c_str(), outcome.c_str(),
                    detail.c_str());
    }
    std::fflush(stdout);
    return kExitOk;
}

} // namespace voice::ctl
