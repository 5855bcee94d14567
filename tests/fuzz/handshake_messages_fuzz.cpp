// SPDX-License-Identifier: MIT
// Fuzz target: the handshake payload decoders and a callee consuming a
// CallerHello. Anything that decodes must encode back to the same bytes.
#include "crypto/handshake.h"

#include <algorithm>
#include <cstdlib>

namespace {

template <typename Msg>
void checkCanonical(const std::vector<uint8_t>& again, std::span<const uint8_t> input) {
    if (again.size() != input.size() || !std::equal(again.begin(), again.end(), input.begin())) {
        abort();
    }
}

const voice::Identity& calleeIdentity() {
    static const voice::Identity id = [] {
        auto r = voice::Identity::generate();
        if (!r.ok()) {
            abort();
        }
        return std::move(*r);
    }();
    return id;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> input(data, size);
    if (auto m = voice::CallerHello::decode(input); m.ok()) {
        auto again = m->encode();
        if (!again.ok()) {
            abort();
        }
        checkCanonical<voice::CallerHello>(*again, input);
        // A callee must answer or refuse, never crash.
        const uint8_t callId[] = {'f', 'u', 'z', 'z'};
        auto hs = voice::Handshake::create(
            voice::HandshakeRole::Callee, calleeIdentity(), callId,
            {voice::CipherSuite::Aes256Gcm, voice::CipherSuite::Aes256CbcHmacSha256});
        if (!hs.ok()) {
            abort();
        }
        auto reply = hs->onPeerHello(input);
        if (reply.ok() && reply->size() != voice::CalleeHello::kSize) {
            abort();
        }
    }
    if (auto m = voice::CalleeHello::decode(input); m.ok()) {
        checkCanonical<voice::CalleeHello>(m->encode(), input);
    }
    if (auto m = voice::HandshakeConfirm::decode(input); m.ok()) {
        checkCanonical<voice::HandshakeConfirm>(m->encode(), input);
    }
    return 0;
}
