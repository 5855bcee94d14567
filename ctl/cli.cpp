// SPDX-License-Identifier: MIT
// voicectl's output and exit-code contract (see cli.h).
#include "cli.h"

#include "peer_names.h"

#include <cstdio>
#include <ctime>
#include <iostream>

namespace voice::ctl {

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
    case kExitUnavailable:
        return "unavailable";
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

Failure usage(const std::string& message, const Options& o) {
    const std::string hint =
        o.command ? "voicectl " + std::string(o.command->name) + " --help" : "voicectl --help";
    return {kExitUsage, message + " (see '" + hint + "')"};
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

int report(const Failure& f, bool json) {
    std::cerr << "voicectl: " << oneLine(f.message) << std::endl;
    if (json) {
        printJson({{"error", kindForExitCode(f.code)}, {"message", f.message}});
    }
    return f.code;
}

// ---- values --------------------------------------------------------------

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

Json listToJson(const std::vector<std::map<std::string, sdbus::Variant>>& list) {
    Json out = Json::array();
    for (const auto& m : list) {
        out.push_back(mapToJson(m));
    }
    return out;
}

std::int64_t intField(const Json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].get<std::int64_t>() : 0;
}

std::string localTime(std::int64_t unixSeconds) {
    if (unixSeconds <= 0) {
        return "-";
    }
    const std::time_t t = static_cast<std::time_t>(unixSeconds);
    std::tm tm{};
    char buf[32];
    if (localtime_r(&t, &tm) == nullptr ||
        std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm) == 0) {
        return "-";
    }
    return buf;
}

} // namespace voice::ctl
