// SPDX-License-Identifier: MIT
// voicectl: the command line for voiced, over org.voiced.Voice1 on the session bus.
//
// Every command is one or two D-Bus calls; `call` and `monitor` then run a
// small single-threaded poll loop over the bus connection and a signalfd.
// Errors are one line on stderr (and an {"error": ...} object on stdout with
// --json); the exit code says which kind of failure it was (exit_codes.h).
#include "exit_codes.h"
#include "peer_names.h"
#include "voice_config.h"
#include "voice_proxy.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <string>
#include <string_view>
#include <sys/signalfd.h>
#include <unistd.h>
#include <vector>

namespace voice::ctl {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

/// The longest --timeout accepted, in seconds (a day).
constexpr double kMaxTimeoutS = 86400;

/// A failure to report: exit code, short kind for --json, message for people.
struct Failure {
    int code;
    std::string message;
};

std::string_view kindForExitCode(int code) {
    switch (code) {
    case kExitUsage:
        return "usage";
    case kExitNoDaemon:
        return "no-daemon";
    case kExitBusy:
        return "busy";
    case kExitOffline:
        return "offline";
    case kExitDeclined:
        return "declined";
    case kExitTimeout:
        return "timeout";
    case kExitUntrusted:
        return "untrusted";
    case kExitNotRegistered:
        return "not-registered";
    case kExitInvalidState:
        return "invalid-state";
    case kExitRateLimited:
        return "rate-limited";
    case kExitInterrupted:
        return "interrupted";
    default:
        return "error";
    }
}

/// One line, printable: newlines and other control characters become spaces.
std::string oneLine(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = ' ';
        }
    }
    return out;
}

void printJson(const Json& j) {
    std::cout << j.dump(-1, ' ', false, Json::error_handler_t::replace) << std::endl;
}

struct CommandSpec {
    std::string_view name;
    std::string_view synopsis;
    std::string_view summary; ///< one line for `voicectl --help`
    std::string_view help;
    std::size_t minArgs;
    std::size_t maxArgs;
    bool waits; ///< accepts --no-wait and --timeout
};

constexpr CommandSpec kCommands[] = {
    {"call", "call NAME [--no-wait] [--timeout SECONDS]", "call NAME and wait for the answer",
     "Calls NAME and waits until the call is answered (exit 0) or fails (busy 4,\n"
     "offline 5, declined 6, timeout 7, untrusted 8, ...), printing what happened.\n"
     "  --no-wait            return as soon as the call is under way\n"
     "  --timeout SECONDS    give up (hang up, exit 7) after SECONDS without an answer;\n"
     "                       by default voiced's own ring timeout applies\n"
     "Ctrl-C while waiting hangs up the attempt (exit 130).\n",
     1, 1, true},
    {"answer", "answer", "answer the ringing call", "Answers the ringing call.\n", 0, 0, false},
    {"reject", "reject", "decline the ringing call",
     "Declines the ringing call; the caller sees \"declined\".\n", 0, 0, false},
    {"hangup", "hangup", "end the call or call attempt", "Ends the current call or call attempt.\n",
     0, 0, false},
    {"register", "register", "register at the relay now (take the name back)",
     "Registers now and waits (up to 15 s): takes the name back from another device\n"
     "with our key ('replaced'), asks again after a refusal. Exits 0 or 9.\n",
     0, 0, false},
    {"status", "status", "show state, peer, identity and call statistics",
     "Prints the call state, peer, registration, mute, identity and call statistics.\n", 0, 0,
     false},
    {"monitor", "monitor", "print events as they happen",
     "Prints the current state, then every event (state changes, incoming calls,\n"
     "ended calls, property changes) as it happens, until interrupted (Ctrl-C, exit 0).\n"
     "With --json, one JSON object per line. Exits 3 when voiced stops.\n",
     0, 0, false},
    {"mute", "mute", "stop sending the microphone",
     "Stops sending the microphone (also for the next call).\n", 0, 0, false},
    {"unmute", "unmute", "resume sending the microphone", "Resumes sending the microphone.\n", 0, 0,
     false},
    {"whoami", "whoami", "show our name and fingerprint",
     "Prints our name at the relay and our identity fingerprint.\n", 0, 0, false},
    {"trust", "trust NAME [FINGERPRINT]", "pin NAME's key",
     "Pins FINGERPRINT (32 hex digits, spaces or colons allowed) as NAME's key.\n"
     "Without FINGERPRINT, trusts the key NAME presented last (after a call failed\n"
     "as untrusted). Compare the fingerprint with NAME first, e.g. by phone.\n",
     1, 2, false},
};

const CommandSpec* findCommand(std::string_view name) {
    for (const auto& c : kCommands) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

void printMainHelp() {
    std::cout << "Usage: voicectl [--json] COMMAND [ARGS...]\n"
                 "       voicectl COMMAND --help | --help | --version\n\n"
                 "Controls voiced, the voice call daemon, over the session bus.\n\n"
                 "Commands:\n";
    for (const auto& c : kCommands) {
        std::printf("  %-42s %s\n", std::string(c.synopsis).c_str(),
                    std::string(c.summary).c_str());
    }
    std::cout << "\nOptions:\n"
                 "  --json       machine-readable output (errors too, as {\"error\": ...})\n"
                 "  -h, --help   this help, or a command's help after the command\n"
                 "  --version    print the version\n\n"
              << kExitCodeHelp;
}

void printCommandHelp(const CommandSpec& c) {
    std::cout << "Usage: voicectl [--json] " << c.synopsis << "\n\n"
              << c.help << "\n"
              << kExitCodeHelp;
}

struct Options {
    bool json = false;
    bool help = false;
    bool version = false;
    bool noWait = false;
    std::optional<double> timeoutS;
    const CommandSpec* command = nullptr;
    std::vector<std::string> args;
};

Failure usage(const std::string& message, const Options& o) {
    const std::string hint =
        o.command ? "voicectl " + std::string(o.command->name) + " --help" : "voicectl --help";
    return {kExitUsage, message + " (see '" + hint + "')"};
}

double parseTimeout(const std::string& text, const Options& o) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v) ||
        v <= 0 || v > kMaxTimeoutS) {
        throw usage("invalid --timeout '" + oneLine(text) + "': expected seconds, 0 < s <= 86400",
                    o);
    }
    return v;
}

Options parseArgs(int argc, char** argv) {
    Options o;
    std::vector<std::string> positional;
    bool optionsDone = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (optionsDone || a.empty() || a[0] != '-' || a == "-") {
            positional.push_back(a);
        } else if (a == "--") {
            optionsDone = true;
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--help" || a == "-h") {
            o.help = true;
        } else if (a == "--version") {
            o.version = true;
        } else if (a == "--no-wait") {
            o.noWait = true;
        } else if (a == "--timeout") {
            if (i + 1 >= argc) {
                throw usage("--timeout needs a value", o);
            }
            o.timeoutS = parseTimeout(argv[++i], o);
        } else if (a.rfind("--timeout=", 0) == 0) {
            o.timeoutS = parseTimeout(a.substr(10), o);
        } else {
            throw usage("unknown option '" + oneLine(a) + "'", o);
        }
        // The first positional names the command.
        if (!o.command && !positional.empty()) {
            const std::string& name = positional.front();
            if (name == "help") {
                o.help = true;
            } else {
                o.command = findCommand(name);
                if (!o.command) {
                    throw usage("unknown command '" + oneLine(name) + "'", o);
                }
            }
            positional.erase(positional.begin());
        }
    }
    o.args = std::move(positional);
    if (o.help || o.version) {
        // `voicectl help call` is `voicectl call --help`.
        if (o.help && !o.command && !o.args.empty()) {
            o.command = findCommand(o.args.front());
            if (!o.command) {
                throw usage("unknown command '" + oneLine(o.args.front()) + "'", o);
            }
        }
        return o;
    }
    if (!o.command) {
        throw usage("no command given", o);
    }
    if (o.args.size() < o.command->minArgs || o.args.size() > o.command->maxArgs) {
        throw usage(o.args.size() < o.command->minArgs ? "missing argument" : "too many arguments",
                    o);
    }
    if (!o.command->waits && (o.noWait || o.timeoutS)) {
        throw usage(std::string(o.noWait ? "--no-wait" : "--timeout") + " only applies to 'call'",
                    o);
    }
    return o;
}

void requireValidPeer(const std::string& peer, const Options& o) {
    if (!isValidPeerName(peer)) {
        throw usage("invalid peer name " + quoteForMessage(peer) +
                        ": use 1 to 32 characters from a-z, 0-9, '.', '_' and '-'",
                    o);
    }
}

/// Turns an error from the bus or voiced into a Failure.
Failure fromDbus(const sdbus::Error& e) {
    const int code = exitCodeForDbusError(e.getName());
    if (code == kExitNoDaemon) {
        if (e.getName().starts_with("org.freedesktop.DBus.Error.Spawn.")) {
            return {code, "voiced is not running and could not be started (" +
                              oneLine(e.getMessage()) + ")"};
        }
        return {code, "voiced is not running (nothing owns org.voiced.Voice1 on the session bus)"};
    }
    std::string message = e.getMessage().empty() ? e.getName() : e.getMessage();
    if (code != kExitError) {
        message = std::string(kindForExitCode(code)) + ": " + message;
    } else if (e.getName().rfind("org.voiced.", 0) != 0) {
        message += " [" + e.getName() + "]";
    }
    return {code, message};
}

std::unique_ptr<sdbus::IConnection> connectSessionBus() {
    try {
        // Explicitly the session bus: a proxy without a connection would
        // open the system bus.
        return sdbus::createSessionBusConnection();
    } catch (const sdbus::Error& e) {
        throw Failure{kExitNoDaemon, "cannot connect to the session bus (" +
                                         oneLine(e.getMessage()) +
                                         "); is DBUS_SESSION_BUS_ADDRESS set?"};
    }
}

// ---- values --------------------------------------------------------------

Json variantToJson(const sdbus::Variant& v);

Json mapToJson(const std::map<std::string, sdbus::Variant>& m) {
    Json j = Json::object();
    for (const auto& [key, value] : m) {
        j[key] = variantToJson(value);
    }
    return j;
}

Json variantToJson(const sdbus::Variant& v) {
    try {
        const std::string t = v.peekValueType();
        if (t == "s") {
            return v.get<std::string>();
        }
        if (t == "b") {
            return v.get<bool>();
        }
        if (t == "d") {
            return v.get<double>();
        }
        if (t == "t") {
            return v.get<std::uint64_t>();
        }
        if (t == "u") {
            return v.get<std::uint32_t>();
        }
        if (t == "x") {
            return v.get<std::int64_t>();
        }
        if (t == "i") {
            return v.get<std::int32_t>();
        }
        if (t == "y") {
            return v.get<std::uint8_t>();
        }
        if (t == "as") {
            return v.get<std::vector<std::string>>();
        }
        if (t == "a{sv}") {
            return mapToJson(v.get<std::map<std::string, sdbus::Variant>>());
        }
    } catch (const sdbus::Error&) {
        // fall through: shown as null
    }
    return nullptr;
}

std::string jsonToText(const Json& j) {
    if (j.is_string()) {
        return oneLine(j.get<std::string>());
    }
    if (j.is_boolean()) {
        return j.get<bool>() ? "yes" : "no";
    }
    if (j.is_number_float()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1f", j.get<double>());
        return buf;
    }
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string field(const Json& j, const char* key) {
    return j.contains(key) ? jsonToText(j[key]) : std::string();
}

// ---- waiting -------------------------------------------------------------

/// SIGINT and SIGTERM as a file descriptor, so the poll loop can end
/// cleanly (hang up a pending call) instead of dying mid-way.
class SignalFd {
public:
    SignalFd() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, nullptr);
        fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd_ < 0) {
            throw Failure{kExitError, std::string("signalfd: ") + std::strerror(errno)};
        }
    }
    ~SignalFd() { ::close(fd_); }
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;
    int fd() const { return fd_; }

private:
    int fd_ = -1;
};

enum class WaitEnd { Done, Deadline, Signal };

/// Dispatches bus messages (signal handlers run in here) until done()
/// holds, the deadline passes or SIGINT/SIGTERM arrives.
WaitEnd waitFor(sdbus::IConnection& bus, const SignalFd& signals,
                std::optional<Clock::time_point> deadline, const std::function<bool()>& done) {
    for (;;) {
        while (bus.processPendingRequest()) {
            if (done()) {
                return WaitEnd::Done;
            }
        }
        if (done()) {
            return WaitEnd::Done;
        }
        const auto poll = bus.getEventLoopPollData();
        int timeoutMs = poll.getPollTimeout();
        if (deadline) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now())
                    .count();
            if (left <= 0) {
                return WaitEnd::Deadline;
            }
            const int leftMs = static_cast<int>(left + 1);
            timeoutMs = timeoutMs < 0 ? leftMs : std::min(timeoutMs, leftMs);
        }
        pollfd fds[2] = {{poll.fd, poll.events, 0}, {signals.fd(), POLLIN, 0}};
        if (::poll(fds, 2, timeoutMs) < 0 && errno != EINTR) {
            throw Failure{kExitError, std::string("poll: ") + std::strerror(errno)};
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo info;
            [[maybe_unused]] const ssize_t n = ::read(signals.fd(), &info, sizeof info);
            return WaitEnd::Signal;
        }
    }
}

/// Sets *gone when voiced leaves the bus (its name loses its owner).
sdbus::Slot watchDaemon(sdbus::IConnection& bus, bool* gone) {
    const std::string rule = std::string("type='signal',sender='org.freedesktop.DBus',"
                                         "interface='org.freedesktop.DBus',"
                                         "member='NameOwnerChanged',arg0='") +
                             kBusName + "'";
    return bus.addMatch(rule, [gone](sdbus::Message& msg) {
        try {
            std::string name, oldOwner, newOwner;
            msg >> name >> oldOwner >> newOwner;
            if (name == kBusName && newOwner.empty()) {
                *gone = true;
            }
        } catch (const sdbus::Error&) {
            // a malformed signal from the bus itself: ignore
        }
    });
}

// ---- commands ------------------------------------------------------------

std::string endMessage(const std::string& peer, const std::string& reason) {
    if (reason == "busy") {
        return peer + " is busy";
    }
    if (reason == "offline") {
        return peer + " is offline";
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
        throw fromDbus(e);
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
            {"concealed_frames", "concealed:   %s frames"},
            {"codec", "codec:       %s"},
            {"cipher", "cipher:      %s"},
            {"packets_rejected", "rejected:    %s packets"},
        };
        const Json& stats = status["stats"];
        for (const auto& [key, format] : kLabels) {
            if (stats.contains(key)) {
                std::printf(format, jsonToText(stats[key]).c_str());
                std::printf("\n");
            }
        }
    }
    std::cout << std::flush;
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

int cmdTrust(const Options& o) {
    const std::string peer = o.args.at(0);
    requireValidPeer(peer, o);
    std::string fingerprint;
    if (o.args.size() > 1) {
        auto normalized = normalizeFingerprint(o.args[1]);
        if (!normalized) {
            throw usage("invalid fingerprint " + quoteForMessage(o.args[1]) +
                            ": expected 32 hex digits, optionally grouped with spaces or colons",
                        o);
        }
        fingerprint = *normalized;
    }
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    try {
        proxy.Trust(peer, fingerprint);
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    if (o.json) {
        printJson({{"peer", peer}, {"fingerprint", fingerprint}, {"trusted", true}});
    } else if (fingerprint.empty()) {
        std::cout << "trusting the key " << peer << " presented last" << std::endl;
    } else {
        std::cout << "trusting " << peer << " with key " << fingerprint << std::endl;
    }
    return kExitOk;
}

int run(const Options& o) {
    if (o.help) {
        if (o.command) {
            printCommandHelp(*o.command);
        } else {
            printMainHelp();
        }
        return kExitOk;
    }
    if (o.version) {
        if (o.json) {
            printJson({{"version", VOICE_VERSION}});
        } else {
            std::cout << "voicectl " << VOICE_VERSION << std::endl;
        }
        return kExitOk;
    }
    const std::string_view name = o.command->name;
    const Json ok = {{"ok", true}};
    if (name == "call") {
        return cmdCall(o);
    }
    if (name == "answer") {
        return cmdSimple(
            o, [](VoiceProxy& p) { p.Answer(); }, ok);
    }
    if (name == "reject") {
        return cmdSimple(
            o, [](VoiceProxy& p) { p.Reject(); }, ok);
    }
    if (name == "hangup") {
        return cmdSimple(
            o, [](VoiceProxy& p) { p.Hangup(); }, ok);
    }
    if (name == "mute" || name == "unmute") {
        const bool muted = name == "mute";
        return cmdSimple(o, [muted](VoiceProxy& p) { p.SetMuted(muted); }, {{"muted", muted}});
    }
    if (name == "status") {
        return cmdStatus(o);
    }
    if (name == "register") {
        return cmdRegister(o);
    }
    if (name == "monitor") {
        return cmdMonitor(o);
    }
    if (name == "whoami") {
        return cmdWhoami(o);
    }
    if (name == "trust") {
        return cmdTrust(o);
    }
    throw Failure{kExitError, "command not implemented"};
}

bool wantsJson(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--") {
            break;
        }
        if (std::string_view(argv[i]) == "--json") {
            return true;
        }
    }
    return false;
}

} // namespace
} // namespace voice::ctl

int main(int argc, char** argv) {
    using namespace voice::ctl;
    // Events must reach a pipe (a script, `monitor | ...`) as they happen.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        return run(parseArgs(argc, argv));
    } catch (const Failure& f) {
        std::cerr << "voicectl: " << oneLine(f.message) << std::endl;
        if (wantsJson(argc, argv)) {
            printJson({{"error", kindForExitCode(f.code)}, {"message", f.message}});
        }
        return f.code;
    } catch (const sdbus::Error& e) {
        const Failure f = fromDbus(e);
        std::cerr << "voicectl: " << oneLine(f.message) << std::endl;
        if (wantsJson(argc, argv)) {
            printJson({{"error", kindForExitCode(f.code)}, {"message", f.message}});
        }
        return f.code;
    } catch (const std::exception& e) {
        std::cerr << "voicectl: " << oneLine(e.what()) << std::endl;
        return kExitError;
    }
}
