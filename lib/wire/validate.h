// SPDX-License-Identifier: MIT
// Validation of the names and texts that travel in control messages.
#pragma once

#include "core/status.h"

#include <cstddef>
#include <string_view>

namespace voice {

/// Longest user name, in bytes.
inline constexpr size_t kMaxNameLength = 32;

/// Checks a user name: 1..kMaxNameLength bytes of [a-z0-9._-]. The same rule
/// holds everywhere a name is accepted (wire, D-Bus, config, command line),
/// so a name can be logged, used in a file name or compared bytewise.
/// Returns Errc::InvalidArgument with a reason otherwise.
Status validateName(std::string_view name);

/// True when validateName() would accept the name.
bool isValidName(std::string_view name);

/// Checks a free text for people (software version, refusal and error
/// texts): at most maxLength bytes of valid UTF-8 (no overlong forms, no
/// surrogates), no control characters (below U+0020, or U+007F), so it is
/// safe to log and display. Empty text is allowed.
Status validateText(std::string_view text, size_t maxLength);

} // namespace voice
