// SPDX-License-Identifier: MIT
// Handshake: the per-call end-to-end key agreement between caller and callee.
//
// Three messages, passed opaquely through the relay (handshake_messages.h):
//
//   caller                                         callee
//   start()            ── CallerHello ──►          onPeerHello()
//                        {id, eph, nonce, media offer, offered suites}
//   onPeerHello()      ◄── CalleeHello ──
//                        {id, eph, nonce, chosen suite, chosen media, sig_callee}
//   (done)             ── Confirm ──►              onConfirm()  (done)
//                        {sig_caller}
//
// TH = SHA-256("voiced-e2e-v1 transcript" ‖ be16 len ‖ call id ‖
//              be16 len ‖ CallerHello ‖ be16 len ‖ CalleeHello body)
// sig_callee = Ed25519(callee id, "voiced-e2e-v1 callee signature" ‖ TH)
// sig_caller = Ed25519(caller id, "voiced-e2e-v1 caller signature" ‖ TH)
//
// The transcript holds both identity and ephemeral keys, both nonces, the
// offers and the choices (cipher suite and media format), the call id and
// (through the message types and the distinct labels) the roles, so a relay
// that substitutes an ephemeral key, downgrades the suite, rewrites the media
// offer or replays an old hello breaks a signature.
//
// Keys: the X25519 secret (all-zero refused) goes through HKDF-SHA256 with
// salt = TH and info = "voiced-e2e-v1 " label ‖ be16 suite ‖ caller id key ‖
// callee id key ‖ be16 len ‖ call id, label "caller->callee" or
// "callee->caller" (64 bytes each: key ‖ aux, see DirectionKeys) and "sas"
// (8 bytes -> a 6-digit short authentication string both sides show).
//
// Not thread-safe: one control thread drives a Handshake.
#pragma once

#include "core/result.h"
#include "crypto/cipher_suite.h"
#include "crypto/handshake_messages.h"
#include "crypto/identity.h"
#include "crypto/media_cipher.h"
#include "crypto/x25519.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace voice {

enum class HandshakeRole : uint8_t { Caller, Callee };

/// What a finished handshake gives the daemon and the media pipeline.
struct HandshakeResult {
    CipherSuite suite = kDefaultCipherSuite;
    /// The audio format both directions use (chooseCallMedia()): the
    /// callee's choice, covered by both signatures.
    MediaFormat media;
    /// Seals our outgoing media (our direction), for the transmitter thread.
    std::unique_ptr<MediaSealer> sealer;
    /// Opens the peer's media, for the receiver thread.
    std::unique_ptr<MediaOpener> opener;
    /// The peer's long-term key, for TOFU pinning; verified by signature.
    Identity::PublicKey peerIdentity{};
    std::string peerFingerprint;
    /// Six decimal digits both users can read to each other.
    std::string sas;
};

class Handshake {
public:
    static constexpr size_t kMaxCallIdSize = 64;

    /// identity must outlive the Handshake. callId is the relay's id for this
    /// call, the same bytes on both sides (1..kMaxCallIdSize). suites: for a
    /// caller the offer, for a callee the acceptable ones; both in order of
    /// preference (the callee's order wins), 1..8 entries. media: this
    /// side's own audio format (the caller's offer; the callee's half of
    /// the choice).
    static Result<Handshake> create(HandshakeRole role, const Identity& identity,
                                    std::span<const uint8_t> callId,
                                    std::vector<CipherSuite> suites = {kDefaultCipherSuite},
                                    MediaFormat media = {});

    Handshake(Handshake&&) noexcept = default;
    Handshake& operator=(Handshake&&) noexcept = default;
    Handshake(const Handshake&) = delete;
    Handshake& operator=(const Handshake&) = delete;

    HandshakeRole role() const { return role_; }

    /// Caller only, once: the CallerHello to send.
    Result<std::vector<uint8_t>> start();
    /// Caller: takes the CalleeHello, verifies it and returns the Confirm to
    /// send; the handshake is then done. Callee: takes the CallerHello and
    /// returns the CalleeHello to send; then wait for onConfirm().
    Result<std::vector<uint8_t>> onPeerHello(std::span<const uint8_t> bytes);
    /// Callee only: takes the Confirm; on success the handshake is done.
    Status onConfirm(std::span<const uint8_t> bytes);

    bool done() const { return state_ == State::Done; }
    /// The short authentication string, known once onPeerHello() succeeded
    /// (on either side, so the callee has it before the Confirm and before
    /// the user answers); empty before that and after takeResult(). Derived
    /// from the shared secret with the transcript hash as salt, so both
    /// sides show the same six digits only if nobody in the middle
    /// substituted a key.
    const std::string& sas() const { return result_.sas; }
    bool failed() const { return state_ == State::Failed; }

    /// Once done(): the keys and peer facts, handed over exactly once.
    Result<HandshakeResult> takeResult();

private:
    enum class State { Idle, SentHello, AwaitConfirm, Done, Taken, Failed };

    Handshake(HandshakeRole role, const Identity& identity) : role_(role), identity_(&identity) {}

    Status fail(Status s);
    /// Shared secret, transcript and keys once both hellos are known.
    Status deriveKeys(std::span<const uint8_t> peerEphemeral);

    HandshakeRole role_;
    const Identity* identity_;
    std::vector<uint8_t> callId_;
    std::vector<CipherSuite> suites_;
    MediaFormat media_;
    State state_ = State::Idle;

    std::optional<X25519KeyPair> ephemeral_;
    std::vector<uint8_t> callerHello_; // exact bytes sent/received
    std::vector<uint8_t> calleeBody_;  // signed part of the CalleeHello
    Key32 transcriptHash_{};
    Identity::PublicKey callerId_{};
    Identity::PublicKey calleeId_{};
    HandshakeResult result_;
};

/// The transcript hash as defined above (exposed for tests and fuzzing).
Key32 handshakeTranscriptHash(std::span<const uint8_t> callId, std::span<const uint8_t> callerHello,
                              std::span<const uint8_t> calleeBody);

} // namespace voice
