// SPDX-License-Identifier: MIT
// Identity key generation, safe file storage, signing and fingerprints.
#include "crypto/identity.h"

#include "core/unique_fd.h"
#include "crypto/secure_bytes.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

namespace voice {

namespace {

Status writeAll(int fd, std::span<const uint8_t> data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return Status::fromErrno(Errc::Io, errno, "writing identity file");
        }
        data = data.subspan(static_cast<size_t>(n));
    }
    return {};
}

std::string parentDir(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string octalMode(mode_t mode) {
    char buf[8];
    snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

} // namespace

Result<Identity> Identity::wrap(PkeyPtr key) {
    if (!key || !EVP_PKEY_is_a(key.get(), "ED25519")) {
        return Status(Errc::InvalidArgument, "identity key is not an Ed25519 key");
    }
    PublicKey pub{};
    size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != pub.size()) {
        return Status::fromOpenSsl("reading Ed25519 public key");
    }
    return Identity(std::move(key), pub);
}

Result<Identity> Identity::generate() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) {
        return Status::fromOpenSsl("generating Ed25519 identity key");
    }
    return wrap(std::move(key));
}

Result<Identity> Identity::fromPrivateKey(std::span<const uint8_t> seed) {
    if (seed.size() != 32) {
        return Status(Errc::InvalidArgument, "Ed25519 private key must be 32 bytes");
    }
    PkeyPtr key(
        EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, seed.data(), seed.size()));
    if (!key) {
        return Status::fromOpenSsl("loading Ed25519 private key");
    }
    return wrap(std::move(key));
}

Result<Identity> Identity::load(const std::string& path) {
    // O_NOFOLLOW: a symlink planted in place of the key is refused.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        const int err = errno;
        return Status::fromErrno(err == ENOENT ? Errc::NotFound : Errc::Io, err,
                                 "opening identity key " + path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return Status::fromErrno(Errc::Io, errno, "stat of identity key " + path);
    }
    if (!S_ISREG(st.st_mode)) {
        return Status(Errc::Permission, "identity key " + path + " is not a regular file");
    }
    if (st.st_uid != ::geteuid()) {
        return Status(Errc::Permission, "identity key " + path + " is owned by uid " +
                                            std::to_string(st.st_uid) + ", not by us");
    }
    if ((st.st_mode & 077) != 0) {
        return Status(Errc::Permission, "identity key " + path + " has mode " +
                                            octalMode(st.st_mode) +
                                            ", readable or writable by others; refusing it "
                                            "(fix with: chmod 600 " +
                                            path + ")");
    }
    if (st.st_size <= 0 || static_cast<uint64_t>(st.st_size) > kMaxFileSize) {
        return Status(Errc::InvalidArgument, "identity key " + path + " has an implausible size");
    }
    SecureBytes buf(kMaxFileSize + 1);
    size_t got = 0;
    while (got < buf.size()) {
        const ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return Status::fromErrno(Errc::Io, errno, "reading identity key " + path);
        }
        if (n == 0) {
            break;
        }
        got += static_cast<size_t>(n);
    }
    if (got == 0 || got > kMaxFileSize) {
        return Status(Errc::InvalidArgument, "identity key " + path + " has an implausible size");
    }
    BioPtr bio(BIO_new_mem_buf(buf.data(), static_cast<int>(got)));
    if (!bio) {
        return Status::fromOpenSsl("reading identity key");
    }
    PkeyPtr key(PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, nullptr, nullptr, nullptr, nullptr));
    if (!key) {
        // The OpenSSL queue says little more than "no start line"; keep the
        // message about the file.
        ERR_clear_error();
        return Status(Errc::InvalidArgument,
                      "identity key " + path + " is corrupt (not a PEM private key)");
    }
    auto id = wrap(std::move(key));
    if (!id.ok()) {
        return Status(Errc::InvalidArgument,
                      "identity key " + path + " is not an Ed25519 key; refusing it");
    }
    return id;
}

Result<Identity> Identity::loadOrCreate(const std::string& path) {
    auto loaded = load(path);
    if (loaded.ok() || loaded.status().code() != Errc::NotFound) {
        return loaded;
    }
    const std::string dir = parentDir(path);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return Status::fromErrno(Errc::Io, errno, "creating directory " + dir);
    }
    auto created = generate();
    if (!created.ok()) {
        return created;
    }
    if (Status s = created->save(path); !s) {
        return s;
    }
    return created;
}

Status Identity::save(const std::string& path) const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
        return Status::fromOpenSsl("encoding identity key");
    }
    BUF_MEM* mem = nullptr;
    BIO_get_mem_ptr(bio.get(), &mem);
    // Wipe the PEM text in the BIO's buffer however we leave this function.
    struct Wipe {
        BUF_MEM* m;
        ~Wipe() {
            if (m && m->data) {
                OPENSSL_cleanse(m->data, m->max);
            }
        }
    } wipe{mem};
    if (!mem) {
        return Status(Errc::Internal, "identity key encoding has no buffer");
    }

    // mkstemp: O_CREAT|O_EXCL with mode 0600 from the start, so the key is
    // never visible with wider permissions, and never written through a
    // pre-existing file or symlink.
    std::string tmp = path + ".tmp.XXXXXX";
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd) {
        return Status::fromErrno(Errc::Io, errno, "creating temporary file for " + path);
    }
    auto fail = [&](Status s) {
        ::unlink(tmp.c_str());
        return s;
    };
    if (::fchmod(fd.get(), 0600) != 0) {
        return fail(Status::fromErrno(Errc::Io, errno, "chmod of " + tmp));
    }
    if (Status s = writeAll(fd.get(), {reinterpret_cast<const uint8_t*>(mem->data), mem->length});
        !s) {
        return fail(std::move(s));
    }
    if (::fsync(fd.get()) != 0) {
        return fail(Status::fromErrno(Errc::Io, errno, "fsync of " + tmp));
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail(Status::fromErrno(Errc::Io, errno, "renaming identity key into " + path));
    }
    // Make the rename itself durable.
    const std::string dir = parentDir(path);
    UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dirFd) {
        ::fsync(dirFd.get());
    }
    return {};
}

Result<Identity::Signature> Identity::sign(std::span<const uint8_t> message) const {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    Signature sig{};
    size_t len = sig.size();
    if (!ctx ||
        EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key_.get(), nullptr) !=
            1 ||
        EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
        len != sig.size()) {
        return Status::fromOpenSsl("Ed25519 signing");
    }
    return sig;
}

bool Identity::verify(std::span<const uint8_t> publicKey, std::span<const uint8_t> message,
                      std::span<const uint8_t> signature) {
    if (publicKey.size() != kPublicKeySize || signature.size() != kSignatureSize) {
        return false;
    }
    PkeyPtr key(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, publicKey.data(),
                                               publicKey.size()));
    MdCtxPtr ctx(EVP_MD_CTX_new());
    const bool ok = key && ctx &&
                    EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr,
                                            key.get(), nullptr) == 1 &&
                    EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                                     message.size()) == 1;
    ERR_clear_error(); // a bad signature is an answer, not an error to report later
    return ok;
}

std::string Identity::fingerprintOf(std::span<const uint8_t> publicKey) {
    uint8_t digest[32];
    unsigned int len = 0;
    if (EVP_Digest(publicKey.data(), publicKey.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
        return "";
    }
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(39);
    for (size_t i = 0; i < 16; ++i) {
        if (i > 0 && i % 2 == 0) {
            out += ' ';
        }
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

} // namespace voice
