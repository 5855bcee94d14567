// SPDX-License-Identifier: MIT
// Control message layouts: validation, encoding and decoding.
#include "wire/messages.h"

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"

#include <string>
#include <type_traits>

namespace voice {

namespace {

constexpr std::string_view kRegisterContext = "voiced-register-v1";

/// The variant has exactly one alternative per frame type, and each
/// message's largest encoding is what the frame layer enforces.
template <typename... M>
constexpr bool limitsAgree(std::variant<M...>*) {
    return ((M::kMaxPayload == maxPayload(M::kType)) && ...);
}
static_assert(limitsAgree(static_cast<msg::Message*>(nullptr)),
              "message layouts and the frame type table disagree on a size limit");
static_assert(std::variant_size_v<msg::Message> == kFrameTypes.size(),
              "every frame type needs exactly one message struct");

Status invalid(std::string_view field, const Status& why) {
    return Status(Errc::InvalidArgument, std::string(field) + ": " + why.detail());
}

Status checkName(std::string_view field, const std::string& name) {
    Status s = validateName(name);
    return s.ok() ? s : invalid(field, s);
}

Status checkText(std::string_view field, const std::string& text, size_t maxLength) {
    Status s = validateText(text, maxLength);
    return s.ok() ? s : invalid(field, s);
}

Status badEnum(std::string_view field) {
    return Status(Errc::InvalidArgument, std::string(field) + ": unknown value");
}

bool knownRefuseReason(RefuseReason r) {
    return r >= RefuseReason::BadName && r <= RefuseReason::Timeout;
}
bool knownRole(CallRole r) {
    return r == CallRole::Caller || r == CallRole::Callee;
}
bool knownHangupReason(HangupReason r) {
    return r >= HangupReason::Normal && r <= HangupReason::Error;
}
bool knownErrorCode(ErrorCode c) {
    return c >= ErrorCode::Protocol && c <= ErrorCode::Replaced;
}

/// u8 length ‖ bytes. Callers validated the length already.
void writeString8(ByteWriter& w, const std::string& s) {
    w.u8(static_cast<uint8_t>(s.size()));
    w.string(s);
}

/// u8 length ‖ bytes; the content and limit are checked by validate().
void readString8(ByteReader& r, std::string& s) {
    uint8_t n = 0;
    if (r.u8(n)) {
        r.string(n, s);
    }
}

template <typename E>
void readEnum(ByteReader& r, E& e) {
    uint8_t v = 0;
    if (r.u8(v)) {
        e = static_cast<E>(v);
    }
}

template <typename E>
uint8_t enumByte(E e) {
    return static_cast<uint8_t>(e);
}

/// The common end of every decode: all fields present, nothing left over,
/// every field within its limits.
template <typename M>
Result<M> finishDecode(const ByteReader& r, M m) {
    const std::string name(frameTypeName(M::kType));
    if (!r.ok()) {
        return Status(Errc::Protocol, name + " payload is truncated");
    }
    if (!r.atEnd()) {
        return Status(Errc::Protocol,
                      name + " payload has " + std::to_string(r.remaining()) + " trailing bytes");
    }
    Status s = m.validate();
    if (!s.ok()) {
        return Status(Errc::Protocol, name + ": " + s.detail());
    }
    return m;
}

} // namespace

std::string_view refuseReasonName(RefuseReason reason) {
    switch (reason) {
    case RefuseReason::BadName:
        return "bad-name";
    case RefuseReason::NameTaken:
        return "name-taken";
    case RefuseReason::BadSignature:
        return "bad-signature";
    case RefuseReason::UnsupportedVersion:
        return "unsupported-version";
    case RefuseReason::RateLimited:
        return "rate-limited";
    case RefuseReason::ServerFull:
        return "server-full";
    case RefuseReason::NotAllowed:
        return "not-allowed";
    case RefuseReason::Timeout:
        return "timeout";
    }
    return "unknown";
}

std::string_view hangupReasonName(HangupReason reason) {
    switch (reason) {
    case HangupReason::Normal:
        return "normal";
    case HangupReason::Declined:
        return "declined";
    case HangupReason::Busy:
        return "busy";
    case HangupReason::Offline:
        return "offline";
    case HangupReason::Timeout:
        return "timeout";
    case HangupReason::PeerLost:
        return "peer-lost";
    case HangupReason::Untrusted:
        return "untrusted";
    case HangupReason::Error:
        return "error";
    }
    return "unknown";
}

std::string_view errorCodeName(ErrorCode code) {
    switch (code) {
    case ErrorCode::Protocol:
        return "protocol";
    case ErrorCode::UnsupportedVersion:
        return "unsupported-version";
    case ErrorCode::NotRegistered:
        return "not-registered";
    case ErrorCode::UnknownCall:
        return "unknown-call";
    case ErrorCode::BadState:
        return "bad-state";
    case ErrorCode::RateLimited:
        return "rate-limited";
    case ErrorCode::Internal:
        return "internal";
    case ErrorCode::Replaced:
        return "replaced";
    }
    return "unknown";
}

std::vector<uint8_t> registerSignedBytes(const RegisterNonce& nonce, std::string_view name) {
    std::vector<uint8_t> out;
    out.reserve(kRegisterContext.size() + nonce.size() + name.size());
    ByteWriter w(out);
    w.string(kRegisterContext);
    w.bytes(nonce);
    w.string(name);
    return out;
}

namespace msg {

// ---- Hello: u16 version ‖ text software

Status Hello::validate() const {
    return checkText("software", software, kMaxSoftwareLength);
}

Status Hello::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.u16(protocolVersion);
    writeString8(w, software);
    return {};
}

Result<Hello> Hello::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Hello m;
    r.u16(m.protocolVersion);
    readString8(r, m.software);
    return finishDecode(r, std::move(m));
}

// ---- RegisterChallenge: nonce[32]

Status RegisterChallenge::validate() const {
    return {};
}

Status RegisterChallenge::encode(std::vector<uint8_t>& out) const {
    ByteWriter w(out);
    w.bytes(nonce);
    return {};
}

Result<RegisterChallenge> RegisterChallenge::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    RegisterChallenge m;
    r.array(m.nonce);
    return finishDecode(r, std::move(m));
}

// ---- Register: name ‖ key[32] ‖ signature[64]

Status Register::validate() const {
    return checkName("name", name);
}

Status Register::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    writeString8(w, name);
    w.bytes(identityKey);
    w.bytes(signature);
    return {};
}

Result<Register> Register::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Register m;
    readString8(r, m.name);
    r.array(m.identityKey);
    r.array(m.signature);
    return finishDecode(r, std::move(m));
}

// ---- Registered: name ‖ u16 udpPort ‖ u16 keepaliveSeconds

Status Registered::validate() const {
    if (Status s = checkName("name", name); !s.ok()) {
        return s;
    }
    if (keepaliveSeconds < 1 || keepaliveSeconds > 3600) {
        return Status(Errc::InvalidArgument, "keepalive interval outside 1..3600 seconds");
    }
    return {};
}

Status Registered::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    writeString8(w, name);
    w.u16(udpPort);
    w.u16(keepaliveSeconds);
    return {};
}

Result<Registered> Registered::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Registered m;
    readString8(r, m.name);
    r.u16(m.udpPort);
    r.u16(m.keepaliveSeconds);
    return finishDecode(r, std::move(m));
}

// ---- Refused: u8 reason ‖ text

Status Refused::validate() const {
    if (!knownRefuseReason(reason)) {
        return badEnum("refuse reason");
    }
    return checkText("text", text, kMaxReasonTextLength);
}

Status Refused::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.u8(enumByte(reason));
    writeString8(w, text);
    return {};
}

Result<Refused> Refused::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Refused m;
    readEnum(r, m.reason);
    readString8(r, m.text);
    return finishDecode(r, std::move(m));
}

// ---- Call, Busy, Offline: name

Status Call::validate() const {
    return checkName("callee", callee);
}

Status Call::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    writeString8(w, callee);
    return {};
}

Result<Call> Call::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Call m;
    readString8(r, m.callee);
    return finishDecode(r, std::move(m));
}

Status Busy::validate() const {
    return checkName("callee", callee);
}

Status Busy::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    writeString8(w, callee);
    return {};
}

Result<Busy> Busy::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Busy m;
    readString8(r, m.callee);
    return finishDecode(r, std::move(m));
}

Status Offline::validate() const {
    return checkName("callee", callee);
}

Status Offline::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    writeString8(w, callee);
    return {};
}

Result<Offline> Offline::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Offline m;
    readString8(r, m.callee);
    return finishDecode(r, std::move(m));
}

Status Unavailable::validate() const {
    return checkName("callee", callee);
}

Status Unavailable::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    writeString8(w, callee);
    return {};
}

Result<Unavailable> Unavailable::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Unavailable m;
    readString8(r, m.callee);
    return finishDecode(r, std::move(m));
}

// ---- Ringing, IncomingCall: call id[16] ‖ name ‖ key[32]

Status Ringing::validate() const {
    return checkName("callee", callee);
}

Status Ringing::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.bytes(callId);
    writeString8(w, callee);
    w.bytes(calleeKey);
    return {};
}

Result<Ringing> Ringing::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Ringing m;
    r.array(m.callId);
    readString8(r, m.callee);
    r.array(m.calleeKey);
    return finishDecode(r, std::move(m));
}

Status IncomingCall::validate() const {
    return checkName("caller", caller);
}

Status IncomingCall::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.bytes(callId);
    writeString8(w, caller);
    w.bytes(callerKey);
    return {};
}

Result<IncomingCall> IncomingCall::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    IncomingCall m;
    r.array(m.callId);
    readString8(r, m.caller);
    r.array(m.callerKey);
    return finishDecode(r, std::move(m));
}

// ---- Accept, Reject, ProbeRequest: call id[16]

Status ProbeRequest::validate() const {
    return {};
}

Status ProbeRequest::encode(std::vector<uint8_t>& out) const {
    ByteWriter w(out);
    w.bytes(callId);
    return {};
}

Result<ProbeRequest> ProbeRequest::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    ProbeRequest m;
    r.array(m.callId);
    return finishDecode(r, std::move(m));
}

Status Accept::validate() const {
    return {};
}

Status Accept::encode(std::vector<uint8_t>& out) const {
    ByteWriter w(out);
    w.bytes(callId);
    return {};
}

Result<Accept> Accept::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Accept m;
    r.array(m.callId);
    return finishDecode(r, std::move(m));
}

Status Reject::validate() const {
    return {};
}

Status Reject::encode(std::vector<uint8_t>& out) const {
    ByteWriter w(out);
    w.bytes(callId);
    return {};
}

Result<Reject> Reject::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Reject m;
    r.array(m.callId);
    return finishDecode(r, std::move(m));
}

// ---- CallStarted: call id[16] ‖ u64 session id ‖ u8 role

Status CallStarted::validate() const {
    return knownRole(role) ? Status() : badEnum("role");
}

Status CallStarted::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.bytes(callId);
    w.u64(sessionId);
    w.u8(enumByte(role));
    return {};
}

Result<CallStarted> CallStarted::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    CallStarted m;
    r.array(m.callId);
    r.u64(m.sessionId);
    readEnum(r, m.role);
    return finishDecode(r, std::move(m));
}

// ---- Hangup: call id[16] ‖ u8 reason

Status Hangup::validate() const {
    return knownHangupReason(reason) ? Status() : badEnum("hangup reason");
}

Status Hangup::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.bytes(callId);
    w.u8(enumByte(reason));
    return {};
}

Result<Hangup> Hangup::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Hangup m;
    r.array(m.callId);
    readEnum(r, m.reason);
    return finishDecode(r, std::move(m));
}

// ---- Resume: call id[16] ‖ u8 length ‖ token

Status Resume::validate() const {
    if (token.size() < kMinResumeTokenLength || token.size() > kMaxResumeTokenLength) {
        return Status(Errc::InvalidArgument, "resume token must be " +
                                                 std::to_string(kMinResumeTokenLength) + ".." +
                                                 std::to_string(kMaxResumeTokenLength) + " bytes");
    }
    return {};
}

Status Resume::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.bytes(callId);
    w.u8(static_cast<uint8_t>(token.size()));
    w.bytes(token);
    return {};
}

Result<Resume> Resume::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Resume m;
    r.array(m.callId);
    uint8_t n = 0;
    std::span<const uint8_t> token;
    if (r.u8(n) && r.bytes(n, token)) {
        m.token.assign(token.begin(), token.end());
    }
    return finishDecode(r, std::move(m));
}

// ---- ResumeToken: call id[16] ‖ u8 length ‖ token ‖ route key[32]

Status ResumeToken::validate() const {
    return Resume{callId, token}.validate();
}

Status ResumeToken::encode(std::vector<uint8_t>& out) const {
    if (Status s = Resume{callId, token}.encode(out); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.bytes(routeKey);
    return {};
}

Result<ResumeToken> ResumeToken::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    ResumeToken m;
    r.array(m.callId);
    uint8_t n = 0;
    std::span<const uint8_t> token;
    if (r.u8(n) && r.bytes(n, token)) {
        m.token.assign(token.begin(), token.end());
    }
    r.array(m.routeKey);
    return finishDecode(r, std::move(m));
}

// ---- Keepalive, KeepaliveEcho: u64 token

Status Keepalive::validate() const {
    return {};
}

Status Keepalive::encode(std::vector<uint8_t>& out) const {
    ByteWriter w(out);
    w.u64(token);
    return {};
}

Result<Keepalive> Keepalive::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Keepalive m;
    r.u64(m.token);
    return finishDecode(r, std::move(m));
}

Status KeepaliveEcho::validate() const {
    return {};
}

Status KeepaliveEcho::encode(std::vector<uint8_t>& out) const {
    ByteWriter w(out);
    w.u64(token);
    return {};
}

Result<KeepaliveEcho> KeepaliveEcho::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    KeepaliveEcho m;
    r.u64(m.token);
    return finishDecode(r, std::move(m));
}

// ---- Error: u8 code ‖ text

Status Error::validate() const {
    if (!knownErrorCode(code)) {
        return badEnum("error code");
    }
    return checkText("text", text, kMaxReasonTextLength);
}

Status Error::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.u8(enumByte(code));
    writeString8(w, text);
    return {};
}

Result<Error> Error::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    Error m;
    readEnum(r, m.code);
    readString8(r, m.text);
    return finishDecode(r, std::move(m));
}

// ---- E2eHandshake: call id[16] ‖ u16 length ‖ bytes

Status E2eHandshake::validate() const {
    if (bytes.empty() || bytes.size() > kMaxHandshakeBytes) {
        return Status(Errc::InvalidArgument, "handshake payload must be 1.." +
                                                 std::to_string(kMaxHandshakeBytes) + " bytes");
    }
    return {};
}

Status E2eHandshake::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.bytes(callId);
    w.u16(static_cast<uint16_t>(bytes.size()));
    w.bytes(bytes);
    return {};
}

Result<E2eHandshake> E2eHandshake::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    E2eHandshake m;
    r.array(m.callId);
    uint16_t n = 0;
    std::span<const uint8_t> bytes;
    if (r.u16(n) && r.bytes(n, bytes)) {
        m.bytes.assign(bytes.begin(), bytes.end());
    }
    return finishDecode(r, std::move(m));
}

// ---- MediaTunnel: the packet itself

Status MediaTunnel::validate() const {
    if (packet.size() < MediaHeader::kSize || packet.size() > MediaHeader::kMaxDatagram) {
        return Status(Errc::InvalidArgument,
                      "tunnelled media packet must be " + std::to_string(MediaHeader::kSize) +
                          ".." + std::to_string(MediaHeader::kMaxDatagram) + " bytes");
    }
    auto header = MediaHeader::decode(packet);
    if (!header.ok()) {
        return Status(Errc::InvalidArgument, header.status().detail());
    }
    return {};
}

Status MediaTunnel::encode(std::vector<uint8_t>& out) const {
    if (Status s = validate(); !s.ok()) {
        return s;
    }
    ByteWriter w(out);
    w.bytes(packet);
    return {};
}

Result<MediaTunnel> MediaTunnel::decode(std::span<const uint8_t> payload) {
    ByteReader r(payload);
    MediaTunnel m;
    auto all = r.rest();
    m.packet.assign(all.begin(), all.end());
    return finishDecode(r, std::move(m));
}

// ---- dispatch

namespace {

template <typename M>
Result<Message> decodeAs(std::span<const uint8_t> payload) {
    auto m = M::decode(payload);
    if (!m.ok()) {
        return m.status();
    }
    return Message(std::move(*m));
}

/// Finds the alternative whose kType matches, at compile-time-generated cost
/// of one comparison per alternative.
template <size_t I = 0>
Result<Message> decodeByType(FrameType type, std::span<const uint8_t> payload) {
    if constexpr (I == std::variant_size_v<Message>) {
        return Status(Errc::Protocol,
                      "unknown frame type " + std::to_string(static_cast<unsigned>(type)));
    } else {
        using M = std::variant_alternative_t<I, Message>;
        if (type == M::kType) {
            return decodeAs<M>(payload);
        }
        return decodeByType<I + 1>(type, payload);
    }
}

} // namespace

Result<Message> decodeMessage(FrameType type, std::span<const uint8_t> payload) {
    return decodeByType(type, payload);
}

FrameType messageType(const Message& message) {
    return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, message);
}

Status appendMessage(std::vector<uint8_t>& out, const Message& message) {
    return std::visit([&out](const auto& m) { return appendMessage(out, m); }, message);
}

} // namespace msg
} // namespace voice
