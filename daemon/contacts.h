// SPDX-License-Identifier: MIT
// Contacts: the pinned peers, with whether the user verified each key and when we last called,
// for `voicectl contacts` and the D-Bus Contacts() method.
#pragma once

#include "call_history.h"
#include "peer_store.h"

#include <cstdint>
#include <string>
#include <vector>

namespace voice {

struct Contact {
    std::string name;
    std::string fingerprint;   ///< canonical form
    bool verified = false;     ///< pinned by hand, not only on first use
    std::int64_t lastCall = 0; ///< Unix time of the last call with them, 0 if none in the history
};

/// Every pinned peer by name; history may be null (no last-call times).
std::vector<Contact> listContacts(const PeerStore& peers, const CallHistory* history);

} // namespace voice
