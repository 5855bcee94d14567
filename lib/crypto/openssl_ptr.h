// SPDX-License-Identifier: MIT
// Owning smart pointers for the OpenSSL objects libvoice's crypto code uses.
#pragma once

#include <memory>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

namespace voice {

/// unique_ptr with a free function as deleter: OsslPtr<EVP_PKEY, EVP_PKEY_free>.
template <typename T, void (*Free)(T*)>
struct OsslDeleter {
    void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OsslPtr = std::unique_ptr<T, OsslDeleter<T, Free>>;

using PkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using CipherPtr = OsslPtr<EVP_CIPHER, EVP_CIPHER_free>;
using CipherCtxPtr = OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using MacPtr = OsslPtr<EVP_MAC, EVP_MAC_free>;
using MacCtxPtr = OsslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using MdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using KdfPtr = OsslPtr<EVP_KDF, EVP_KDF_free>;
using KdfCtxPtr = OsslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free>;
using BioPtr = OsslPtr<BIO, BIO_free_all>;

} // namespace voice
