// SPDX-License-Identifier: MIT
// LocalRegistry: the single-relay Registry, in memory plus STATE_DIR/bindings.
#pragma once

#include "core/result.h"
#include "relay/registry.h"

#include <string>
#include <unordered_map>

namespace voice {

class LocalRegistry final : public Registry {
public:
    /// Loads the bindings file (missing: empty); new bindings are saved to it at once.
    static Result<LocalRegistry> load(std::string bindingsPath,
                                      std::optional<NameBindings> allowlist);
    /// In memory only (tests): nothing is saved.
    explicit LocalRegistry(NameBindings bindings = {}, std::optional<NameBindings> allowlist = {});

    NameCheck checkName(std::string_view name, const Key& key) const override;
    bool bindName(const std::string& name, const Key& key) override;
    void setAllowlist(std::optional<NameBindings> allowlist) override;
    bool hasAllowlist() const override { return allowlist_.has_value(); }

    std::optional<uint64_t> connectionOf(std::string_view name) const override;
    void setOnline(const std::string& name, uint64_t connection) override;
    void setOffline(std::string_view name, uint64_t connection) override;

    LineState line(std::string_view name) const override;
    void setLine(std::string_view name, uint64_t connection, LineState state) override;
    size_t online() const override { return present_.size(); }

private:
    struct Presence {
        uint64_t connection = 0;
        LineState line = LineState::Idle;
    };
    const Presence* find(std::string_view name) const;

    NameBindings bindings_;
    std::string bindingsPath_; // empty: not saved
    std::optional<NameBindings> allowlist_;
    std::unordered_map<std::string, Presence> present_;
};

} // namespace voice
