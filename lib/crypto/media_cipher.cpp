// SPDX-License-Identifier: MIT
// Factories choosing the MediaSealer / MediaOpener implementation for a suite.
#include "crypto/media_cipher.h"

#include "crypto/aes_gcm_cipher.h"
#include "crypto/cbc_hmac_cipher.h"

namespace voice {

namespace {
Status checkKeys(const DirectionKeys& keys, size_t maxPacket) {
    if (keys.key.size() != DirectionKeys::kKeySize || keys.aux.size() != DirectionKeys::kAuxSize) {
        return Status(Errc::InvalidArgument, "media keys have the wrong size");
    }
    if (maxPacket < MediaHeader::kSize + 64 || maxPacket > 65536) {
        return Status(Errc::InvalidArgument, "media packet limit out of range");
    }
    return {};
}
} // namespace

Result<std::unique_ptr<MediaSealer>> makeMediaSealer(CipherSuite suite, MediaDirection direction,
                                                     const DirectionKeys& keys, size_t maxPacket) {
    if (Status s = checkKeys(keys, maxPacket); !s) {
        return s;
    }
    switch (suite) {
    case CipherSuite::Aes256Gcm:
        return AesGcmSealer::create(direction, keys, maxPacket);
    case CipherSuite::Aes256CbcHmacSha256:
        return CbcHmacSealer::create(direction, keys, maxPacket);
    }
    return Status(Errc::Unsupported, "unknown cipher suite");
}

Result<std::unique_ptr<MediaOpener>> makeMediaOpener(CipherSuite suite, MediaDirection direction,
                                                     const DirectionKeys& keys, size_t maxPacket) {
    if (Status s = checkKeys(keys, maxPacket); !s) {
        return s;
    }
    switch (suite) {
    case CipherSuite::Aes256Gcm:
        return AesGcmOpener::create(direction, keys, maxPacket);
    case CipherSuite::Aes256CbcHmacSha256:
        return CbcHmacOpener::create(direction, keys, maxPacket);
    }
    return Status(Errc::Unsupported, "unknown cipher suite");
}

Result<size_t> MediaSealer::beginPacket(const MediaHeader& header,
                                        std::span<const uint8_t> plaintext,
                                        std::span<uint8_t> out) const {
    if (next_ >= kMaxPackets) {
        return Status(Errc::Busy, "media key exhausted: rekey needed");
    }
    if (!carriesAudio(header.kind) || plaintext.size() > maxPlaintext()) {
        return Status(Errc::InvalidArgument, "media payload too large or not audio");
    }
    const size_t total = sealedSize(plaintext.size());
    if (out.size() < total) {
        return Status(Errc::InvalidArgument, "output buffer too small for media packet");
    }
    MediaHeader h = header;
    h.direction = direction_;
    h.sequence = next_;
    h.encode(out.first<MediaHeader::kSize>());
    return total;
}

} // namespace voice
