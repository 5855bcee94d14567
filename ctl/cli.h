// SPDX-License-Identifier: MIT
// voicectl's output and exit-code contract, in one place: the parsed command line, the Failure
// every command throws, how errors and values are printed (one line on stderr; JSON with --json)
// and how bus errors map to exit codes (exit_codes.h). The commands live in cmd_*.cpp by family.
#pragma once

#include "exit_codes.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <string_view>
#include <vector>

namespace voice::ctl {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

/// A failure to report: exit code, message for people (the kind for --json
/// comes from the code).
struct Failure {
    int code;
    std::string message;
};

struct CommandSpec {
    std::string_view name;
    std::string_view synopsis;
    std::string_view summary; ///< one line for `voicectl --help`
    std::string_view help;
    std::size_t minArgs;
    std::size_t maxArgs;
    bool waits;          ///< accepts --no-wait and --timeout
    bool limits = false; ///< accepts --limit N
};

struct Options {
    bool json = false;
    bool help = false;
    bool version = false;
    bool noWait = false;
    std::optional<double> timeoutS;
    std::optional<unsigned> limit;
    const CommandSpec* command = nullptr;
    std::vector<std::string> args;
};

/// The short kind of a failure for --json ("busy", "no-daemon", ...).
std::string_view kindForExitCode(int code);
/// One line, printable: newlines and other control characters become spaces.
std::string oneLine(std::string_view text);
/// One JSON document on one line of stdout.
void printJson(const Json& j);
/// A usage failure (exit 2) pointing at the right --help.
Failure usage(const std::string& message, const Options& o);
/// Throws a usage failure unless peer is a valid peer name.
void requireValidPeer(const std::string& peer, const Options& o);
/// Turns an error from the bus or voiced into a Failure.
Failure fromDbus(const sdbus::Error& e);
/// The session bus, or a Failure (exit 3).
std::unique_ptr<sdbus::IConnection> connectSessionBus();
/// Reports f on stderr (and as {"error": ...} with --json); returns its exit code.
int report(const Failure& f, bool json);

// ---- values ----
Json variantToJson(const sdbus::Variant& v);
Json mapToJson(const std::map<std::string, sdbus::Variant>& m);
/// A JSON value as text for people (strings one-lined, booleans yes/no).
std::string jsonToText(const Json& j);
/// j[key] as text, "" when missing.
std::string field(const Json& j, const char* key);
/// A list of a{sv} (History(), Contacts()) as a JSON array.
Json listToJson(const std::vector<std::map<std::string, sdbus::Variant>>& list);
/// j[key] as an integer, 0 when missing or not a number.
std::int64_t intField(const Json& j, const char* key);
/// Unix time as local "YYYY-MM-DD HH:MM", "-" for 0.
std::string localTime(std::int64_t unixSeconds);

// ---- commands, by family ----
// cmd_call.cpp: call control
int cmdCall(const Options& o);
int cmdAnswer(const Options& o);
int cmdReject(const Options& o);
int cmdHangup(const Options& o);
int cmdMute(const Options& o, bool muted);
// cmd_status.cpp: status and events
int cmdStatus(const Options& o);
int cmdMonitor(const Options& o);
int cmdWhoami(const Options& o);
int cmdRegister(const Options& o);
// cmd_trust.cpp: keys and contacts
int cmdTrust(const Options& o);
int cmdContacts(const Options& o);
// cmd_history.cpp: call history
int cmdHistory(const Options& o);

} // namespace voice::ctl
