// SPDX-License-Identifier: MIT
// Trunk: relay-to-relay media datagrams MACed under the cluster's trunk key.
#include "relay/trunk.h"

#include <cstring>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace voice::trunk {

namespace {

bool mac(const Key& key, std::span<const uint8_t> data, uint8_t (&tag)[32]) {
    unsigned len = 0;
    return HMAC(EVP_sha256(), key.data(), int(key.size()), data.data(), data.size(), tag, &len) !=
               nullptr &&
           len == 32;
}

} // namespace

Key deriveKey(std::span<const uint8_t, 32> clusterKey) {
    static constexpr char kLabel[] = "voice-relayd trunk v1";
    Key key{};
    unsigned len = 0;
    HMAC(EVP_sha256(), clusterKey.data(), int(clusterKey.size()),
         reinterpret_cast<const uint8_t*>(kLabel), sizeof kLabel - 1, key.data(), &len);
    return key;
}

size_t seal(const Key& key, std::span<const uint8_t> packet, std::span<uint8_t> out) {
    const size_t total = packet.size() + kOverhead;
    if (out.size() < total) {
        return 0;
    }
    out[0] = kMarker;
    out[1] = kVersion;
    std::memcpy(out.data() + 2, packet.data(), packet.size());
    uint8_t tag[32];
    if (!mac(key, out.first(2 + packet.size()), tag)) {
        return 0;
    }
    std::memcpy(out.data() + 2 + packet.size(), tag, kTagSize);
    return total;
}

std::optional<std::span<const uint8_t>> open(const Key& key, std::span<const uint8_t> datagram) {
    if (datagram.size() <= kOverhead || datagram[0] != kMarker || datagram[1] != kVersion) {
        return std::nullopt;
    }
    const size_t body = datagram.size() - kTagSize;
    uint8_t tag[32];
    if (!mac(key, datagram.first(body), tag) ||
        CRYPTO_memcmp(tag, datagram.data() + body, kTagSize) != 0) {
        return std::nullopt;
    }
    return datagram.subspan(2, body - 2);
}

} // namespace voice::trunk
