// SPDX-License-Identifier: MIT
// Validation of peer names and key fingerprints.
#include "peer_names.h"

namespace voice {

bool isValidPeerName(std::string_view name) {
    if (name.empty() || name.size() > kMaxPeerNameLength) {
        return false;
    }
    for (char c : name) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::optional<std::string> normalizeFingerprint(std::string_view text) {
    if (text.size() > kMaxFingerprintText) {
        return std::nullopt;
    }
    std::string digits;
    digits.reserve(kFingerprintHexDigits);
    for (char c : text) {
        if (c == ' ' || c == ':') {
            continue;
        }
        if (c >= 'A' && c <= 'F') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if (!hex || digits.size() == kFingerprintHexDigits) {
            return std::nullopt;
        }
        digits += c;
    }
    if (digits.size() != kFingerprintHexDigits) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(kFingerprintHexDigits + kFingerprintHexDigits / 4);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && i % 4 == 0) {
            out += ' ';
        }
        out += digits[i];
    }
    return out;
}

std::string quoteForMessage(std::string_view text, std::size_t maxLength) {
    std::string out;
    const std::size_t n = text.size() < maxLength ? text.size() : maxLength;
    out.reserve(n + 5);
    out += '"';
    for (std::size_t i = 0; i < n; ++i) {
        const char c = text[i];
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    out += '"';
    if (text.size() > n) {
        out += "...";
    }
    return out;
}

} // namespace voice
