// SPDX-License-Identifier: MIT
// Trunk: relay-to-relay media datagrams MACed under the cluster's trunk key.
#include "relay/trunk.h"

#include <cstring>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace voice::trunk {

Mac::Mac(const Key& key) : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    ctx_ = mac_ ? EVP_MAC_CTX_new(mac_) : nullptr;
    if (ctx_ && EVP_MAC_init(ctx_, key.data(), key.size(), params) != 1) {
        EVP_MAC_CTX_free(ctx_);
        ctx_ = nullptr;
    }
}

Mac::~Mac() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
}

bool Mac::tag(std::span<const uint8_t> data, uint8_t (&out)[32]) {
    size_t len = 0;
    // A null key restarts from the keyed state (OpenSSL 3's HMAC keeps it).
    return ctx_ && EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1 &&
           EVP_MAC_update(ctx_, data.data(), data.size()) == 1 &&
           EVP_MAC_final(ctx_, out, &len, sizeof out) == 1 && len == sizeof out;
}

namespace {

void putU64(uint8_t* out, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        out[i] = uint8_t(v);
        v >>= 8;
    }
}

uint64_t getU64(const uint8_t* in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = (v << 8) | in[i];
    }
    return v;
}

} // namespace

Result<uint64_t> randomEpoch() {
    uint64_t epoch = 0;
    if (RAND_bytes(reinterpret_cast<uint8_t*>(&epoch), sizeof epoch) != 1) {
        return Status(Errc::Crypto, "RAND_bytes failed: no trunk epoch");
    }
    return epoch;
}

Key deriveKey(std::span<const uint8_t, 32> clusterKey) {
    static constexpr char kLabel[] = "voice-relayd trunk v1";
    Key key{};
    unsigned len = 0;
    HMAC(EVP_sha256(), clusterKey.data(), int(clusterKey.size()),
         reinterpret_cast<const uint8_t*>(kLabel), sizeof kLabel - 1, key.data(), &len);
    return key;
}

size_t seal(const Key& key, Sender& sender, std::span<const uint8_t> packet,
            std::span<uint8_t> out) {
    Mac mac(key);
    return seal(mac, sender, packet, out);
}

std::optional<Opened> open(const Key& key, std::span<const uint8_t> datagram) {
    Mac mac(key);
    return open(mac, datagram);
}

size_t seal(Mac& mac, Sender& sender, std::span<const uint8_t> packet, std::span<uint8_t> out) {
    const size_t total = packet.size() + kOverhead;
    if (out.size() < total) {
        return 0;
    }
    out[0] = kMarker;
    out[1] = kVersion;
    putU64(out.data() + 2, sender.epoch());
    putU64(out.data() + 10, sender.nextSequence());
    std::memcpy(out.data() + kHeaderSize, packet.data(), packet.size());
    uint8_t tag[32];
    if (!mac.tag(out.first(kHeaderSize + packet.size()), tag)) {
        return 0;
    }
    std::memcpy(out.data() + kHeaderSize + packet.size(), tag, kTagSize);
    return total;
}

std::optional<Opened> open(Mac& mac, std::span<const uint8_t> datagram) {
    if (datagram.size() <= kOverhead || datagram[0] != kMarker || datagram[1] != kVersion) {
        return std::nullopt;
    }
    const size_t body = datagram.size() - kTagSize;
    uint8_t tag[32];
    if (!mac.tag(datagram.first(body), tag) ||
        CRYPTO_memcmp(tag, datagram.data() + body, kTagSize) != 0) {
        return std::nullopt;
    }
    Opened o;
    o.epoch = getU64(datagram.data() + 2);
    o.sequence = getU64(datagram.data() + 10);
    o.packet = datagram.subspan(kHeaderSize, body - kHeaderSize);
    return o;
}

} // namespace voice::trunk
