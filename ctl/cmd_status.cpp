// SPDX-License-Identifier: MIT
// voicectl's status commands: status, monitor, whoami, register.
#include "cli.h"
#include "voice_proxy.h"
#include "wait.h"

#include <cstdio>
#include <iostream>
#include <poll.h>
#include <tuple>

namespace voice::ctl {

int cmdStatus(const Options& o) {
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    Json status;
    try {
        status = mapToJson(proxy.Status());
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    if (o.json) {
        printJson(status);
        return kExitOk;
    }
    std::cout << "state:       " << field(status, "state") << "\n";
    const std::string peer = field(status, "peer");
    if (!peer.empty()) {
        std::cout << "peer:        " << peer << "\n";
    }
    std::cout << "registered:  " << field(status, "registered") << "\n";
    const std::string registration = field(status, "registration");
    if (registration == "replaced" || registration == "refused") {
        // "registration refused: name taken (...)"; `voicectl register` retries.
        std::cout << "registration " << registration << ": " << field(status, "registration_detail")
                  << "\n";
    }
    std::cout << "muted:       " << field(status, "muted") << "\n"
              << "name:        " << field(status, "name") << "\n"
              << "fingerprint: " << field(status, "fingerprint") << "\n";
    const std::string sas = field(status, "sas");
    if (!sas.empty()) {
        // Read aloud and compared with the peer's: equal codes mean no one in the middle.
        std::cout << "code:        " << oneLine(sas) << "\n";
    }
    if (status.contains("stats") && status["stats"].is_object()) {
        static const std::pair<const char*, const char*> kLabels[] = {
            {"duration_s", "duration:    %s s"},
            {"latency_ms", "latency:     %s ms (median)"},
            {"latency_p99_ms", "latency p99: %s ms"},
            {"jitter_ms", "jitter:      %s ms"},
            {"loss_percent", "loss:        %s %%"},
            {"packets_late", "late:        %s packets (came after their frame was concealed)"},
            {"concealed_frames", "concealed:   %s frames"},
            {"concealed_quiet_frames", "  of them quiet: %s frames (below -50 dBFS)"},
            {"codec", "codec:       %s"},
            {"cipher", "cipher:      %s"},
            {"packets_rejected", "rejected:    %s packets"},
            {"echo_cancel", "echo cancel: %s"},
            {"echo_attenuation_db", "echo atten.: %s dB"},
            {"noise_suppression", "noise supp.: %s"},
            {"auto_gain", "auto gain:   %s"},
        };
        const Json& stats = status["stats"];
        for (const auto& [key, format] : kLabels) {
            if (stats.contains(key)) {
                std::printf(format, jsonToText(stats[key]).c_str());
                std::printf("\n");
            }
        }
        // Which scheduling each audio thread got: "fifo:20", "rtkit:20"
        // (SCHED_RR granted by RTKit) or "other".
        const bool rtkit = stats.contains("sched_rtkit") && stats["sched_rtkit"].is_boolean() &&
                           stats["sched_rtkit"].get<bool>();
        std::string sched;
        for (const char* thread : {"recorder", "transmitter", "receiver", "player"}) {
            const std::string key = std::string("sched_") + thread;
            if (!stats.contains(key)) {
                continue;
            }
            const std::string prio = jsonToText(stats[key]);
            sched += std::string(sched.empty() ? "" : " ") + thread + "=" +
                     (prio == "0" ? std::string("other") : (rtkit ? "rtkit:" : "fifo:") + prio);
        }
        if (!sched.empty()) {
            std::printf("scheduling:  %s\n", sched.c_str());
        }
    }
    std::cout << std::flush;
    return kExitOk;
}

int cmdMonitor(const Options& o) {
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    bool gone = false;
    const sdbus::Slot watch = watchDaemon(*bus, &gone);
    const SignalFd signals;

    proxy.stateChangedHandler = [&](const std::string& state, const std::string& peer) {
        if (o.json) {
            printJson({{"event", "state-changed"}, {"state", state}, {"peer", peer}});
        } else {
            std::cout << "state: " << oneLine(state)
                      << (peer.empty() ? "" : " (" + oneLine(peer) + ")") << std::endl;
        }
    };
    proxy.incomingCallHandler = [&](const std::string& peer, const std::string& fingerprint,
                                    const std::string& sas) {
        if (o.json) {
            printJson({{"event", "incoming-call"},
                       {"peer", peer},
                       {"fingerprint", fingerprint},
                       {"sas", sas}});
        } else {
            std::cout << "incoming call from " << oneLine(peer) << " (fingerprint "
                      << oneLine(fingerprint) << ", code " << oneLine(sas) << ")" << std::endl;
        }
    };
    proxy.callEndedHandler = [&](const std::string& peer, const std::string& reason) {
        if (o.json) {
            printJson({{"event", "call-ended"}, {"peer", peer}, {"reason", reason}});
        } else {
            std::cout << "call with " << oneLine(peer) << " ended: " << oneLine(reason)
                      << std::endl;
        }
    };
    proxy.propertiesChangedHandler = [&](const VoiceProxy::PropertyMap& changed) {
        if (o.json) {
            printJson({{"event", "properties-changed"}, {"properties", mapToJson(changed)}});
            return;
        }
        // State and Peer already came as StateChanged; Stats change every
        // second during a call and belong in `status`.
        for (const auto& [name, value] : changed) {
            if (name != "State" && name != "Peer" && name != "Stats") {
                std::cout << name << ": " << jsonToText(variantToJson(value)) << std::endl;
            }
        }
    };

    std::string state;
    std::string peer;
    try {
        state = proxy.State();
        peer = proxy.Peer();
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    // Printed only once subscribed: a reader may act on this line.
    if (o.json) {
        printJson({{"event", "state"}, {"state", state}, {"peer", peer}});
    } else {
        std::cout << "state: " << oneLine(state) << (peer.empty() ? "" : " (" + oneLine(peer) + ")")
                  << std::endl;
    }
    const WaitEnd end = waitFor(*bus, signals, std::nullopt, [&] { return gone; });
    if (end == WaitEnd::Signal) {
        return kExitOk;
    }
    throw Failure{kExitNoDaemon, "voiced stopped"};
}

int cmdWhoami(const Options& o) {
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    std::string name;
    std::string fingerprint;
    try {
        std::tie(name, fingerprint) = proxy.Whoami();
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    if (o.json) {
        printJson({{"name", name}, {"fingerprint", fingerprint}});
    } else {
        std::cout << "name:        " << oneLine(name) << "\n"
                  << "fingerprint: " << oneLine(fingerprint) << std::endl;
    }
    return kExitOk;
}

/// `voicectl register`: Register(), then Registration until it leaves "connecting".
int cmdRegister(const Options& o) {
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    std::string state;
    try {
        proxy.Register();
        const auto deadline = Clock::now() + std::chrono::seconds(15);
        while ((state = proxy.Registration()) == "connecting" && Clock::now() < deadline) {
            ::poll(nullptr, 0, 100);
        }
        if (state != "registered") {
            const std::string detail = proxy.RegistrationDetail();
            throw Failure{kExitNotRegistered, "not registered: " + state + ": " + detail};
        }
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    if (o.json) {
        printJson({{"registration", state}});
    } else {
        std::cout << state << std::endl;
    }
    return kExitOk;
}

} // namespace voice::ctl
