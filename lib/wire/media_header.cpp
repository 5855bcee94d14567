// SPDX-License-Identifier: MIT
// MediaHeader encode/decode.
#include "wire/media_header.h"

#include "wire/endian.h"

namespace voice {

void MediaHeader::encode(std::span<uint8_t, kSize> out) const {
    uint8_t flags = 0;
    if (direction == MediaDirection::CalleeToCaller) {
        flags |= kFlagDirection;
    }
    if (fec) {
        flags |= kFlagFec;
    }
    out[0] = kVersion;
    out[1] = static_cast<uint8_t>(kind);
    out[2] = flags;
    out[3] = codec;
    storeBe64(&out[4], sessionId);
    storeBe64(&out[12], sequence);
    storeBe64(&out[20], timestampUs);
}

Result<MediaHeader> MediaHeader::decode(std::span<const uint8_t> packet) {
    if (packet.size() < kSize) {
        return Status(Errc::Protocol, "media packet shorter than its header");
    }
    if (packet[0] != kVersion) {
        return Status(Errc::Protocol, "unknown media packet version");
    }
    MediaHeader h;
    switch (packet[1]) {
    case static_cast<uint8_t>(MediaKind::Audio):
        h.kind = MediaKind::Audio;
        break;
    case static_cast<uint8_t>(MediaKind::Probe):
        h.kind = MediaKind::Probe;
        break;
    case static_cast<uint8_t>(MediaKind::Feedback):
        h.kind = MediaKind::Feedback;
        break;
    default:
        return Status(Errc::Protocol, "unknown media packet kind");
    }
    const uint8_t flags = packet[2];
    if ((flags & ~kKnownFlags) != 0) {
        return Status(Errc::Protocol, "reserved media flag bits set");
    }
    h.direction =
        (flags & kFlagDirection) ? MediaDirection::CalleeToCaller : MediaDirection::CallerToCallee;
    h.fec = (flags & kFlagFec) != 0;
    h.codec = packet[3];
    h.sessionId = loadBe64(&packet[4]);
    h.sequence = loadBe64(&packet[12]);
    h.timestampUs = loadBe64(&packet[20]);
    return h;
}

} // namespace voice
