// SPDX-License-Identifier: MIT
// voicectl's call-control commands: call, answer, reject, hangup, mute, unmute.
#include "cli.h"
#include "voice_proxy.h"
#include "wait.h"

#include <functional>
#include <iostream>

namespace voice::ctl {
namespace {

std::string endMessage(const std::string& peer, const std::string& reason) {
    if (reason == "busy") {
        return peer + " is busy";
    }
    if (reason == "offline") {
        return peer + " is offline";
    }
    if (reason == "unavailable") {
        return peer + " cannot be reached now (the relay cluster is unavailable); try again";
    }
    if (reason == "declined") {
        return peer + " declined the call";
    }
    if (reason == "timeout") {
        return peer + " did not answer";
    }
    if (reason == "untrusted") {
        return peer +
               "'s key does not match the pinned one; compare fingerprints, then run "
               "'voicectl trust " +
               peer + "'";
    }
    if (reason == "hangup") {
        return "the call to " + peer + " was hung up before it was answered";
    }
    if (reason == "peer-lost") {
        return "lost the connection to " + peer;
    }
    return "the call to " + peer + " failed (" + oneLine(reason) + ")";
}

bool peerRingsUs(VoiceProxy& proxy, const std::string& peer) {
    try {
        return proxy.State() == "ringing" && proxy.Peer() == peer;
    } catch (const sdbus::Error&) {
        return false;
    }
}

int cmdSimple(const Options& o, const std::function<void(VoiceProxy&)>& action,
              const Json& jsonResult) {
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    try {
        action(proxy);
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    if (o.json) {
        printJson(jsonResult);
    }
    return kExitOk;
}

} // namespace

int cmdCall(const Options& o) {
    const std::string peer = o.args.at(0);
    requireValidPeer(peer, o);
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);

    bool answered = false;
    bool idle = false;
    bool gone = false;
    std::optional<std::string> endReason;
    proxy.stateChangedHandler = [&](const std::string& state, const std::string& who) {
        if (state == "in-call" && who == peer) {
            answered = true;
        } else if (state == "idle") {
            idle = true;
        }
    };
    proxy.callEndedHandler = [&](const std::string& who, const std::string& reason) {
        if (who == peer) {
            endReason = reason;
        }
    };
    const sdbus::Slot watch = watchDaemon(*bus, &gone);
    // Subscribed and signals blocked before the call starts, so neither an
    // early answer nor an early Ctrl-C is missed.
    const SignalFd signals;

    try {
        proxy.Call(peer);
    } catch (const sdbus::Error& e) {
        Failure f = fromDbus(e);
        if (f.code == kExitInvalidState) {
            // voiced refuses a second call while one is ringing, being made
            // or going on: for a script that is "busy", as when the peer is.
            f = {kExitBusy, "busy: we are already in a call (" + oneLine(e.getMessage()) + ")"};
        }
        throw f;
    }
    if (o.noWait) {
        if (o.json) {
            printJson({{"peer", peer}, {"state", "calling"}});
        } else {
            std::cout << "calling " << peer << std::endl;
        }
        return kExitOk;
    }

    std::optional<Clock::time_point> deadline;
    if (o.timeoutS) {
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(*o.timeoutS));
    }
    const WaitEnd end =
        waitFor(*bus, signals, deadline, [&] { return answered || endReason || idle || gone; });
    auto cancel = [&] {
        try {
            proxy.Hangup();
        } catch (const sdbus::Error&) {
            // the attempt may have ended meanwhile; nothing left to cancel
        }
    };
    if (end == WaitEnd::Signal) {
        cancel();
        throw Failure{kExitInterrupted, "interrupted; the call to " + peer + " was hung up"};
    }
    if (end == WaitEnd::Deadline) {
        cancel();
        throw Failure{kExitTimeout, peer + " did not answer within the --timeout; hung up"};
    }
    if (answered) {
        if (o.json) {
            printJson({{"peer", peer}, {"state", "in-call"}});
        } else {
            std::cout << "in call with " << peer << std::endl;
        }
        return kExitOk;
    }
    if (endReason == "busy" && peerRingsUs(proxy, peer)) {
        // Glare: peer called us at the same moment and its call won.
        throw Failure{kExitBusy, peer + " called you at the same moment; that call rings now "
                                        "('voicectl answer' takes it)"};
    }
    if (endReason) {
        throw Failure{exitCodeForEndReason(*endReason), endMessage(peer, *endReason)};
    }
    if (gone) {
        throw Failure{kExitNoDaemon, "voiced stopped while calling " + peer};
    }
    throw Failure{kExitError, "the call to " + peer + " ended"};
}

int cmdAnswer(const Options& o) {
    return cmdSimple(o, [](VoiceProxy& p) { p.Answer(); }, {{"ok", true}});
}

int cmdReject(const Options& o) {
    return cmdSimple(o, [](VoiceProxy& p) { p.Reject(); }, {{"ok", true}});
}

int cmdHangup(const Options& o) {
    return cmdSimple(o, [](VoiceProxy& p) { p.Hangup(); }, {{"ok", true}});
}

int cmdMute(const Options& o, bool muted) {
    return cmdSimple(o, [muted](VoiceProxy& p) { p.SetMuted(muted); }, {{"muted", muted}});
}

} // namespace voice::ctl
