// SPDX-License-Identifier: MIT
// Validation of the two outside strings every call API takes: peer names and key fingerprints.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace voice {

/// Longest peer name, in bytes (names are ASCII).
inline constexpr std::size_t kMaxPeerNameLength = 32;

/// A peer name is 1..kMaxPeerNameLength characters from [a-z0-9._-]. The
/// relay registry, the D-Bus API and voicectl all apply this same rule, so a
/// name that passes here can be logged, printed and put on the wire as is.
bool isValidPeerName(std::string_view name);

/// Hex digits in a fingerprint: the first 16 bytes of SHA-256 over the raw
/// Ed25519 public key (see crypto Identity::fingerprintOf).
inline constexpr std::size_t kFingerprintHexDigits = 32;
/// Longest fingerprint text accepted before normalising (digits plus separators).
inline constexpr std::size_t kMaxFingerprintText = 96;

/// Turns a fingerprint typed or pasted by a person ("AB12CD34...",
/// "ab12:cd34:...", "ab12 cd34 ...") into the canonical form voiced shows:
/// eight groups of four lower-case hex digits separated by single spaces.
/// Returns nullopt when text is longer than kMaxFingerprintText, holds
/// anything but hex digits, spaces and colons, or does not have exactly
/// kFingerprintHexDigits digits.
std::optional<std::string> normalizeFingerprint(std::string_view text);

/// A printable, bounded copy of untrusted text for error messages: at most
/// maxLength characters, anything outside printable ASCII shown as '?', and
/// "..." appended when cut.
std::string quoteForMessage(std::string_view text, std::size_t maxLength = 40);

} // namespace voice
