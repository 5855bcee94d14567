// SPDX-License-Identifier: MIT
// LocalRegistry: the single-relay Registry.
#include "relay/local_registry.h"

#include "core/log.h"
#include "crypto/identity.h"

#include <openssl/crypto.h>

namespace voice {

Result<LocalRegistry> LocalRegistry::load(std::string bindingsPath,
                                          std::optional<NameBindings> allowlist) {
    auto bindings = NameBindings::load(bindingsPath);
    if (!bindings.ok()) {
        return bindings.status();
    }
    LocalRegistry r(std::move(*bindings), std::move(allowlist));
    r.bindingsPath_ = std::move(bindingsPath);
    return r;
}

LocalRegistry::LocalRegistry(NameBindings bindings, std::optional<NameBindings> allowlist)
    : bindings_(std::move(bindings)), allowlist_(std::move(allowlist)) {}

Registry::NameCheck LocalRegistry::checkName(std::string_view name, const Key& key) const {
    auto same = [&](const Key& k) { return CRYPTO_memcmp(k.data(), key.data(), k.size()) == 0; };
    if (allowlist_) {
        auto bound = allowlist_->find(name);
        if (!bound) {
            return NameCheck::NotAllowed;
        }
        return same(*bound) ? NameCheck::Owned : NameCheck::AllowlistedToOther;
    }
    if (auto bound = bindings_.find(name)) {
        return same(*bound) ? NameCheck::Owned : NameCheck::Taken;
    }
    return NameCheck::Free;
}

bool LocalRegistry::bindName(const std::string& name, const Key& key) {
    if (!bindings_.add(name, key)) {
        return false;
    }
    if (!bindingsPath_.empty()) {
        Status saved = bindings_.save(bindingsPath_);
        if (!saved.ok()) {
            LOG_ERROR("saving name bindings: %s", saved.toString().c_str());
        }
    }
    LOG_INFO("bound name '%s' to key %s", name.c_str(), Identity::fingerprintOf(key).c_str());
    return true;
}

void LocalRegistry::setAllowlist(std::optional<NameBindings> allowlist) {
    allowlist_ = std::move(allowlist);
}

const LocalRegistry::Presence* LocalRegistry::find(std::string_view name) const {
    auto it = present_.find(std::string(name));
    return it == present_.end() ? nullptr : &it->second;
}

std::optional<uint64_t> LocalRegistry::connectionOf(std::string_view name) const {
    const Presence* p = find(name);
    return p ? std::optional(p->connection) : std::nullopt;
}

void LocalRegistry::setOnline(const std::string& name, uint64_t connection) {
    present_[name] = Presence{connection, LineState::Idle};
}

void LocalRegistry::setOffline(std::string_view name, uint64_t connection) {
    auto it = present_.find(std::string(name));
    if (it != present_.end() && it->second.connection == connection) {
        present_.erase(it);
    }
}

LineState LocalRegistry::line(std::string_view name) const {
    const Presence* p = find(name);
    return p ? p->line : LineState::Idle;
}

void LocalRegistry::setLine(std::string_view name, uint64_t connection, LineState state) {
    auto it = present_.find(std::string(name));
    if (it != present_.end() && it->second.connection == connection) {
        it->second.line = state;
    }
}

} // namespace voice
