// SPDX-License-Identifier: MIT
// NameBindings: the relay's name -> identity key table, as a bindings file or an allowlist.
#pragma once

#include "core/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace voice {

/// Name -> Ed25519 public key. File format, one binding per line:
///     # comment
///     alice 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29
/// (a valid name, one space or tab, 64 lower- or upper-case hex digits).
/// Blank lines and comments are allowed. Duplicate names, bad names, bad keys
/// and anything else are errors "file:line: why". At most kMaxEntries
/// bindings and kMaxFileBytes bytes. Not thread-safe (owned by the control loop).
class NameBindings {
public:
    using Key = std::array<uint8_t, 32>;
    static constexpr size_t kMaxEntries = 1000000;
    static constexpr size_t kMaxFileBytes = 96 * 1000000;

    static Result<NameBindings> parse(std::string_view text, std::string_view fileName);
    /// A missing file is an empty table (the bindings file before the first name).
    static Result<NameBindings> load(const std::string& path);
    /// The allowlist file: missing or unreadable is an error ("allowlist:
    /// PATH: why"), never an empty list that would refuse everyone.
    static Result<NameBindings> loadAllowlist(const std::string& path);
    /// Writes the table atomically (temporary file, fsync, rename), mode 0600.
    Status save(const std::string& path) const;
    std::string serialize() const;

    std::optional<Key> find(std::string_view name) const;
    /// Adds a new binding; false if the name is bound already or the table is full.
    bool add(std::string name, const Key& key);
    size_t size() const { return bindings_.size(); }

private:
    std::map<std::string, Key, std::less<>> bindings_;
};

} // namespace voice
