// SPDX-License-Identifier: MIT
// Encoding and strict decoding of the end-to-end handshake payloads.
#include "crypto/handshake_messages.h"

#include "wire/endian.h"

#include <algorithm>

namespace voice {

namespace {

Status checkPrefix(std::span<const uint8_t> bytes, HandshakeMessageType type) {
    if (bytes.size() < 2) {
        return Status(Errc::Protocol, "handshake message too short");
    }
    if (bytes[0] != kHandshakeVersion) {
        return Status(Errc::Protocol, "unknown handshake version");
    }
    if (bytes[1] != static_cast<uint8_t>(type)) {
        return Status(Errc::Protocol, "unexpected handshake message type");
    }
    return {};
}

void put(std::vector<uint8_t>& out, const Key32& k) {
    out.insert(out.end(), k.begin(), k.end());
}

void get(Key32& k, const uint8_t* p) {
    std::copy(p, p + k.size(), k.begin());
}

void put(std::vector<uint8_t>& out, const MediaFormat& f) {
    uint8_t bytes[MediaFormat::kSize];
    bytes[0] = f.codec;
    storeBe32(&bytes[1], f.sampleRate);
    storeBe32(&bytes[5], f.frameUs);
    out.insert(out.end(), std::begin(bytes), std::end(bytes));
}

MediaFormat getMedia(const uint8_t* p) {
    MediaFormat f;
    f.codec = p[0];
    f.sampleRate = loadBe32(p + 1);
    f.frameUs = loadBe32(p + 5);
    return f;
}

} // namespace

bool isCommonMediaFormat(const MediaFormat& f) {
    return f.codec == MediaFormat::kOpus && f.sampleRate == 48000 &&
           (f.frameUs == 10000 || f.frameUs == 20000);
}

MediaFormat chooseCallMedia(const MediaFormat& offer, const MediaFormat& own) {
    if (offer == own) {
        return own;
    }
    MediaFormat common;
    common.frameUs = 0;
    for (const MediaFormat* side : {&offer, &own}) {
        if (isCommonMediaFormat(*side)) {
            common.frameUs = std::max(common.frameUs, side->frameUs);
        }
    }
    if (common.frameUs == 0) {
        common.frameUs = 10000;
    }
    return common;
}

Result<std::vector<uint8_t>> CallerHello::encode() const {
    if (suites.empty() || suites.size() > kMaxSuites) {
        return Status(Errc::InvalidArgument, "caller hello needs 1 to 8 cipher suites");
    }
    std::vector<uint8_t> out;
    out.reserve(kFixedSize + 2 * suites.size());
    out.push_back(kHandshakeVersion);
    out.push_back(static_cast<uint8_t>(HandshakeMessageType::CallerHello));
    put(out, identityKey);
    put(out, ephemeralKey);
    put(out, nonce);
    put(out, media);
    out.push_back(static_cast<uint8_t>(suites.size()));
    for (uint16_t s : suites) {
        out.push_back(static_cast<uint8_t>(s >> 8));
        out.push_back(static_cast<uint8_t>(s));
    }
    return out;
}

Result<CallerHello> CallerHello::decode(std::span<const uint8_t> bytes) {
    if (Status s = checkPrefix(bytes, HandshakeMessageType::CallerHello); !s) {
        return s;
    }
    if (bytes.size() < kFixedSize || bytes.size() > kMaxSize) {
        return Status(Errc::Protocol, "caller hello has a bad length");
    }
    const size_t count = bytes[kFixedSize - 1];
    if (count == 0 || count > kMaxSuites || bytes.size() != kFixedSize + 2 * count) {
        return Status(Errc::Protocol, "caller hello has a bad suite list");
    }
    CallerHello h;
    get(h.identityKey, &bytes[2]);
    get(h.ephemeralKey, &bytes[34]);
    get(h.nonce, &bytes[66]);
    h.media = getMedia(&bytes[98]);
    h.suites.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        h.suites.push_back(loadBe16(&bytes[kFixedSize + 2 * i]));
    }
    return h;
}

std::vector<uint8_t> CalleeHello::encodeBody() const {
    std::vector<uint8_t> out;
    out.reserve(kSize);
    out.push_back(kHandshakeVersion);
    out.push_back(static_cast<uint8_t>(HandshakeMessageType::CalleeHello));
    put(out, identityKey);
    put(out, ephemeralKey);
    put(out, nonce);
    out.push_back(static_cast<uint8_t>(suite >> 8));
    out.push_back(static_cast<uint8_t>(suite));
    put(out, media);
    return out;
}

std::vector<uint8_t> CalleeHello::encode() const {
    std::vector<uint8_t> out = encodeBody();
    out.insert(out.end(), signature.begin(), signature.end());
    return out;
}

Result<CalleeHello> CalleeHello::decode(std::span<const uint8_t> bytes) {
    if (Status s = checkPrefix(bytes, HandshakeMessageType::CalleeHello); !s) {
        return s;
    }
    if (bytes.size() != kSize) {
        return Status(Errc::Protocol, "callee hello has a bad length");
    }
    CalleeHello h;
    get(h.identityKey, &bytes[2]);
    get(h.ephemeralKey, &bytes[34]);
    get(h.nonce, &bytes[66]);
    h.suite = loadBe16(&bytes[98]);
    h.media = getMedia(&bytes[100]);
    std::copy(&bytes[kBodySize], &bytes[kBodySize] + 64, h.signature.begin());
    return h;
}

std::vector<uint8_t> HandshakeConfirm::encode() const {
    std::vector<uint8_t> out;
    out.reserve(kSize);
    out.push_back(kHandshakeVersion);
    out.push_back(static_cast<uint8_t>(HandshakeMessageType::Confirm));
    out.insert(out.end(), signature.begin(), signature.end());
    return out;
}

Result<HandshakeConfirm> HandshakeConfirm::decode(std::span<const uint8_t> bytes) {
    if (Status s = checkPrefix(bytes, HandshakeMessageType::Confirm); !s) {
        return s;
    }
    if (bytes.size() != kSize) {
        return Status(Errc::Protocol, "handshake confirm has a bad length");
    }
    HandshakeConfirm c;
    std::copy(&bytes[2], &bytes[2] + 64, c.signature.begin());
    return c;
}

} // namespace voice
