// SPDX-License-Identifier: MIT
// NameBindings: the relay's name -> identity key table, as a bindings file or an allowlist.
#include "relay/name_bindings.h"

#include "config/secure_file.h"
#include "core/hex.h"
#include "wire/validate.h"

namespace voice {

Result<NameBindings> NameBindings::parse(std::string_view text, std::string_view fileName) {
    NameBindings table;
    if (text.size() > kMaxFileBytes) {
        return Status(Errc::InvalidArgument, std::string(fileName) + ": file too large");
    }
    size_t lineNo = 0;
    while (!text.empty()) {
        ++lineNo;
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        auto fail = [&](std::string_view why) {
            return Status(Errc::InvalidArgument, std::string(fileName) + ":" +
                                                     std::to_string(lineNo) + ": " +
                                                     std::string(why));
        };
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty() || line.front() == '#') {
            continue;
        }
        size_t sep = line.find_first_of(" \t");
        if (sep == std::string_view::npos) {
            return fail("expected 'name key'");
        }
        std::string_view name = line.substr(0, sep);
        std::string_view hex = line.substr(sep + 1);
        if (!isValidName(name)) {
            return fail("invalid name");
        }
        if (hex.size() != 64) {
            return fail("key must be 64 hex digits");
        }
        Key key{};
        for (size_t i = 0; i < key.size(); ++i) {
            int hi = hexDigitValue(hex[2 * i]);
            int lo = hexDigitValue(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                return fail("key must be 64 hex digits");
            }
            key[i] = uint8_t(hi << 4 | lo);
        }
        if (table.find(name)) {
            return fail("duplicate name '" + std::string(name) + "'");
        }
        if (!table.add(std::string(name), key)) {
            return fail("too many bindings");
        }
    }
    return table;
}

Result<NameBindings> NameBindings::load(const std::string& path) {
    auto text = readBoundedFile(path, kMaxFileBytes);
    if (!text.ok()) {
        if (text.status().code() == Errc::NotFound) {
            return NameBindings{};
        }
        return text.status();
    }
    return parse(*text, path);
}

Result<NameBindings> NameBindings::loadAllowlist(const std::string& path) {
    auto text = readBoundedFile(path, kMaxFileBytes);
    if (!text.ok()) {
        return Status(text.status().code(), "allowlist: " + text.status().detail());
    }
    return parse(*text, path);
}

std::string NameBindings::serialize() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "# voice-relayd name bindings: name ed25519-public-key (first key wins)\n";
    out.reserve(out.size() + bindings_.size() * 100);
    for (const auto& [name, key] : bindings_) {
        out += name;
        out += ' ';
        for (uint8_t b : key) {
            out += kHex[b >> 4];
            out += kHex[b & 15];
        }
        out += '\n';
    }
    return out;
}

Status NameBindings::save(const std::string& path) const {
    return writeFileAtomically(path, serialize(), 0600);
}

std::optional<NameBindings::Key> NameBindings::find(std::string_view name) const {
    auto it = bindings_.find(name);
    if (it == bindings_.end()) {
        return std::nullopt;
    }
    return it->second;
}

bool NameBindings::add(std::string name, const Key& key) {
    if (bindings_.size() >= kMaxEntries) {
        return false;
    }
    return bindings_.emplace(std::move(name), key).second;
}

} // namespace voice
