// SPDX-License-Identifier: MIT
// KnownRelays: strict parsing and atomic saving of the relay pin file.
#include "net/known_relays.h"

#include "config/secure_file.h"
#include "net/socket.h"

namespace voice {

Result<std::string> KnownRelays::normalise(std::string_view relay) {
    auto hp = HostPort::parse(relay);
    if (!hp) {
        return hp.status();
    }
    std::string name = hp->toString();
    // Host names are case-insensitive; pins must not be dodged by "RELAY.org".
    for (char& c : name) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return name;
}

Result<KnownRelays> KnownRelays::load(const std::string& path) {
    KnownRelays store(path);
    auto text = readBoundedFile(path, kMaxFileBytes, FileAccess::OwnerOnly);
    if (!text) {
        if (text.status().code() == Errc::NotFound) {
            return store;
        }
        return text.status();
    }
    std::string_view rest = *text;
    int lineNo = 0;
    while (!rest.empty()) {
        ++lineNo;
        const size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        auto err = [&](std::string_view why) {
            return Result<KnownRelays>(Errc::InvalidArgument, path + ":" + std::to_string(lineNo) +
                                                                  ": " + std::string(why));
        };
        while (!line.empty() &&
               (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
            line.remove_suffix(1);
        }
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            line.remove_prefix(1);
        }
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const size_t space = line.find_first_of(" \t");
        if (space == std::string_view::npos) {
            return err("expected 'host:port sha256:<hex>'");
        }
        auto relay = normalise(line.substr(0, space));
        if (!relay) {
            return err(relay.status().detail());
        }
        std::string_view fpText = line.substr(space + 1);
        while (!fpText.empty() && (fpText.front() == ' ' || fpText.front() == '\t')) {
            fpText.remove_prefix(1);
        }
        auto fp = Fingerprint::parse(fpText);
        if (!fp) {
            return err(fp.status().detail());
        }
        if (store.pins_.count(*relay) != 0) {
            return err("duplicate entry for " + *relay);
        }
        if (store.pins_.size() >= kMaxEntries) {
            return err("more than " + std::to_string(kMaxEntries) + " entries");
        }
        store.pins_.emplace(std::move(*relay), *fp);
    }
    return store;
}

Status KnownRelays::save() const {
    std::string text = "# Relay keys pinned on first use by voiced. Remove a line to re-trust.\n";
    for (const auto& [relay, fp] : pins_) {
        text += relay;
        text += ' ';
        text += fp.toCompactString();
        text += '\n';
    }
    return writeFileAtomically(path_, text, 0600);
}

std::optional<Fingerprint> KnownRelays::find(std::string_view relay) const {
    auto name = normalise(relay);
    if (!name) {
        return std::nullopt;
    }
    auto it = pins_.find(*name);
    if (it == pins_.end()) {
        return std::nullopt;
    }
    return it->second;
}

Status KnownRelays::add(std::string_view relay, const Fingerprint& fingerprint) {
    auto name = normalise(relay);
    if (!name) {
        return name.status();
    }
    auto it = pins_.find(*name);
    if (it != pins_.end()) {
        return verifyPin(it->second, fingerprint, *name);
    }
    if (pins_.size() >= kMaxEntries) {
        return Status(Errc::Busy, "known relays file is full (" + std::to_string(kMaxEntries) +
                                      " entries); remove some from " + path_);
    }
    pins_.emplace(std::move(*name), fingerprint);
    return {};
}

bool KnownRelays::forget(std::string_view relay) {
    auto name = normalise(relay);
    return name && pins_.erase(*name) != 0;
}

Result<KnownRelays::Pin> KnownRelays::check(std::string_view relay, const Fingerprint& actual) {
    auto name = normalise(relay);
    if (!name) {
        return name.status();
    }
    auto it = pins_.find(*name);
    if (it != pins_.end()) {
        if (Status s = verifyPin(it->second, actual, *name); !s) {
            return s;
        }
        return Pin::Matched;
    }
    if (Status s = add(*name, actual); !s) {
        return s;
    }
    if (Status s = save(); !s) {
        pins_.erase(*name); // an unsaved pin would be forgotten at restart: don't pretend
        return s;
    }
    return Pin::FirstUse;
}

} // namespace voice
