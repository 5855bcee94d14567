// SPDX-License-Identifier: MIT
// Probe authentication: HMAC-SHA256 over the probe's clear header under the side's route key.
#include "crypto/probe_auth.h"

#include <cstring>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace voice::probe_auth {

namespace {

constexpr char kLabel[] = "voiced-probe-v1";

bool mac(Key key, std::span<const uint8_t> header, uint8_t (&out)[kMacSize]) {
    uint8_t input[sizeof kLabel - 1 + MediaHeader::kSize];
    std::memcpy(input, kLabel, sizeof kLabel - 1);
    std::memcpy(input + sizeof kLabel - 1, header.data(), MediaHeader::kSize);
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const bool ok = HMAC(EVP_sha256(), key.data(), int(key.size()), input, sizeof input, full,
                         &len) != nullptr &&
                    len >= kMacSize;
    if (ok) {
        std::memcpy(out, full, kMacSize);
    }
    OPENSSL_cleanse(full, sizeof full);
    return ok;
}

} // namespace

std::array<uint8_t, kProbeSize> make(Key key, uint64_t sessionId, uint64_t counter,
                                     uint64_t timestampUs) {
    std::array<uint8_t, kProbeSize> out{};
    MediaHeader h;
    h.kind = MediaKind::Probe;
    h.sessionId = sessionId;
    h.sequence = counter;
    h.timestampUs = timestampUs;
    h.encode(std::span<uint8_t, MediaHeader::kSize>(out.data(), MediaHeader::kSize));
    uint8_t tag[kMacSize];
    if (mac(key, std::span<const uint8_t>(out.data(), MediaHeader::kSize), tag)) {
        std::memcpy(out.data() + MediaHeader::kSize, tag, kMacSize);
    } // else: the tag stays zero and the relay refuses the probe
    return out;
}

bool verify(Key key, std::span<const uint8_t> probe) {
    if (probe.size() != kProbeSize) {
        return false;
    }
    uint8_t expected[kMacSize];
    if (!mac(key, probe.first(MediaHeader::kSize), expected)) {
        return false;
    }
    return CRYPTO_memcmp(expected, probe.data() + MediaHeader::kSize, kMacSize) == 0;
}

} // namespace voice::probe_auth
