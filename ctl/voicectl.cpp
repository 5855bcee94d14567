// SPDX-License-Identifier: MIT
// voicectl: the command line for voiced, over org.voiced.Voice1 on the session bus.
//
// Every command is one or two D-Bus calls; `call` and `monitor` then run a
// small single-threaded poll loop over the bus connection and a signalfd.
// Errors are one line on stderr (and an {"error": ...} object on stdout with
// --json); the exit code says which kind of failure it was (exit_codes.h).
// This file holds the command table, argument parsing and dispatch; the
// output and exit-code contract is cli.h, the commands are cmd_*.cpp.
#include "cli.h"
#include "voice_config.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace voice::ctl {
namespace {

/// The longest --timeout accepted, in seconds (a day).
constexpr double kMaxTimeoutS = 86400;
/// The largest --limit accepted (voiced keeps no more calls than this).
constexpr unsigned long kMaxLimit = 1000;

constexpr CommandSpec kCommands[] = {
    {"call", "call NAME [--no-wait] [--timeout SECONDS]", "call NAME and wait for the answer",
     "Calls NAME and waits until the call is answered (exit 0) or fails (busy 4:\n"
     "NAME or we are already in a call; offline 5, declined 6, timeout 7,\n"
     "untrusted 8, unavailable 12, ...), printing what happened.\n"
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
     "as untrusted). Compare the fingerprint with NAME first, e.g. by phone.\n"
     "A fingerprint given here marks the contact as verified.\n",
     1, 2, false},
    {"contacts", "contacts", "list the pinned peers",
     "Lists the pinned peers: name, fingerprint, whether the key was verified\n"
     "(pinned with 'voicectl trust NAME FINGERPRINT', not only on first call) and\n"
     "when we last called. With --json: {\"contacts\": [{name, fingerprint, verified,\n"
     "last_call (Unix time, 0 if none)}, ...]}.\n",
     0, 0, false},
    {"history", "history [--limit N]", "list recent calls",
     "Lists the calls voiced made and received, newest first: start, direction (in or\n"
     "out), peer, outcome (answered, missed, declined, busy, cancelled, failed) and\n"
     "the duration or the failure reason. voiced keeps the last 1000 calls in\n"
     "$XDG_STATE_HOME/voiced/history.\n"
     "  --limit N    only the newest N calls (1 to 1000)\n"
     "With --json: {\"history\": [{peer, direction, start, duration, outcome, reason}, ...]}.\n",
     0, 0, false, true},
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

unsigned parseLimit(const std::string& text, const Options& o) {
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || text[0] < '0' || text[0] > '9' || errno != 0 ||
        end != text.c_str() + text.size() || v < 1 || v > kMaxLimit) {
        throw usage("invalid --limit '" + oneLine(text) + "': expected a number from 1 to 1000", o);
    }
    return static_cast<unsigned>(v);
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
        } else if (a == "--limit") {
            if (i + 1 >= argc) {
                throw usage("--limit needs a value", o);
            }
            o.limit = parseLimit(argv[++i], o);
        } else if (a.rfind("--limit=", 0) == 0) {
            o.limit = parseLimit(a.substr(8), o);
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
    if (!o.command->limits && o.limit) {
        throw usage("--limit only applies to 'history'", o);
    }
    if (!o.command->waits && (o.noWait || o.timeoutS)) {
        throw usage(std::string(o.noWait ? "--no-wait" : "--timeout") + " only applies to 'call'",
                    o);
    }
    return o;
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
    if (name == "call") {
        return cmdCall(o);
    }
    if (name == "answer") {
        return cmdAnswer(o);
    }
    if (name == "reject") {
        return cmdReject(o);
    }
    if (name == "hangup") {
        return cmdHangup(o);
    }
    if (name == "mute" || name == "unmute") {
        return cmdMute(o, name == "mute");
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
    if (name == "contacts") {
        return cmdContacts(o);
    }
    if (name == "history") {
        return cmdHistory(o);
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
        return report(f, wantsJson(argc, argv));
    } catch (const sdbus::Error& e) {
        return report(fromDbus(e), wantsJson(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "voicectl: " << oneLine(e.what()) << std::endl;
        return kExitError;
    }
}
