// SPDX-License-Identifier: MIT
// voicectl's key and contact commands: trust, contacts.
#include "cli.h"
#include "peer_names.h"
#include "voice_proxy.h"

#include <cstdio>
#include <iostream>

namespace voice::ctl {

int cmdTrust(const Options& o) {
    const std::string peer = o.args.at(0);
    requireValidPeer(peer, o);
    std::string fingerprint;
    if (o.args.size() > 1) {
        auto normalized = normalizeFingerprint(o.args[1]);
        if (!normalized) {
            throw usage("invalid fingerprint " + quoteForMessage(o.args[1]) +
                            ": expected 32 hex digits, optionally grouped with spaces or colons",
                        o);
        }
        fingerprint = *normalized;
    }
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    try {
        proxy.Trust(peer, fingerprint);
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    if (o.json) {
        printJson({{"peer", peer}, {"fingerprint", fingerprint}, {"trusted", true}});
    } else if (fingerprint.empty()) {
        std::cout << "trusting the key " << peer << " presented last" << std::endl;
    } else {
        std::cout << "trusting " << peer << " with key " << fingerprint << std::endl;
    }
    return kExitOk;
}

int cmdContacts(const Options& o) {
    auto bus = connectSessionBus();
    VoiceProxy proxy(*bus);
    Json list;
    try {
        list = listToJson(proxy.Contacts());
    } catch (const sdbus::Error& e) {
        throw fromDbus(e);
    }
    if (o.json) {
        printJson({{"contacts", list}});
        return kExitOk;
    }
    if (list.empty()) {
        std::cout << "no pinned peers yet (a peer is pinned on the first call)" << std::endl;
        return kExitOk;
    }
    std::printf("%-16s %-39s %-8s %s\n", "NAME", "FINGERPRINT", "VERIFIED", "LAST CALL");
    for (const Json& c : list) {
        const std::int64_t last = intField(c, "last_call");
        std::printf("%-16s %-39s %-8s %s\n", field(c, "name").c_str(),
                    field(c, "fingerprint").c_str(), field(c, "verified").c_str(),
                    localTime(last).c_str());
    }
    std::fflush(stdout);
    return kExitOk;
}

} // namespace voice::ctl
