// SPDX-License-Identifier: MIT
// One or more filled-in samples of every control message, for round-trip
// tests and for generating the fuzz seed corpora.
#pragma once

#include "wire/messages.h"

#include <vector>

namespace voice::test {

template <size_t N>
std::array<uint8_t, N> patternBytes(uint8_t first) {
    std::array<uint8_t, N> a{};
    for (size_t i = 0; i < N; ++i) {
        a[i] = static_cast<uint8_t>(first + i);
    }
    return a;
}

inline std::vector<uint8_t> mediaPacket(size_t size, uint64_t sequence) {
    MediaHeader h;
    h.kind = size == MediaHeader::kSize ? MediaKind::Probe : MediaKind::Audio;
    h.codec = 1;
    h.sessionId = 0x1122334455667788ULL;
    h.sequence = sequence;
    h.timestampUs = 20000 * sequence;
    std::vector<uint8_t> packet(size);
    h.encode(std::span<uint8_t, MediaHeader::kSize>(packet.data(), MediaHeader::kSize));
    for (size_t i = MediaHeader::kSize; i < size; ++i) {
        packet[i] = static_cast<uint8_t>(i * 7);
    }
    return packet;
}

/// Samples covering every type, including fields at their limits.
inline std::vector<msg::Message> sampleMessages() {
    using namespace msg;
    const CallId id = patternBytes<16>(0xC0);
    std::vector<Message> all;
    all.push_back(Hello{kProtocolVersion, "voiced 0.1.0"});
    all.push_back(Hello{0xFFFF, std::string(kMaxSoftwareLength, 'v')});
    all.push_back(Hello{1, ""});
    all.push_back(RegisterChallenge{patternBytes<32>(0x10)});
    all.push_back(Register{"alice", patternBytes<32>(0x20), patternBytes<64>(0x40)});
    all.push_back(Register{std::string(kMaxNameLength, 'z'), {}, {}});
    all.push_back(Registered{"alice", 40000, 15});
    all.push_back(Registered{"b.o_b-2", 0, 3600});
    all.push_back(Refused{RefuseReason::NameTaken, "name is bound to another key"});
    all.push_back(Refused{RefuseReason::Timeout, std::string(kMaxReasonTextLength, 'x')});
    all.push_back(Refused{RefuseReason::BadName, "caf\xc3\xa9 \xe2\x98\x8e \xf0\x9f\x93\x9e"});
    all.push_back(Call{"bob"});
    all.push_back(Ringing{id, "bob", patternBytes<32>(0x60)});
    all.push_back(IncomingCall{id, "alice", patternBytes<32>(0x80)});
    all.push_back(Accept{id});
    all.push_back(Reject{id});
    all.push_back(Busy{"bob"});
    all.push_back(Offline{"carol"});
    all.push_back(CallStarted{id, 0x0102030405060708ULL, CallRole::Caller});
    all.push_back(CallStarted{id, ~0ULL, CallRole::Callee});
    all.push_back(Hangup{id, HangupReason::Normal});
    all.push_back(Hangup{id, HangupReason::Untrusted});
    all.push_back(Resume{id, std::vector<uint8_t>(kMinResumeTokenLength, 0xAB)});
    all.push_back(Resume{id, std::vector<uint8_t>(kMaxResumeTokenLength, 0xCD)});
    RouteKey routeKey;
    routeKey.fill(0x3C);
    all.push_back(ResumeToken{id, std::vector<uint8_t>(kMinResumeTokenLength, 0x5A), routeKey});
    all.push_back(ResumeToken{id, std::vector<uint8_t>(kMaxResumeTokenLength, 0xA5), {}});
    all.push_back(ProbeRequest{id});
    all.push_back(Keepalive{0x1234567890ABCDEFULL});
    all.push_back(KeepaliveEcho{0x1234567890ABCDEFULL});
    all.push_back(Error{ErrorCode::UnknownCall, "no such call"});
    all.push_back(E2eHandshake{id, std::vector<uint8_t>(140, 0x5A)});
    all.push_back(E2eHandshake{id, std::vector<uint8_t>(kMaxHandshakeBytes, 0xA5)});
    all.push_back(MediaTunnel{mediaPacket(MediaHeader::kSize, 0)});
    all.push_back(MediaTunnel{mediaPacket(80, 7)});
    all.push_back(MediaTunnel{mediaPacket(MediaHeader::kMaxDatagram, 8)});
    all.push_back(Unavailable{"dave"}); // issue 19, appended: the seed files keep their numbers
    return all;
}

} // namespace voice::test
