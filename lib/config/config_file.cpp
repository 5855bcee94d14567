// SPDX-License-Identifier: MIT
// ConfigFile: line-by-line strict parsing with bounded sizes and typed, validated getters.
#include "config/config_file.h"

#include "config/secure_file.h"

#include <algorithm>
#include <limits>

namespace voice {

namespace {

bool isSpace(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && isSpace(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && isSpace(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool isNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool validName(std::string_view s, bool mustStartWithLetter) {
    if (s.empty() || s.size() > ConfigFile::kMaxNameLength) {
        return false;
    }
    if (mustStartWithLetter && !(s.front() >= 'a' && s.front() <= 'z')) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), isNameChar);
}

// Checks a line for control characters and well-formed UTF-8 (no overlong
// forms, surrogates or code points above U+10FFFF).
const char* badBytes(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return "control character";
            }
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return "invalid UTF-8";
        }
        if (i + len > s.size()) {
            return "invalid UTF-8";
        }
        for (size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) {
                return "invalid UTF-8";
            }
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return "invalid UTF-8";
        }
        i += len;
    }
    return nullptr;
}

// Parses the text after '=' into value; returns an error text or nullptr.
const char* parseValue(std::string_view raw, std::string& value) {
    raw = trim(raw);
    value.clear();
    if (!raw.empty() && raw.front() == '"') {
        size_t i = 1;
        for (; i < raw.size(); ++i) {
            const char c = raw[i];
            if (c == '\\') {
                if (i + 1 >= raw.size() || (raw[i + 1] != '"' && raw[i + 1] != '\\')) {
                    return "unknown escape in quoted value (only \\\" and \\\\)";
                }
                value += raw[++i];
            } else if (c == '"') {
                break;
            } else {
                value += c;
            }
        }
        if (i >= raw.size()) {
            return "unterminated quoted value";
        }
        const std::string_view rest = trim(raw.substr(i + 1));
        if (!rest.empty() && rest.front() != '#') {
            return "text after the closing quote";
        }
        return nullptr;
    }
    for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '#' && i > 0 && isSpace(raw[i - 1])) {
            raw = raw.substr(0, i);
            break;
        }
        if (raw[i] == '"') {
            return "quote inside an unquoted value (quote the whole value)";
        }
    }
    value = std::string(trim(raw));
    return nullptr;
}

} // namespace

Result<ConfigFile> ConfigFile::load(const std::string& path) {
    auto text = readBoundedFile(path, kMaxFileBytes, FileAccess::Shared);
    if (!text) {
        return text.status();
    }
    return parse(*text, path);
}

Result<ConfigFile> ConfigFile::parse(std::string_view text, std::string name) {
    ConfigFile config(std::move(name));
    if (text.size() > kMaxFileBytes) {
        return Result<ConfigFile>(Errc::InvalidArgument, config.name_ + ": larger than " +
                                                             std::to_string(kMaxFileBytes) +
                                                             " bytes");
    }
    std::string section;
    int lineNo = 0;
    std::string value;
    while (!text.empty()) {
        ++lineNo;
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        auto error = [&](std::string_view why) {
            return Result<ConfigFile>(Errc::InvalidArgument, config.name_ + ":" +
                                                                 std::to_string(lineNo) + ": " +
                                                                 std::string(why));
        };
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1); // tolerate files written on Windows
        }
        if (line.size() > kMaxLineLength) {
            return error("line longer than " + std::to_string(kMaxLineLength) + " bytes");
        }
        if (const char* bad = badBytes(line)) {
            return error(bad);
        }
        line = trim(line);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        if (line.front() == '[') {
            const size_t close = line.find(']');
            if (close == std::string_view::npos) {
                return error("section header without ']'");
            }
            const std::string_view rest = trim(line.substr(close + 1));
            if (!rest.empty() && rest.front() != '#') {
                return error("text after the section header");
            }
            const std::string_view sec = trim(line.substr(1, close - 1));
            if (!validName(sec, false)) {
                return error("section names use 1..64 of a-z 0-9 _ -");
            }
            section = std::string(sec);
            continue;
        }
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            return error("expected 'key = value'");
        }
        const std::string_view key = trim(line.substr(0, eq));
        if (!validName(key, true)) {
            return error("bad key '" + std::string(key.substr(0, kMaxNameLength)) +
                         "' (keys start with a-z, then a-z 0-9 _ -, at most 64)");
        }
        if (const char* bad = parseValue(line.substr(eq + 1), value)) {
            return error(bad);
        }
        std::string full = section.empty() ? std::string(key) : section + "." + std::string(key);
        if (const Entry* prev = config.find(full)) {
            return error("duplicate key '" + full + "' (first set on line " +
                         std::to_string(prev->line) + ")");
        }
        if (config.entries_.size() >= kMaxEntries) {
            return error("more than " + std::to_string(kMaxEntries) + " settings");
        }
        config.entries_.push_back(Entry{std::move(full), value, lineNo});
    }
    return config;
}

const ConfigFile::Entry* ConfigFile::find(std::string_view key) const {
    for (const Entry& e : entries_) {
        if (e.key == key) {
            return &e;
        }
    }
    return nullptr;
}

std::vector<std::string> ConfigFile::keys() const {
    std::vector<std::string> out;
    for (const Entry& e : entries_) {
        out.push_back(e.key);
    }
    return out;
}

Status ConfigFile::checkKeys(std::initializer_list<std::string_view> allowed) const {
    for (const Entry& e : entries_) {
        if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end()) {
            return Status(Errc::InvalidArgument,
                          name_ + ":" + std::to_string(e.line) + ": unknown key '" + e.key + "'");
        }
    }
    return {};
}

Status ConfigFile::missing(std::string_view key) const {
    return Status(Errc::NotFound, name_ + ": missing required key '" + std::string(key) + "'");
}

Status ConfigFile::invalid(const Entry& e, std::string_view why) const {
    return Status(Errc::InvalidArgument, name_ + ":" + std::to_string(e.line) + ": key '" + e.key +
                                             "': " + std::string(why));
}

Result<std::string> ConfigFile::getString(std::string_view key, std::optional<std::string> fallback,
                                          size_t maxLength) const {
    const Entry* e = find(key);
    if (e == nullptr) {
        if (fallback) {
            return *fallback;
        }
        return missing(key);
    }
    if (e->value.size() > maxLength) {
        return invalid(*e, "longer than " + std::to_string(maxLength) + " bytes");
    }
    return e->value;
}

Result<std::string> ConfigFile::getChoice(std::string_view key,
                                          std::initializer_list<std::string_view> choices,
                                          std::optional<std::string> fallback) const {
    const Entry* e = find(key);
    if (e == nullptr) {
        if (fallback) {
            return *fallback;
        }
        return missing(key);
    }
    if (std::find(choices.begin(), choices.end(), e->value) != choices.end()) {
        return e->value;
    }
    std::string list;
    for (std::string_view c : choices) {
        list += list.empty() ? "" : ", ";
        list += c;
    }
    return invalid(*e, "expected one of: " + list);
}

Result<bool> ConfigFile::getBool(std::string_view key, std::optional<bool> fallback) const {
    const Entry* e = find(key);
    if (e == nullptr) {
        if (fallback) {
            return *fallback;
        }
        return missing(key);
    }
    const std::string& v = e->value;
    if (v == "true" || v == "yes" || v == "on" || v == "1") {
        return true;
    }
    if (v == "false" || v == "no" || v == "off" || v == "0") {
        return false;
    }
    return invalid(*e, "expected true or false");
}

Result<int64_t> ConfigFile::getInt(std::string_view key, int64_t min, int64_t max,
                                   std::optional<int64_t> fallback) const {
    const Entry* e = find(key);
    if (e == nullptr) {
        if (fallback) {
            return *fallback;
        }
        return missing(key);
    }
    const std::string range = " in " + std::to_string(min) + ".." + std::to_string(max);
    std::string_view v = e->value;
    const bool negative = !v.empty() && v.front() == '-';
    if (negative) {
        v.remove_prefix(1);
    }
    if (v.empty() || v.size() > 18 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return invalid(*e, "expected an integer" + range);
    }
    int64_t n = 0;
    for (char c : v) {
        n = n * 10 + (c - '0'); // at most 18 digits: cannot overflow
    }
    if (negative) {
        n = -n;
    }
    if (n < min || n > max) {
        return invalid(*e, "expected an integer" + range);
    }
    return n;
}

Result<std::chrono::milliseconds>
ConfigFile::getDuration(std::string_view key, std::chrono::milliseconds min,
                        std::chrono::milliseconds max,
                        std::optional<std::chrono::milliseconds> fallback) const {
    const Entry* e = find(key);
    if (e == nullptr) {
        if (fallback) {
            return *fallback;
        }
        return missing(key);
    }
    const std::string range =
        " in " + std::to_string(min.count()) + "ms.." + std::to_string(max.count()) + "ms";
    const std::string& v = e->value;
    size_t digits = 0;
    while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') {
        ++digits;
    }
    const std::string_view unit = std::string_view(v).substr(digits);
    int64_t scale = 0;
    if (unit == "ms") {
        scale = 1;
    } else if (unit == "s") {
        scale = 1000;
    } else if (unit == "m" || unit == "min") {
        scale = 60 * 1000;
    } else if (unit == "h") {
        scale = 3600 * 1000;
    } else if (unit.empty() && v == "0") {
        scale = 1;
    }
    if (digits == 0 || digits > 9 || scale == 0) {
        return invalid(*e, "expected a duration like 500ms, 2s, 5m or 1h" + range);
    }
    int64_t n = 0;
    for (size_t i = 0; i < digits; ++i) {
        n = n * 10 + (v[i] - '0');
    }
    const std::chrono::milliseconds d(n * scale); // < 1e9 * 3.6e6: fits in int64
    if (d < min || d > max) {
        return invalid(*e, "expected a duration" + range);
    }
    return d;
}

Result<HostPort> ConfigFile::getHostPort(std::string_view key,
                                         std::optional<HostPort> fallback) const {
    const Entry* e = find(key);
    if (e == nullptr) {
        if (fallback) {
            return *fallback;
        }
        return missing(key);
    }
    auto hp = HostPort::parse(e->value);
    if (!hp) {
        return invalid(*e, hp.status().detail());
    }
    return hp;
}

} // namespace voice
