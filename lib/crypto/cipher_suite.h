// SPDX-License-Identifier: MIT
// CipherSuite: the media encryption schemes a call can negotiate.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace voice {

/// Wire values are stable: they travel in handshake payloads.
enum class CipherSuite : uint16_t {
    Aes256Gcm = 1,           ///< "aes-256-gcm", the default
    Aes256CbcHmacSha256 = 2, ///< "aes-256-cbc-hmac-sha256", encrypt-then-MAC
};

inline constexpr CipherSuite kDefaultCipherSuite = CipherSuite::Aes256Gcm;

/// "aes-256-gcm" or "aes-256-cbc-hmac-sha256".
std::string_view cipherSuiteName(CipherSuite suite);
/// Parses a name as written in voiced.conf.
std::optional<CipherSuite> parseCipherSuite(std::string_view name);
/// Maps a wire value to a suite this build knows.
std::optional<CipherSuite> cipherSuiteFromWire(uint16_t value);

} // namespace voice
