// SPDX-License-Identifier: MIT
// TlsIdentity: a server's private key and self-signed certificate, made on first start and kept
// 0600.
#pragma once

#include "core/result.h"
#include "net/fingerprint.h"

#include <memory>
#include <openssl/types.h>
#include <string>
#include <string_view>

namespace voice {

/// An Ed25519 key plus a self-signed X.509 certificate for it. Clients do
/// not check the certificate chain; they pin the key's Fingerprint, so the
/// certificate only carries the key into the TLS handshake.
class TlsIdentity {
public:
    /// File names inside a state directory.
    static constexpr const char* kKeyFile = "tls-key.pem";
    static constexpr const char* kCertFile = "tls-cert.pem";
    /// Key and certificate files larger than this are refused unread.
    static constexpr size_t kMaxFileBytes = 16 * 1024;

    /// A fresh key and certificate in memory.
    static Result<TlsIdentity> generate(std::string_view commonName);
    /// Loads PEM files. Each must be a regular file owned by us with mode
    /// 0600 or 0400 and at most kMaxFileBytes; the key must match the
    /// certificate. Encrypted keys are refused (no prompt on a server).
    static Result<TlsIdentity> load(const std::string& keyPath, const std::string& certPath);
    /// Loads kKeyFile/kCertFile from directory, or generates and saves them
    /// when both are missing. One file without the other is an error: the
    /// key that clients pinned is never replaced silently.
    static Result<TlsIdentity> loadOrCreate(const std::string& directory,
                                            std::string_view commonName);
    /// Writes both files atomically with mode 0600.
    Status save(const std::string& keyPath, const std::string& certPath) const;

    const Fingerprint& fingerprint() const { return fingerprint_; }
    EVP_PKEY* key() const { return key_.get(); }
    X509* certificate() const { return cert_.get(); }

private:
    struct KeyFree {
        void operator()(EVP_PKEY* k) const;
    };
    struct CertFree {
        void operator()(X509* c) const;
    };
    TlsIdentity() = default;
    static Result<TlsIdentity> fromParts(EVP_PKEY* key, X509* cert);

    std::unique_ptr<EVP_PKEY, KeyFree> key_;
    std::unique_ptr<X509, CertFree> cert_;
    Fingerprint fingerprint_;
};

} // namespace voice
