// SPDX-License-Identifier: MIT
// HKDF-SHA256 via EVP_KDF.
#include "crypto/hkdf.h"

#include "crypto/openssl_ptr.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

namespace voice {

Result<SecureBytes> hkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                               std::span<const uint8_t> info, size_t length) {
    if (length == 0 || length > 255 * 32) {
        return Status(Errc::InvalidArgument, "HKDF output length out of range");
    }
    if (info.size() > 1024) {
        return Status(Errc::InvalidArgument, "HKDF info longer than 1024 bytes");
    }
    KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    if (!kdf) {
        return Status::fromOpenSsl("fetching HKDF");
    }
    KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
    if (!ctx) {
        return Status::fromOpenSsl("creating HKDF context");
    }
    // OSSL_PARAM wants non-const pointers; OpenSSL does not write through them.
    static const uint8_t kEmpty[1] = {0};
    auto ptr = [](std::span<const uint8_t> s) {
        return const_cast<uint8_t*>(s.empty() ? kEmpty : s.data());
    };
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ptr(ikm), ikm.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, ptr(salt), salt.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ptr(info), info.size()),
        OSSL_PARAM_construct_end(),
    };
    SecureBytes out(length);
    if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
        return Status::fromOpenSsl("HKDF derive");
    }
    return out;
}

} // namespace voice
