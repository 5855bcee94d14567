// SPDX-License-Identifier: MIT
// voicectl's key commands: trust.
#include "cli.h"
#include "peer_names.h"
#include "voice_proxy.h"

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

} // namespace voice::ctl
