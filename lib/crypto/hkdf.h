// SPDX-License-Identifier: MIT
// HKDF-SHA256 (RFC 5869) through OpenSSL's EVP_KDF "HKDF".
#pragma once

#include "core/result.h"
#include "crypto/secure_bytes.h"

#include <cstdint>
#include <span>

namespace voice {

/// Extract-then-expand HKDF-SHA256: length bytes of output keying material.
/// length is at most 255 * 32 (the RFC limit); info at most 1024 bytes
/// (OpenSSL's limit). Called from control threads; allocates.
Result<SecureBytes> hkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                               std::span<const uint8_t> info, size_t length);

} // namespace voice
