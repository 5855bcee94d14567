// SPDX-License-Identifier: MIT
// ResumeTokens: issues and checks the relay's call resume tokens.
#include "relay/resume_tokens.h"

#include "config/secure_file.h"
#include "crypto/hkdf.h"
#include "wire/byte_reader.h"
#include "wire/byte_writer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace voice {

namespace {
constexpr std::string_view kContext = "voiced-resume-v1";
constexpr std::string_view kClusterLabel = "voice-relayd resume v1";
} // namespace

Result<ResumeTokens> ResumeTokens::loadOrCreate(const std::string& path) {
    auto text = readBoundedFile(path, 4096, FileAccess::OwnerOnly);
    if (text.ok()) {
        if (text->size() != kKeySize) {
            OPENSSL_cleanse(text->data(), text->size());
            return Status(Errc::InvalidArgument,
                          path + ": a resume key is " + std::to_string(kKeySize) + " bytes");
        }
        SecureBytes key(std::span(reinterpret_cast<const uint8_t*>(text->data()), text->size()));
        OPENSSL_cleanse(text->data(), text->size());
        return ResumeTokens(std::move(key));
    }
    if (text.status().code() != Errc::NotFound) {
        return text.status();
    }
    SecureBytes key(kKeySize);
    if (RAND_bytes(key.data(), int(key.size())) != 1) {
        return Status::fromOpenSsl("RAND_bytes");
    }
    Status saved = writeFileAtomically(
        path, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), 0600);
    if (!saved.ok()) {
        return saved;
    }
    return ResumeTokens(std::move(key));
}

ResumeTokens ResumeTokens::withKey(std::span<const uint8_t, kKeySize> key) {
    return ResumeTokens(SecureBytes(std::span<const uint8_t>(key)));
}

Result<ResumeTokens> ResumeTokens::fromClusterKey(std::span<const uint8_t, kKeySize> clusterKey) {
    const auto label =
        std::span(reinterpret_cast<const uint8_t*>(kClusterLabel.data()), kClusterLabel.size());
    auto key = hkdfSha256(clusterKey, {}, label, kKeySize);
    if (!key.ok()) {
        return key.status();
    }
    return ResumeTokens(std::move(*key));
}

std::array<uint8_t, 32> ResumeTokens::mac(const CallId& id, uint8_t role, uint64_t session,
                                          uint64_t expiry, const std::string& name,
                                          const IdentityKey& identityKey) const {
    std::vector<uint8_t> input;
    ByteWriter w(input);
    w.bytes(std::span(reinterpret_cast<const uint8_t*>(kContext.data()), kContext.size()));
    w.bytes(id);
    w.u8(role);
    w.u64(session);
    w.u64(expiry);
    w.u8(uint8_t(name.size()));
    w.bytes(std::span(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
    w.bytes(identityKey);
    std::array<uint8_t, 32> out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key_.data(), int(key_.size()), input.data(), input.size(), out.data(), &len);
    return out;
}

std::vector<uint8_t> ResumeTokens::issue(const CallId& id, CallRole role, uint64_t session,
                                         const std::string& name, const IdentityKey& identityKey,
                                         SystemClock::time_point expiry) const {
    const uint64_t expirySeconds = uint64_t(
        std::chrono::duration_cast<std::chrono::seconds>(expiry.time_since_epoch()).count());
    std::vector<uint8_t> token;
    ByteWriter w(token);
    w.u8(kVersion);
    w.u8(uint8_t(role));
    w.u64(expirySeconds);
    w.u64(session);
    w.bytes(mac(id, uint8_t(role), session, expirySeconds, name, identityKey));
    return token;
}

Result<ResumeTokens::Claim> ResumeTokens::verify(const CallId& id, std::span<const uint8_t> token,
                                                 const std::string& name,
                                                 const IdentityKey& identityKey,
                                                 SystemClock::time_point now) const {
    if (token.size() != kTokenSize) {
        return Status(Errc::Auth, "not a resume token of this relay");
    }
    ByteReader r(token);
    uint8_t version = 0, role = 0;
    uint64_t expiry = 0, session = 0;
    std::span<const uint8_t> tag;
    r.u8(version);
    r.u8(role);
    r.u64(expiry);
    r.u64(session);
    r.bytes(32, tag);
    if (!r.ok() || version != kVersion) {
        return Status(Errc::Auth, "not a resume token of this relay");
    }
    // The MAC first, so nothing below tells a forger which field was wrong.
    const auto expected = mac(id, role, session, expiry, name, identityKey);
    if (CRYPTO_memcmp(expected.data(), tag.data(), expected.size()) != 0) {
        return Status(Errc::Auth, "the resume token is not valid for this call and identity");
    }
    if (role != uint8_t(CallRole::Caller) && role != uint8_t(CallRole::Callee)) {
        return Status(Errc::Auth, "not a resume token of this relay");
    }
    const auto nowSeconds =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (nowSeconds < 0 || uint64_t(nowSeconds) >= expiry) {
        return Status(Errc::Auth, "the resume token has expired");
    }
    if (session == 0) {
        return Status(Errc::Auth, "not a resume token of this relay");
    }
    return Claim{CallRole(role), session};
}

} // namespace voice
