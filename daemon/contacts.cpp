// SPDX-License-Identifier: MIT
// Contacts: the pinned peers for people.
#include "contacts.h"

namespace voice {

std::vector<Contact> listContacts(const PeerStore& peers, const CallHistory* history) {
    std::vector<Contact> out;
    out.reserve(peers.pins().size());
    for (const auto& [name, fingerprint] : peers.pins()) {
        Contact c;
        c.name = name;
        c.fingerprint = fingerprint;
        c.verified = peers.verified(name);
        c.lastCall = history != nullptr ? history->lastCall(name) : 0;
        out.push_back(std::move(c));
    }
    return out;
}

} // namespace voice
