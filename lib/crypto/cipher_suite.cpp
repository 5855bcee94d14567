// SPDX-License-Identifier: MIT
// CipherSuite names and wire values.
#include "crypto/cipher_suite.h"

namespace voice {

std::string_view cipherSuiteName(CipherSuite suite) {
    switch (suite) {
    case CipherSuite::Aes256Gcm:
        return "aes-256-gcm";
    case CipherSuite::Aes256CbcHmacSha256:
        return "aes-256-cbc-hmac-sha256";
    }
    return "unknown";
}

std::optional<CipherSuite> parseCipherSuite(std::string_view name) {
    for (CipherSuite s : {CipherSuite::Aes256Gcm, CipherSuite::Aes256CbcHmacSha256}) {
        if (name == cipherSuiteName(s)) {
            return s;
        }
    }
    return std::nullopt;
}

std::optional<CipherSuite> cipherSuiteFromWire(uint16_t value) {
    switch (value) {
    case static_cast<uint16_t>(CipherSuite::Aes256Gcm):
        return CipherSuite::Aes256Gcm;
    case static_cast<uint16_t>(CipherSuite::Aes256CbcHmacSha256):
        return CipherSuite::Aes256CbcHmacSha256;
    default:
        return std::nullopt;
    }
}

} // namespace voice
