// SPDX-License-Identifier: MIT
// Name and text validation.
#include "wire/validate.h"

#include <cstdint>
#include <string>

namespace voice {

namespace {

bool isNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
/// (RFC 3629: shortest form only, no surrogates, at most U+10FFFF).
size_t utf8SequenceLength(std::string_view s, size_t i) {
    const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    const uint8_t b0 = byte(i);
    const size_t left = s.size() - i;
    const auto cont = [&](size_t k) { return (byte(i + k) & 0xC0) == 0x80; };
    if (b0 < 0x80) {
        return 1;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        return left >= 2 && cont(1) ? 2 : 0;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (left < 3 || !cont(1) || !cont(2)) {
            return 0;
        }
        const uint8_t b1 = byte(i + 1);
        if (b0 == 0xE0 && b1 < 0xA0) {
            return 0; // overlong
        }
        if (b0 == 0xED && b1 > 0x9F) {
            return 0; // surrogate
        }
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (left < 4 || !cont(1) || !cont(2) || !cont(3)) {
            return 0;
        }
        const uint8_t b1 = byte(i + 1);
        if (b0 == 0xF0 && b1 < 0x90) {
            return 0; // overlong
        }
        if (b0 == 0xF4 && b1 > 0x8F) {
            return 0; // above U+10FFFF
        }
        return 4;
    }
    return 0; // continuation byte, C0/C1 overlong lead, or F5..FF
}

} // namespace

Status validateName(std::string_view name) {
    if (name.empty()) {
        return Status(Errc::InvalidArgument, "name is empty");
    }
    if (name.size() > kMaxNameLength) {
        return Status(Errc::InvalidArgument,
                      "name is longer than " + std::to_string(kMaxNameLength) + " bytes");
    }
    for (char c : name) {
        if (!isNameChar(c)) {
            return Status(Errc::InvalidArgument, "name may contain only a-z, 0-9, '.', '_', '-'");
        }
    }
    return {};
}

bool isValidName(std::string_view name) {
    return validateName(name).ok();
}

Status validateText(std::string_view text, size_t maxLength) {
    if (text.size() > maxLength) {
        return Status(Errc::InvalidArgument,
                      "text is longer than " + std::to_string(maxLength) + " bytes");
    }
    for (size_t i = 0; i < text.size();) {
        const uint8_t c = static_cast<uint8_t>(text[i]);
        if (c < 0x20 || c == 0x7F) {
            return Status(Errc::InvalidArgument, "text contains a control character");
        }
        const size_t n = utf8SequenceLength(text, i);
        if (n == 0) {
            return Status(Errc::InvalidArgument, "text is not valid UTF-8");
        }
        i += n;
    }
    return {};
}

} // namespace voice
