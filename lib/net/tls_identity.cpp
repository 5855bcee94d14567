// SPDX-License-Identifier: MIT
// TlsIdentity: Ed25519 key generation, self-signing, PEM load/save with permission checks.
#include "net/tls_identity.h"

#include "config/secure_file.h"

#include <cerrno>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace voice {

namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Refuses to prompt for a pass phrase: a daemon has no terminal.
int noPassword(char*, int, int, void*) {
    return -1;
}

Result<std::string> bioToString(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || data == nullptr) {
        return Result<std::string>(Errc::Crypto, "empty PEM output");
    }
    return std::string(data, static_cast<size_t>(len));
}

bool fileExists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

} // namespace

void TlsIdentity::KeyFree::operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
}
void TlsIdentity::CertFree::operator()(X509* c) const {
    X509_free(c);
}

Result<TlsIdentity> TlsIdentity::fromParts(EVP_PKEY* key, X509* cert) {
    TlsIdentity id;
    id.key_.reset(key);
    id.cert_.reset(cert);
    if (X509_check_private_key(cert, key) != 1) {
        return Status::fromOpenSsl("certificate does not match the private key");
    }
    auto fp = Fingerprint::ofCertificate(cert);
    if (!fp) {
        return fp.status();
    }
    id.fingerprint_ = *fp;
    return id;
}

Result<TlsIdentity> TlsIdentity::generate(std::string_view commonName) {
    if (commonName.empty() || commonName.size() > 64) {
        return Result<TlsIdentity>(Errc::InvalidArgument, "common name must have 1..64 characters");
    }
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (key == nullptr) {
        return Status::fromOpenSsl("Ed25519 key generation");
    }
    X509* cert = X509_new();
    if (cert == nullptr) {
        EVP_PKEY_free(key);
        return Status::fromOpenSsl("X509_new");
    }
    // Hand both to an identity first so every failure below frees them.
    TlsIdentity owner;
    owner.key_.reset(key);
    owner.cert_.reset(cert);

    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof(serial)) != 1) {
        return Status::fromOpenSsl("RAND_bytes");
    }
    serial[0] &= 0x7f; // positive INTEGER
    BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
    const bool serialOk = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    X509_NAME* name = X509_get_subject_name(cert);
    const std::string cn(commonName);
    if (!serialOk || X509_set_version(cert, 2) != 1 ||
        // A day of slack for clocks behind ours; clients pin, so expiry is moot.
        X509_gmtime_adj(X509_getm_notBefore(cert), -24L * 3600) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(cert), 100L * 365 * 24 * 3600) == nullptr ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(cert, name) != 1 || X509_set_pubkey(cert, key) != 1 ||
        // Ed25519 signs the whole message: no separate digest.
        X509_sign(cert, key, nullptr) <= 0) {
        return Status::fromOpenSsl("building the self-signed certificate");
    }
    return fromParts(owner.key_.release(), owner.cert_.release());
}

Result<TlsIdentity> TlsIdentity::load(const std::string& keyPath, const std::string& certPath) {
    auto keyPem = readBoundedFile(keyPath, kMaxFileBytes, FileAccess::OwnerOnly);
    if (!keyPem) {
        return keyPem.status();
    }
    BioPtr keyBio(BIO_new_mem_buf(keyPem->data(), static_cast<int>(keyPem->size())));
    EVP_PKEY* key =
        keyBio ? PEM_read_bio_PrivateKey(keyBio.get(), nullptr, noPassword, nullptr) : nullptr;
    keyBio.reset();
    OPENSSL_cleanse(keyPem->data(), keyPem->size());
    if (key == nullptr) {
        Status s = Status::fromOpenSsl(keyPath + ": not a PEM private key");
        return Status(Errc::InvalidArgument, s.detail());
    }
    auto certPem = readBoundedFile(certPath, kMaxFileBytes, FileAccess::OwnerOnly);
    if (!certPem) {
        EVP_PKEY_free(key);
        return certPem.status();
    }
    BioPtr certBio(BIO_new_mem_buf(certPem->data(), static_cast<int>(certPem->size())));
    X509* cert = certBio ? PEM_read_bio_X509(certBio.get(), nullptr, noPassword, nullptr) : nullptr;
    if (cert == nullptr) {
        EVP_PKEY_free(key);
        Status s = Status::fromOpenSsl(certPath + ": not a PEM certificate");
        return Status(Errc::InvalidArgument, s.detail());
    }
    auto id = fromParts(key, cert);
    if (!id) {
        return Status(Errc::InvalidArgument,
                      keyPath + " and " + certPath + ": " + id.status().detail());
    }
    return id;
}

Status TlsIdentity::save(const std::string& keyPath, const std::string& certPath) const {
    // A secure-heap BIO is wiped when freed, so the PEM key text leaves no copy.
    BioPtr keyBio(BIO_new(BIO_s_secmem()));
    if (!keyBio || PEM_write_bio_PrivateKey(keyBio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr) != 1) {
        return Status::fromOpenSsl("encoding the private key");
    }
    auto keyPem = bioToString(keyBio.get());
    if (!keyPem) {
        return keyPem.status();
    }
    Status s = writeFileAtomically(keyPath, *keyPem, 0600);
    OPENSSL_cleanse(keyPem->data(), keyPem->size());
    if (!s) {
        return s;
    }
    BioPtr certBio(BIO_new(BIO_s_mem()));
    if (!certBio || PEM_write_bio_X509(certBio.get(), cert_.get()) != 1) {
        return Status::fromOpenSsl("encoding the certificate");
    }
    auto certPem = bioToString(certBio.get());
    if (!certPem) {
        return certPem.status();
    }
    if (Status c = writeFileAtomically(certPath, *certPem, 0600); !c) {
        // Leave neither file, so the next start can generate a matching pair.
        ::unlink(keyPath.c_str());
        return c;
    }
    return {};
}

Result<TlsIdentity> TlsIdentity::loadOrCreate(const std::string& directory,
                                              std::string_view commonName) {
    if (Status s = ensurePrivateDirectory(directory); !s) {
        return s;
    }
    const std::string keyPath = directory + "/" + kKeyFile;
    const std::string certPath = directory + "/" + kCertFile;
    const bool haveKey = fileExists(keyPath);
    const bool haveCert = fileExists(certPath);
    if (haveKey || haveCert) {
        if (!(haveKey && haveCert)) {
            return Result<TlsIdentity>(Errc::NotFound,
                                       (haveKey ? certPath : keyPath) + " is missing but " +
                                           (haveKey ? keyPath : certPath) +
                                           " exists; refusing to make a new key that clients would "
                                           "reject (restore the file or remove both)");
        }
        return load(keyPath, certPath);
    }
    auto id = generate(commonName);
    if (!id) {
        return id;
    }
    if (Status s = id->save(keyPath, certPath); !s) {
        return s;
    }
    return id;
}

} // namespace voice
