// SPDX-License-Identifier: MIT
// PeerStore: peers pinned on first call (TOFU).
#include "peer_store.h"

#include "config/secure_file.h"
#include "peer_names.h"

#include <sstream>

namespace voice {

Result<PeerStore> PeerStore::load(const std::string& path) {
    PeerStore store(path);
    auto text = readBoundedFile(path, kMaxFileBytes, FileAccess::OwnerOnly);
    if (!text.ok()) {
        if (text.status().code() == Errc::NotFound) {
            return store;
        }
        return text.status();
    }
    std::istringstream lines(*text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const size_t space = line.find(' ');
        const std::string where = path + ":" + std::to_string(number) + ": ";
        if (space == std::string::npos) {
            return Status(Errc::InvalidArgument, where + "expected 'name fingerprint'");
        }
        std::string name = line.substr(0, space);
        std::string rest = line.substr(space + 1);
        bool verified = false;
        constexpr std::string_view kVerified = " verified";
        if (rest.size() > kVerified.size() && rest.ends_with(kVerified)) {
            rest.resize(rest.size() - kVerified.size());
            verified = true;
        }
        auto fp = normalizeFingerprint(rest);
        if (!isValidPeerName(name) || !fp) {
            return Status(Errc::InvalidArgument, where + "bad name or fingerprint");
        }
        if (store.pins_.size() >= kMaxPeers) {
            return Status(Errc::InvalidArgument, where + "too many peers");
        }
        store.pins_[name] = *fp;
        if (verified) {
            store.verified_.insert(name);
        }
    }
    return store;
}

Status PeerStore::save() const {
    std::string out = "# voiced: peers pinned on first call (name fingerprint)\n";
    for (const auto& [name, fp] : pins_) {
        std::string compact;
        for (char c : fp) {
            if (c != ' ') {
                compact += c;
            }
        }
        out += name + " " + compact + (verified_.count(name) ? " verified\n" : "\n");
    }
    return writeFileAtomically(path_, out, 0600);
}

Result<PeerStore::Verdict> PeerStore::check(const std::string& name,
                                            const std::string& fingerprint) {
    auto it = pins_.find(name);
    if (it == pins_.end()) {
        if (Status s = trust(name, fingerprint); !s.ok()) {
            return s;
        }
        return Verdict::FirstUse;
    }
    return it->second == fingerprint ? Verdict::Matched : Verdict::Changed;
}

Status PeerStore::trust(const std::string& name, const std::string& fingerprint, bool verified) {
    if (pins_.size() >= kMaxPeers && pins_.count(name) == 0) {
        return Status(Errc::InvalidArgument, "too many pinned peers");
    }
    pins_[name] = fingerprint;
    if (verified) {
        verified_.insert(name);
    } else {
        verified_.erase(name);
    }
    return save();
}

std::string PeerStore::pinned(const std::string& name) const {
    auto it = pins_.find(name);
    return it == pins_.end() ? std::string() : it->second;
}

} // namespace voice
