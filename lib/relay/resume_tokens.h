// SPDX-License-Identifier: MIT
// ResumeTokens: issues and checks the relay's call resume tokens (HMAC under a key kept on disk).
#pragma once

#include "core/result.h"
#include "crypto/secure_bytes.h"
#include "wire/messages.h"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace voice {

/// A resume token lets one party of a call get back into it after losing its
/// control connection, also from a relay that restarted (even after
/// `kill -9`): the relay needs no memory of the call, only the key. Layout
/// (opaque to clients):
///
///     u8 version (1) ‖ u8 role ‖ u64 expiry (Unix s) ‖ u64 session id ‖ mac[32]
///
/// mac = HMAC-SHA256(key, "voiced-resume-v1" ‖ call id ‖ role ‖ session id ‖
///                        expiry ‖ u8 len ‖ name ‖ identity key).
/// The name and key are those of the registration the token was issued to,
/// so it verifies only for a connection that proved that identity key for
/// that name: a stolen token is useless to anyone else. The session id is
/// the holder's own (it never learns the peer's). The MAC is compared in
/// constant time.
///
/// Threads: the relay's control thread (no shared state; const methods).
class ResumeTokens {
public:
    using SystemClock = std::chrono::system_clock;
    static constexpr size_t kKeySize = 32;
    static constexpr size_t kTokenSize = 1 + 1 + 8 + 8 + 32;
    static constexpr uint8_t kVersion = 1;
    static_assert(kTokenSize >= kMinResumeTokenLength && kTokenSize <= kMaxResumeTokenLength);

    /// What a token says, once verified.
    struct Claim {
        CallRole role = CallRole::Caller;
        uint64_t session = 0;
    };

    /// Reads the key from path (0600, exactly kKeySize bytes), or makes a
    /// random one and writes it there if the file is missing.
    static Result<ResumeTokens> loadOrCreate(const std::string& path);
    /// A token service over a given key (tests).
    static ResumeTokens withKey(std::span<const uint8_t, kKeySize> key);
    /// Cluster mode: the key is HKDF-SHA256(cluster key, info "voice-relayd
    /// resume v1"), so every relay of the cluster verifies every other's
    /// tokens (a client resumes where its relay died) and a relay of another
    /// cluster verifies none. Its own label keeps it apart from the trunk key.
    static Result<ResumeTokens> fromClusterKey(std::span<const uint8_t, kKeySize> clusterKey);

    /// A token for `name` with `identityKey`, holder of `session` in call `id`.
    std::vector<uint8_t> issue(const CallId& id, CallRole role, uint64_t session,
                               const std::string& name, const IdentityKey& identityKey,
                               SystemClock::time_point expiry) const;

    /// Checks a token presented for call `id` by a connection registered as
    /// `name` with `identityKey`. Errc::Auth (with a reason fit for the
    /// client) when it is malformed, forged, for another call or holder,
    /// or expired at `now`.
    Result<Claim> verify(const CallId& id, std::span<const uint8_t> token, const std::string& name,
                         const IdentityKey& identityKey, SystemClock::time_point now) const;

private:
    explicit ResumeTokens(SecureBytes key) : key_(std::move(key)) {}
    std::array<uint8_t, 32> mac(const CallId& id, uint8_t role, uint64_t session, uint64_t expiry,
                                const std::string& name, const IdentityKey& identityKey) const;

    SecureBytes key_; // wiped when the relay exits
};

} // namespace voice
