// SPDX-License-Identifier: MIT
// Control-channel framing: the frame header, the type table with per-type
// size limits, an incremental decoder and the encoder.
//
// Every control message (TLS over TCP between a client and the relay) is one
// frame:
//
//  offset size field
//   0     1    type (FrameType); unknown types are a protocol error
//   1     1    flags: reserved, must be zero
//   2     2    payload length, big-endian, at most maxPayload(type)
//   4     n    payload (see wire/messages.h for each type's layout)
//
// Two length bytes are enough: control messages are small and the largest
// type (an end-to-end handshake payload) stays far below 64 KiB. The length
// is checked against the per-type limit as soon as the four header bytes are
// in, before a single payload byte is buffered, so a peer cannot make us
// hold more than kMaxFramePayload bytes.
#pragma once

#include "core/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace voice {

/// Frame types. Numbering groups: 0x01.. session and registration, 0x10..
/// calls, 0x20.. liveness and errors, 0x30.. payloads relayed end to end.
/// Zero is never a valid type.
enum class FrameType : uint8_t {
    Hello = 0x01,             ///< both ways: protocol version, software
    RegisterChallenge = 0x02, ///< relay → client: nonce to sign
    Register = 0x03,          ///< client → relay: name, identity key, signature
    Registered = 0x04,        ///< relay → client: registration accepted
    Refused = 0x05,           ///< relay → client: registration refused
    Call = 0x10,              ///< caller → relay: call a name
    Ringing = 0x11,           ///< relay → caller: the callee is being rung
    IncomingCall = 0x12,      ///< relay → callee: someone calls
    Accept = 0x13,            ///< callee → relay: answer
    Reject = 0x14,            ///< callee → relay: decline
    Busy = 0x15,              ///< relay → caller: callee is in another call
    Offline = 0x16,           ///< relay → caller: callee is not registered
    CallStarted = 0x17,       ///< relay → both: matched, media may flow
    Hangup = 0x18,            ///< both ways: end or cancel a call
    Resume = 0x19,            ///< client → relay: resume a call after reconnect
    ResumeToken = 0x1A,       ///< relay → client: a token to resume this call with
    ProbeRequest = 0x1B,      ///< relay → client: your media came from a new address; probe now
    Unavailable = 0x1C,       ///< relay → caller: the callee cannot be reached now (cluster)
    Keepalive = 0x20,         ///< both ways: liveness probe
    KeepaliveEcho = 0x21,     ///< both ways: answer to a Keepalive
    Error = 0x22,             ///< both ways: a request failed
    E2eHandshake = 0x30,      ///< both ways: opaque handshake bytes for the peer
    MediaTunnel = 0x31,       ///< both ways: a whole media packet over TCP
};

/// Who may send a frame type. The relay refuses client frames it would only
/// send itself, and the daemon the other way round.
enum class FrameSender : uint8_t {
    Client = 1,
    Relay = 2,
    Both = 3,
};

/// Static facts about one frame type.
struct FrameTypeInfo {
    FrameType type;
    std::string_view name; ///< stable lower-case name for logs
    uint16_t maxPayload;   ///< largest payload a valid message of this type has
    FrameSender sender;
};

/// Size of the fixed frame header in bytes.
inline constexpr size_t kFrameHeaderSize = 4;

/// Every known frame type, in numeric order. The limits are the exact
/// largest encodings of each message (wire/messages.h static_asserts that
/// they agree with the message layouts).
inline constexpr std::array<FrameTypeInfo, 23> kFrameTypes{{
    {FrameType::Hello, "hello", 67, FrameSender::Both},
    {FrameType::RegisterChallenge, "register-challenge", 32, FrameSender::Relay},
    {FrameType::Register, "register", 129, FrameSender::Client},
    {FrameType::Registered, "registered", 37, FrameSender::Relay},
    {FrameType::Refused, "refused", 202, FrameSender::Relay},
    {FrameType::Call, "call", 33, FrameSender::Client},
    {FrameType::Ringing, "ringing", 81, FrameSender::Relay},
    {FrameType::IncomingCall, "incoming-call", 81, FrameSender::Relay},
    {FrameType::Accept, "accept", 16, FrameSender::Client},
    {FrameType::Reject, "reject", 16, FrameSender::Client},
    {FrameType::Busy, "busy", 33, FrameSender::Relay},
    {FrameType::Offline, "offline", 33, FrameSender::Relay},
    {FrameType::CallStarted, "call-started", 25, FrameSender::Relay},
    {FrameType::Hangup, "hangup", 17, FrameSender::Both},
    {FrameType::Resume, "resume", 81, FrameSender::Client},
    {FrameType::ResumeToken, "resume-token", 113, FrameSender::Relay},
    {FrameType::ProbeRequest, "probe-request", 16, FrameSender::Relay},
    {FrameType::Unavailable, "unavailable", 33, FrameSender::Relay},
    {FrameType::Keepalive, "keepalive", 8, FrameSender::Both},
    {FrameType::KeepaliveEcho, "keepalive-echo", 8, FrameSender::Both},
    {FrameType::Error, "error", 202, FrameSender::Both},
    {FrameType::E2eHandshake, "e2e-handshake", 2066, FrameSender::Both},
    {FrameType::MediaTunnel, "media-tunnel", 1200, FrameSender::Both},
}};

/// Index of a type byte in kFrameTypes, or -1 for an unknown type.
constexpr int frameTypeIndex(uint8_t type) {
    for (size_t i = 0; i < kFrameTypes.size(); ++i) {
        if (static_cast<uint8_t>(kFrameTypes[i].type) == type) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

/// The table entry for a type byte, or nullptr for an unknown type.
inline const FrameTypeInfo* frameTypeInfo(uint8_t type) {
    const int i = frameTypeIndex(type);
    return i < 0 ? nullptr : &kFrameTypes[static_cast<size_t>(i)];
}

// The lookups below go by index, not pointer: GCC with -fsanitize=undefined
// refuses pointer comparisons in constant expressions.

/// Largest payload allowed for a type; 0 for a value outside the table.
constexpr uint16_t maxPayload(FrameType type) {
    const int i = frameTypeIndex(static_cast<uint8_t>(type));
    return i < 0 ? 0 : kFrameTypes[static_cast<size_t>(i)].maxPayload;
}

/// "hello", "register", ...; "unknown" for a value outside the table.
constexpr std::string_view frameTypeName(FrameType type) {
    const int i = frameTypeIndex(static_cast<uint8_t>(type));
    return i < 0 ? std::string_view("unknown") : kFrameTypes[static_cast<size_t>(i)].name;
}

/// True if `sender` may send frames of this type (FrameTypeInfo::sender).
/// The relay drops a client that sends a relay-only type, and vice versa.
constexpr bool mayBeSentBy(FrameType type, FrameSender sender) {
    const int i = frameTypeIndex(static_cast<uint8_t>(type));
    if (i < 0) {
        return false;
    }
    const FrameSender allowed = kFrameTypes[static_cast<size_t>(i)].sender;
    return allowed == FrameSender::Both || allowed == sender;
}

/// The largest maxPayload of any type: what the decoder may have to hold.
inline constexpr size_t kMaxFramePayload = [] {
    size_t largest = 0;
    for (const auto& info : kFrameTypes) {
        largest = info.maxPayload > largest ? info.maxPayload : largest;
    }
    return largest;
}();

/// A decoded frame. The payload is a view that stays valid until the next
/// call into the decoder that produced it (or as long as the input span it
/// points into, whichever is shorter).
struct Frame {
    FrameType type;
    std::span<const uint8_t> payload;
};

/// Incremental frame decoder for one byte stream.
///
/// Feed it whatever the socket produced, in chunks of any size (one byte at
/// a time works), and call next() until it reports "need more":
///
///     std::span<const uint8_t> in(buf, n);
///     for (;;) {
///         auto step = decoder.next(in);
///         if (!step.ok()) { /* protocol error: log step.status(), close */ break; }
///         if (!*step) break;           // need more bytes
///         handle(**step);              // a frame; its payload is valid until next()
///     }
///
/// Errors (Errc::Protocol): unknown type, reserved flag bits, payload longer
/// than the type allows — all detected from the header alone, before any
/// payload is buffered. After an error the decoder stays failed and returns
/// the same error on every call; the stream cannot be resynchronised and the
/// connection must be closed.
///
/// Memory is a fixed internal buffer of kFrameHeaderSize + kMaxFramePayload
/// bytes; a whole frame already contiguous in the input is returned without
/// copying. Not thread-safe: one decoder per connection, used by the thread
/// that reads it.
class FrameDecoder {
public:
    FrameDecoder() = default;
    FrameDecoder(const FrameDecoder&) = delete;
    FrameDecoder& operator=(const FrameDecoder&) = delete;

    /// Consumes bytes from the front of `input` (advancing it) until one
    /// frame is complete, the input runs out, or the stream is found bad.
    /// Returns a frame, std::nullopt when more input is needed (then all of
    /// `input` was consumed), or the protocol error.
    Result<std::optional<Frame>> next(std::span<const uint8_t>& input);

    /// True after a protocol error.
    bool failed() const { return !error_.ok(); }
    /// True when no partial frame is buffered (a clean place to close).
    bool idle() const { return !failed() && buffered_ == 0; }
    /// Forgets any partial frame and a previous error (for a new stream).
    void reset();

private:
    Status fail(Status error);

    std::array<uint8_t, kFrameHeaderSize + kMaxFramePayload> buffer_{};
    size_t buffered_ = 0;    ///< bytes of the current frame in buffer_
    size_t payloadSize_ = 0; ///< valid once buffered_ >= kFrameHeaderSize
    FrameType type_ = FrameType::Hello;
    Status error_;
};

/// Appends one frame (header ‖ payload) to `out`. Refuses unknown types and
/// payloads over the type's limit (Errc::InvalidArgument); `out` is left
/// unchanged then.
Status appendFrame(std::vector<uint8_t>& out, FrameType type, std::span<const uint8_t> payload);

/// For encoders that write the payload in place: reserves a header at the
/// end of `out` and returns its offset. Write the payload after it, then call
/// finishFrame().
size_t beginFrame(std::vector<uint8_t>& out);

/// Fills in the header reserved by beginFrame() at `start` from the bytes
/// written since. If the type is unknown or the payload too long, truncates
/// `out` back to `start` and returns Errc::InvalidArgument.
Status finishFrame(std::vector<uint8_t>& out, size_t start, FrameType type);

} // namespace voice
