// SPDX-License-Identifier: MIT
// ConfigFile: a strict, bounded parser for `key = value` files with [sections], plus typed getters.
#pragma once

#include "core/result.h"
#include "net/socket.h"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voice {

/// A parsed voiced.conf / voice-relayd.conf.
///
/// Syntax, one item per line:
///   # a comment                 (whole line; also after a value, see below)
///   [section]                   (1..64 of a-z 0-9 _ -)
///   key = value                 (key: a-z first, then a-z 0-9 _ -; max 64)
///   key = "quoted value"        (keeps spaces and '#'; escapes \" and \\)
/// An unquoted value ends at a '#' that follows whitespace ("port = 7000 #
/// default"); surrounding whitespace is trimmed. Keys before any section
/// are named "key", later ones "section.key".
///
/// Strict: control characters, invalid UTF-8, overlong lines, duplicate
/// keys and anything unrecognised are errors "file:line: message". The
/// whole file, its lines and its number of entries are bounded, so no input
/// makes it use unbounded memory or time.
class ConfigFile {
public:
    static constexpr size_t kMaxFileBytes = 64 * 1024;
    static constexpr size_t kMaxLineLength = 1024;
    static constexpr size_t kMaxEntries = 512;
    static constexpr size_t kMaxNameLength = 64;

    /// Reads and parses a file (any owner, at most kMaxFileBytes). A
    /// missing file is a NotFound error: callers that have defaults for
    /// everything may treat it as empty.
    static Result<ConfigFile> load(const std::string& path);
    /// Parses text; `name` prefixes error messages (usually the path).
    static Result<ConfigFile> parse(std::string_view text, std::string name);

    bool has(std::string_view key) const { return find(key) != nullptr; }
    /// Keys in file order.
    std::vector<std::string> keys() const;
    /// Fails on the first key not in `allowed` ("file:line: unknown key 'x'"),
    /// so typos are errors instead of silently ignored settings.
    Status checkKeys(std::initializer_list<std::string_view> allowed) const;

    // Typed getters. A missing key gives the fallback, or, without one, an
    // error "file: missing required key 'x'". A present but invalid value is
    // always an error "file:line: key 'x': why", never the fallback.

    /// Any text of at most maxLength bytes.
    Result<std::string> getString(std::string_view key,
                                  std::optional<std::string> fallback = std::nullopt,
                                  size_t maxLength = kMaxLineLength) const;
    /// One of the given words.
    Result<std::string> getChoice(std::string_view key,
                                  std::initializer_list<std::string_view> choices,
                                  std::optional<std::string> fallback = std::nullopt) const;
    /// true/false, yes/no, on/off, 1/0.
    Result<bool> getBool(std::string_view key, std::optional<bool> fallback = std::nullopt) const;
    /// A decimal integer in [min, max].
    Result<int64_t> getInt(std::string_view key, int64_t min, int64_t max,
                           std::optional<int64_t> fallback = std::nullopt) const;
    /// A duration with a unit: "250ms", "2s", "5m", "1h" ("0" alone is allowed),
    /// in [min, max].
    Result<std::chrono::milliseconds>
    getDuration(std::string_view key, std::chrono::milliseconds min, std::chrono::milliseconds max,
                std::optional<std::chrono::milliseconds> fallback = std::nullopt) const;
    /// "host:port" or "[v6]:port" (HostPort::parse rules).
    Result<HostPort> getHostPort(std::string_view key,
                                 std::optional<HostPort> fallback = std::nullopt) const;

    const std::string& name() const { return name_; }

private:
    struct Entry {
        std::string key; // "key" or "section.key"
        std::string value;
        int line;
    };
    explicit ConfigFile(std::string name) : name_(std::move(name)) {}
    const Entry* find(std::string_view key) const;
    Status missing(std::string_view key) const;
    Status invalid(const Entry& e, std::string_view why) const;

    std::string name_;
    std::vector<Entry> entries_;
};

} // namespace voice
