// SPDX-License-Identifier: MIT
// Control messages: one struct per frame type with its payload layout,
// validation, encode and decode, and a variant to dispatch on.
//
// Conventions for every payload (all integers big-endian):
//   - a name is  u8 length ‖ bytes, checked by validateName() (1..32 bytes of
//     [a-z0-9._-]);
//   - a text is  u8 length ‖ bytes, checked by validateText() (UTF-8, no
//     control characters, at most the field's limit);
//   - keys, signatures, nonces and call ids are fixed-size byte arrays;
//   - enums are one byte; values outside the enum are refused.
// Decoding refuses short fields, trailing bytes, bad enum values, overlong
// strings and anything validate() refuses, with Errc::Protocol. Every valid
// message has exactly one encoding, so decode ok ⇒ encode gives the same
// bytes (the fuzz targets check this).
//
// Conversation (client = voiced, relay = voice-relayd):
//
//   client                         relay
//   Hello{version, software}   →
//                              ←   Hello{version, software}
//                              ←   RegisterChallenge{nonce}
//   Register{name, key, sig}   →       sig = Ed25519 over registerSignedBytes()
//                              ←   Registered{name, udpPort, keepalive} | Refused{reason, text}
//   Call{callee}               →
//                              ←   Ringing{id, callee, key} | Busy{callee} | Offline{callee} |
//                              Unavailable{callee}
//   (callee)                   ←   IncomingCall{id, caller, key}
//   (callee) Accept{id} | Reject{id} →
//                              ←   CallStarted{id, session, role}   (to both)
//                              ←   ResumeToken{id, token, routeKey}  (to both)
//   (after a reconnect) Resume{id, token} →
//                              ←   ResumeToken{id, fresh token, fresh routeKey} | Hangup | Error
//   (media from a new address) ←   ProbeRequest{id}
//   E2eHandshake{id, bytes}    ↔   forwarded untouched to the peer
//   MediaTunnel{packet}        ↔   forwarded when UDP does not get through
//   Hangup{id, reason}         ↔   either side, at any point of a call
//   Keepalive{token}           ↔   KeepaliveEcho{token}
//   Error{code, text}          ↔   a request failed; the connection stays up
#pragma once

#include "core/result.h"
#include "wire/frame.h"
#include "wire/media_header.h"
#include "wire/validate.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace voice {

/// The control protocol version this build speaks (Hello::protocolVersion).
/// 2: ResumeToken carries the side's route key and UDP probes carry a MAC
/// under it (issue 16); version 1 peers are refused at Hello.
inline constexpr uint16_t kProtocolVersion = 2;

/// Field limits, in bytes.
inline constexpr size_t kMaxSoftwareLength = 64;
inline constexpr size_t kMaxReasonTextLength = 200;
inline constexpr size_t kMaxHandshakeBytes = 2048;
inline constexpr size_t kMinResumeTokenLength = 16;
inline constexpr size_t kMaxResumeTokenLength = 64;

/// A call id chosen by the relay: 16 random bytes.
using CallId = std::array<uint8_t, 16>;
/// A side's media route key (wire/probe_auth.h): random per side, fresh on
/// every ResumeToken, sent over TLS only.
using RouteKey = std::array<uint8_t, 32>;
/// An Ed25519 identity public key.
using IdentityKey = std::array<uint8_t, 32>;
/// An Ed25519 signature.
using IdentitySignature = std::array<uint8_t, 64>;
/// The relay's registration challenge: 32 random bytes.
using RegisterNonce = std::array<uint8_t, 32>;

/// Why the relay refused a registration.
enum class RefuseReason : uint8_t {
    BadName = 1,            ///< the name breaks validateName()
    NameTaken = 2,          ///< the name is bound to another identity key
    BadSignature = 3,       ///< the signature over the challenge did not verify
    UnsupportedVersion = 4, ///< the client's protocol version is not served
    RateLimited = 5,        ///< too many attempts from this address
    ServerFull = 6,         ///< no room for another client
    NotAllowed = 7,         ///< the relay's allowlist does not list this name/key
    Timeout = 8,            ///< the client took too long to register
};

/// Which end of a call this client is.
enum class CallRole : uint8_t {
    Caller = 1,
    Callee = 2,
};

/// Why a call ended.
enum class HangupReason : uint8_t {
    Normal = 1,    ///< someone hung up
    Declined = 2,  ///< the callee rejected the call
    Busy = 3,      ///< the callee is in another call
    Offline = 4,   ///< the peer is not (or no longer) registered
    Timeout = 5,   ///< nobody answered, or the handshake did not finish
    PeerLost = 6,  ///< the peer's connection broke and did not come back
    Untrusted = 7, ///< the peer's identity key failed the pin check
    Error = 8,     ///< anything else
};

/// What an Error message is about.
enum class ErrorCode : uint8_t {
    Protocol = 1,           ///< a message was malformed or not allowed now
    UnsupportedVersion = 2, ///< the protocol version is not served
    NotRegistered = 3,      ///< the request needs a registration first
    UnknownCall = 4,        ///< the call id names no call of this client
    BadState = 5,           ///< the request does not fit the call's state
    RateLimited = 6,        ///< too many messages
    Internal = 7,           ///< the other side failed
    /// The same name and key registered from another connection (another
    /// device): this one is closed and should not reconnect on its own.
    Replaced = 8,
};

/// Stable lower-case names for logs and D-Bus ("name-taken", "peer-lost", ...);
/// "unknown" for values outside the enum.
std::string_view refuseReasonName(RefuseReason reason);
std::string_view hangupReasonName(HangupReason reason);
std::string_view errorCodeName(ErrorCode code);

/// The bytes a client signs with its identity key to register:
/// "voiced-register-v1" ‖ nonce ‖ name. The context string keeps the
/// signature from being valid for anything else; the name is last so the
/// concatenation is unambiguous.
std::vector<uint8_t> registerSignedBytes(const RegisterNonce& nonce, std::string_view name);

namespace msg {

// Every message struct has:
//   kType, kMaxPayload       its frame type and largest payload
//   validate()               Errc::InvalidArgument if a field breaks a limit
//   encode(out)              validates, then appends the payload (no header)
//   decode(payload)          parses one whole payload, Errc::Protocol on bad input
// Send one with appendMessage(); receive with decodeMessage().

/// Both ways, first on a connection: who is talking. The receiver decides
/// whether it serves the version; decoding accepts any value.
struct Hello {
    static constexpr FrameType kType = FrameType::Hello;
    static constexpr size_t kMaxPayload = 2 + 1 + kMaxSoftwareLength;

    uint16_t protocolVersion = kProtocolVersion;
    std::string software; ///< e.g. "voiced 0.1.0", at most kMaxSoftwareLength

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Hello> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Hello&, const Hello&) = default;
};

/// Relay → client after Hello: fresh random bytes the client must sign.
struct RegisterChallenge {
    static constexpr FrameType kType = FrameType::RegisterChallenge;
    static constexpr size_t kMaxPayload = 32;

    RegisterNonce nonce{};

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<RegisterChallenge> decode(std::span<const uint8_t> payload);
    friend bool operator==(const RegisterChallenge&, const RegisterChallenge&) = default;
};

/// Client → relay: claims a name with an identity key. The signature is
/// over registerSignedBytes(nonce, name); the relay verifies it.
struct Register {
    static constexpr FrameType kType = FrameType::Register;
    static constexpr size_t kMaxPayload = 1 + kMaxNameLength + 32 + 64;

    std::string name;
    IdentityKey identityKey{};
    IdentitySignature signature{};

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Register> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Register&, const Register&) = default;
};

/// Relay → client: the name is yours.
struct Registered {
    static constexpr FrameType kType = FrameType::Registered;
    static constexpr size_t kMaxPayload = 1 + kMaxNameLength + 2 + 2;

    std::string name;
    uint16_t udpPort = 0;           ///< relay's media UDP port; 0: tunnel media only
    uint16_t keepaliveSeconds = 15; ///< send a Keepalive this often (1..3600)

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Registered> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Registered&, const Registered&) = default;
};

/// Relay → client: registration refused. The relay closes after sending it.
struct Refused {
    static constexpr FrameType kType = FrameType::Refused;
    static constexpr size_t kMaxPayload = 1 + 1 + kMaxReasonTextLength;

    RefuseReason reason = RefuseReason::BadName;
    std::string text; ///< for people, at most kMaxReasonTextLength

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Refused> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Refused&, const Refused&) = default;
};

/// Caller → relay: call this name.
struct Call {
    static constexpr FrameType kType = FrameType::Call;
    static constexpr size_t kMaxPayload = 1 + kMaxNameLength;

    std::string callee;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Call> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Call&, const Call&) = default;
};

/// Relay → caller: the callee is online and being rung. Gives the call id
/// (to cancel with Hangup) and the callee's key (to check against the pin).
struct Ringing {
    static constexpr FrameType kType = FrameType::Ringing;
    static constexpr size_t kMaxPayload = 16 + 1 + kMaxNameLength + 32;

    CallId callId{};
    std::string callee;
    IdentityKey calleeKey{};

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Ringing> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Ringing&, const Ringing&) = default;
};

/// Relay → callee: someone is calling.
struct IncomingCall {
    static constexpr FrameType kType = FrameType::IncomingCall;
    static constexpr size_t kMaxPayload = 16 + 1 + kMaxNameLength + 32;

    CallId callId{};
    std::string caller;
    IdentityKey callerKey{};

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<IncomingCall> decode(std::span<const uint8_t> payload);
    friend bool operator==(const IncomingCall&, const IncomingCall&) = default;
};

/// Callee → relay: answer the call.
struct Accept {
    static constexpr FrameType kType = FrameType::Accept;
    static constexpr size_t kMaxPayload = 16;

    CallId callId{};

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Accept> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Accept&, const Accept&) = default;
};

/// Callee → relay: decline the call (the caller gets Hangup{Declined}).
struct Reject {
    static constexpr FrameType kType = FrameType::Reject;
    static constexpr size_t kMaxPayload = 16;

    CallId callId{};

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Reject> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Reject&, const Reject&) = default;
};

/// Relay → caller: the callee is in another call; nobody was disturbed.
struct Busy {
    static constexpr FrameType kType = FrameType::Busy;
    static constexpr size_t kMaxPayload = 1 + kMaxNameLength;

    std::string callee;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Busy> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Busy&, const Busy&) = default;
};

/// Relay → caller: the callee is not registered.
struct Offline {
    static constexpr FrameType kType = FrameType::Offline;
    static constexpr size_t kMaxPayload = 1 + kMaxNameLength;

    std::string callee;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Offline> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Offline&, const Offline&) = default;
};

/// Relay → both sides once the callee accepted: media may flow. The session
/// id is this receiver's own token: it puts it in MediaHeader::sessionId of
/// every packet it sends, and the relay routes by it.
struct CallStarted {
    static constexpr FrameType kType = FrameType::CallStarted;
    static constexpr size_t kMaxPayload = 16 + 8 + 1;

    CallId callId{};
    uint64_t sessionId = 0;
    CallRole role = CallRole::Caller;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<CallStarted> decode(std::span<const uint8_t> payload);
    friend bool operator==(const CallStarted&, const CallStarted&) = default;
};

/// Both ways: end a call, or cancel one that is still ringing. The relay
/// passes it to the peer.
struct Hangup {
    static constexpr FrameType kType = FrameType::Hangup;
    static constexpr size_t kMaxPayload = 16 + 1;

    CallId callId{};
    HangupReason reason = HangupReason::Normal;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Hangup> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Hangup&, const Hangup&) = default;
};

/// Client → relay after reconnecting (relay restart, address change):
/// resume this call. The token is one the relay handed out earlier
/// (kMinResumeTokenLength..kMaxResumeTokenLength bytes); the end-to-end
/// keys are unaffected.
struct Resume {
    static constexpr FrameType kType = FrameType::Resume;
    static constexpr size_t kMaxPayload = 16 + 1 + kMaxResumeTokenLength;

    CallId callId{};
    std::vector<uint8_t> token;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Resume> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Resume&, const Resume&) = default;
};

/// Relay → client, right after CallStarted and as the answer to an accepted
/// Resume: the token this client presents in Resume to get the call back
/// after losing its control connection (or after a relay restart). Opaque
/// to the client; the relay verifies it (relay/resume_tokens.h). The route
/// key is this side's new key for UDP probes (wire/probe_auth.h): the relay
/// moves the side's UDP address only for a probe MACed under it, and every
/// ResumeToken replaces the previous key.
struct ResumeToken {
    static constexpr FrameType kType = FrameType::ResumeToken;
    static constexpr size_t kMaxPayload = 16 + 1 + kMaxResumeTokenLength + 32;

    CallId callId{};
    std::vector<uint8_t> token;
    RouteKey routeKey{};

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<ResumeToken> decode(std::span<const uint8_t> payload);
    friend bool operator==(const ResumeToken&, const ResumeToken&) = default;
};

/// Relay → client in a call: media with your session id came over UDP from
/// an address that is not your current one (your NAT may have rebound):
/// send an authenticated UDP probe now, so the relay follows at once
/// instead of at the next periodic probe. Rate-limited per session; an
/// attacker who triggers it only makes the client probe from where it is.
struct ProbeRequest {
    static constexpr FrameType kType = FrameType::ProbeRequest;
    static constexpr size_t kMaxPayload = 16;

    CallId callId{};

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<ProbeRequest> decode(std::span<const uint8_t> payload);
    friend bool operator==(const ProbeRequest&, const ProbeRequest&) = default;
};

/// Both ways: are you there? Answered with KeepaliveEcho carrying the same
/// token (e.g. a send time, to measure the round trip).
struct Keepalive {
    static constexpr FrameType kType = FrameType::Keepalive;
    static constexpr size_t kMaxPayload = 8;

    uint64_t token = 0;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Keepalive> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Keepalive&, const Keepalive&) = default;
};

/// Both ways: the answer to a Keepalive.
struct KeepaliveEcho {
    static constexpr FrameType kType = FrameType::KeepaliveEcho;
    static constexpr size_t kMaxPayload = 8;

    uint64_t token = 0;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<KeepaliveEcho> decode(std::span<const uint8_t> payload);
    friend bool operator==(const KeepaliveEcho&, const KeepaliveEcho&) = default;
};

/// Both ways: a request failed.
struct Error {
    static constexpr FrameType kType = FrameType::Error;
    static constexpr size_t kMaxPayload = 1 + 1 + kMaxReasonTextLength;

    ErrorCode code = ErrorCode::Protocol;
    std::string text; ///< for people, at most kMaxReasonTextLength

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Error> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Error&, const Error&) = default;
};

/// Both ways: end-to-end handshake bytes for the peer of a call. The relay
/// forwards them untouched; their content belongs to lib/crypto/.
/// Layout: call id ‖ u16 length ‖ bytes (1..kMaxHandshakeBytes).
struct E2eHandshake {
    static constexpr FrameType kType = FrameType::E2eHandshake;
    static constexpr size_t kMaxPayload = 16 + 2 + kMaxHandshakeBytes;

    CallId callId{};
    std::vector<uint8_t> bytes;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<E2eHandshake> decode(std::span<const uint8_t> payload);
    friend bool operator==(const E2eHandshake&, const E2eHandshake&) = default;
};

/// Both ways: one whole media packet (MediaHeader ‖ ciphertext ‖ tag) when
/// UDP does not get through. The payload IS the packet, byte for byte the
/// same as the UDP datagram would be: MediaHeader::kSize..kMaxDatagram
/// bytes, and its header must parse (the relay routes by its session id).
struct MediaTunnel {
    static constexpr FrameType kType = FrameType::MediaTunnel;
    static constexpr size_t kMaxPayload = MediaHeader::kMaxDatagram;

    std::vector<uint8_t> packet;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<MediaTunnel> decode(std::span<const uint8_t> payload);
    friend bool operator==(const MediaTunnel&, const MediaTunnel&) = default;
};

/// Relay → caller: the callee's state cannot be known now (a cluster relay
/// whose Redis does not answer): not the same as Offline (issue 19).
struct Unavailable {
    static constexpr FrameType kType = FrameType::Unavailable;
    static constexpr size_t kMaxPayload = 1 + kMaxNameLength;

    std::string callee;

    Status validate() const;
    Status encode(std::vector<uint8_t>& out) const;
    static Result<Unavailable> decode(std::span<const uint8_t> payload);
    friend bool operator==(const Unavailable&, const Unavailable&) = default;
};

/// Any control message; the alternative's index order is not part of the
/// wire format (the frame type is).
using Message = std::variant<Hello, RegisterChallenge, Register, Registered, Refused, Call, Ringing,
                             IncomingCall, Accept, Reject, Busy, Offline, CallStarted, Hangup,
                             Resume, ResumeToken, ProbeRequest, Keepalive, KeepaliveEcho, Error,
                             E2eHandshake, MediaTunnel, Unavailable>;

/// Decodes a frame's payload into the message its type names. Errc::Protocol
/// on any malformed payload.
Result<Message> decodeMessage(FrameType type, std::span<const uint8_t> payload);
inline Result<Message> decodeMessage(const Frame& frame) {
    return decodeMessage(frame.type, frame.payload);
}

/// The frame type of whatever message the variant holds.
FrameType messageType(const Message& message);

/// Appends one message as a whole frame (header ‖ payload) to `out`.
/// Errc::InvalidArgument if the message does not validate; `out` is left
/// unchanged then.
template <typename M>
Status appendMessage(std::vector<uint8_t>& out, const M& message) {
    const size_t start = beginFrame(out);
    Status s = message.encode(out);
    if (!s.ok()) {
        out.resize(start);
        return s;
    }
    return finishFrame(out, start, M::kType);
}

/// Same, for a message in the variant.
Status appendMessage(std::vector<uint8_t>& out, const Message& message);

/// For switching on a decoded Message with std::visit:
///     std::visit(msg::Overloaded{[](const msg::Call& c) {...}, [](const auto&) {...}}, m);
template <typename... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

} // namespace msg
} // namespace voice
