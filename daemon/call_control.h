// SPDX-License-Identifier: MIT
// CallControl: what the D-Bus service asks of the daemon, as an interface the real daemon
// implements.
//
// DBusService (dbus_service.h) validates every argument before calling in,
// so implementations receive only valid peer names and normalised
// fingerprints. All methods are called on the control thread, the one that
// runs the D-Bus connection; they must not block on the network or on audio
// (start the work, return, and report the outcome later through the
// DBusService notify methods).
#pragma once

#include "call_state.h"

#include <cstdint>
#include <optional>
#include <string>

namespace voice {

/// Live statistics of the current call (the D-Bus Stats property).
struct CallStats {
    double latencyMs = 0;              ///< mouth-to-ear estimate
    double jitterMs = 0;               ///< interarrival jitter (RFC 3550 style)
    double lossPercent = 0;            ///< packets lost, 0..100
    std::uint64_t concealedFrames = 0; ///< frames played by loss concealment
    /// Of them, those that came out below -50 dBFS (a pause or a suppressed
    /// noise floor carried on): concealment nobody hears.
    std::uint64_t concealedQuietFrames = 0;
    std::uint64_t fecRecoveredFrames = 0; ///< lost frames rebuilt from Opus in-band FEC
    bool fecActive = false;               ///< our encoder sends in-band FEC now
    double peerLossPercent = 0;           ///< loss the peer last reported for our audio
    std::string codec;                    ///< e.g. "opus"
    std::string cipher;                   ///< e.g. "aes-256-gcm"
    std::uint64_t durationS = 0;          ///< seconds since the call was answered
    /// One-way capture-to-playout latency over the whole call so far
    /// (excluding device buffers; both ends' clocks must agree, as on one host).
    double latencyP50Ms = 0;
    double latencyP99Ms = 0;
    /// Packets received but dropped: not authentic (tampered), replayed or malformed.
    std::uint64_t packetsRejected = 0;
    // Media path and receive counters (tests and diagnostics read these).
    std::uint64_t framesPlayed = 0;    ///< codec frames played (decoded, concealed or silent)
    std::uint64_t packetsReceived = 0; ///< authentic packets received
    std::uint64_t packetsLost = 0;     ///< packets that never arrived (RFC 3550)
    /// Packets that arrived after their frame had been played without them
    /// (concealed: the jitter buffer's delay was too short for them).
    std::uint64_t packetsLate = 0;
    std::uint64_t playoutStalls = 0;       ///< the player fell behind and skipped its backlog
    double bufferDelayMs = 0;              ///< jitter-buffer playout delay now
    double bufferTargetMs = 0;             ///< the delay the jitter buffer aims for now
    std::uint64_t xruns = 0;               ///< capture + playback xruns recovered
    std::string mediaPath;                 ///< "udp" or "tunnel" (what we send through)
    std::uint64_t packetsTunnelledIn = 0;  ///< media packets that came through the relay connection
    std::uint64_t packetsTunnelledOut = 0; ///< media packets sent through the relay connection
    std::uint64_t tunnelSwitches = 0;      ///< times UDP went silent and media moved to the tunnel
    // Capture processing (issue 18): what is active, and the echo canceller's attenuation.
    bool echoCancel = false;
    bool noiseSuppression = false;
    bool autoGain = false;
    double echoAttenuationDb = 0;
    std::uint64_t echoRealigns = 0; ///< times the far-end reference was realigned
    /// SCHED_FIFO priority each audio thread got; 0 = the normal scheduler.
    int recorderPriority = 0, transmitterPriority = 0, receiverPriority = 0, playerPriority = 0;
    bool schedRtkit = false; ///< the priorities were granted by RTKit (SCHED_RR)

    bool operator==(const CallStats&) const = default;
};

/// Everything the D-Bus properties and Status() show, read in one go.
struct CallSnapshot {
    CallState state = CallState::Idle;
    std::string peer;        ///< empty when idle
    bool registered = false; ///< registered at the relay
    /// "connecting", "registered", "replaced" (another device took the name)
    /// or "refused" (the relay refused the name or key): the D-Bus
    /// Registration property. The last two wait for reregister().
    std::string registration = "connecting";
    /// Why registration stopped ("replaced", "refused"); empty otherwise.
    std::string registrationDetail;
    bool muted = false;
    std::string name;               ///< our name at the relay
    std::string fingerprint;        ///< our identity fingerprint
    std::optional<CallStats> stats; ///< only while a call is in progress
    /// Short authentication string of the call's handshake (six digits),
    /// empty when idle or before the handshake got that far.
    std::string sas;

    bool operator==(const CallSnapshot&) const = default;
};

class CallControl {
public:
    virtual ~CallControl() = default;

    /// Starts calling peer; returns once the attempt is under way (state
    /// Calling). Refuse with InvalidState, NotRegistered, Busy, Offline,
    /// Untrusted... as CallResult.
    virtual CallResult call(const std::string& peer) = 0;
    /// Accepts the ringing call.
    virtual CallResult answer() = 0;
    /// Declines the ringing call.
    virtual CallResult reject() = 0;
    /// Ends the current call or attempt.
    virtual CallResult hangup() = 0;
    /// Mutes or unmutes our microphone (allowed in every state).
    virtual CallResult setMuted(bool muted) = 0;
    /// Pins fingerprint (canonical form, see normalizeFingerprint()) as
    /// peer's key; an empty fingerprint means the key peer presented last.
    virtual CallResult trust(const std::string& peer, const std::string& fingerprint) = 0;
    /// Registers at the relay now: takes the name back after "replaced",
    /// tries again after "refused", skips a pending reconnect wait.
    virtual CallResult reregister() = 0;
    /// The current state, for properties and Status(). Cheap; called often.
    virtual CallSnapshot snapshot() const = 0;
};

} // namespace voice
