// SPDX-License-Identifier: MIT
// Fuzz target: MediaOpener::open for both suites with fixed keys.
// Input: one selector byte (even: aes-256-gcm, odd: aes-256-cbc-hmac-sha256)
// then the packet. Whatever opens must have a sane size and header.
#include "crypto/media_cipher.h"
#include "crypto_fuzz_keys.h"

#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) {
        return 0;
    }
    const auto suite =
        (data[0] & 1) ? voice::CipherSuite::Aes256CbcHmacSha256 : voice::CipherSuite::Aes256Gcm;
    // A fresh opener per input keeps the target deterministic (replay window).
    auto opener = voice::makeMediaOpener(suite, voice::MediaDirection::CallerToCallee,
                                         voice::fuzz::fixedMediaKeys());
    if (!opener.ok()) {
        abort();
    }
    std::vector<uint8_t> out(voice::MediaHeader::kMaxDatagram);
    const std::span<const uint8_t> packet(data + 1, size - 1);
    auto opened = (*opener)->open(packet, out);
    if (opened.ok()) {
        if (opened->plaintextSize + voice::MediaHeader::kSize >= packet.size() ||
            opened->header.direction != voice::MediaDirection::CallerToCallee) {
            abort();
        }
        // The same packet never opens twice.
        if ((*opener)->open(packet, out).ok()) {
            abort();
        }
    } else if (opened.status().detail() != voice::MediaOpener::dropError().detail()) {
        abort(); // every failure must look the same
    }
    return 0;
}
