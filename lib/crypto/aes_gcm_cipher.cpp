// SPDX-License-Identifier: MIT
// aes-256-gcm media suite on a reused EVP_CIPHER_CTX.
#include "crypto/aes_gcm_cipher.h"

#include "wire/endian.h"

#include <cstring>
#include <openssl/crypto.h>
#include <openssl/err.h>

namespace voice {

namespace {

// Fetches the cipher once and keys a context for encryption or decryption.
// Later packets only set a new nonce: EVP_*Init_ex2(ctx, NULL, NULL, iv, NULL).
CipherCtxPtr keyedContext(const DirectionKeys& keys, bool encrypt) {
    CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
    if (!cipher) {
        return nullptr;
    }
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx) {
        return nullptr;
    }
    const int ok =
        encrypt ? EVP_EncryptInit_ex2(ctx.get(), cipher.get(), keys.key.data(), nullptr, nullptr)
                : EVP_DecryptInit_ex2(ctx.get(), cipher.get(), keys.key.data(), nullptr, nullptr);
    if (ok != 1 || EVP_CIPHER_CTX_get_iv_length(ctx.get()) != AesGcmSealer::kNonceSize) {
        return nullptr;
    }
    return ctx; // the context holds its own reference to the cipher
}

} // namespace

void gcmNonce(const std::array<uint8_t, AesGcmSealer::kNonceSize>& salt, uint64_t sequence,
              uint8_t* nonce) {
    std::memcpy(nonce, salt.data(), salt.size());
    uint8_t seq[8];
    storeBe64(seq, sequence);
    for (size_t i = 0; i < 8; ++i) {
        nonce[4 + i] ^= seq[i];
    }
}

Result<std::unique_ptr<MediaSealer>>
AesGcmSealer::create(MediaDirection direction, const DirectionKeys& keys, size_t maxPacket) {
    std::unique_ptr<AesGcmSealer> s(new AesGcmSealer(direction, maxPacket));
    s->ctx_ = keyedContext(keys, true);
    if (!s->ctx_) {
        return Status::fromOpenSsl("setting up AES-256-GCM sealer");
    }
    std::memcpy(s->salt_.data(), keys.aux.data(), kNonceSize);
    return std::unique_ptr<MediaSealer>(std::move(s));
}

AesGcmSealer::~AesGcmSealer() {
    OPENSSL_cleanse(salt_.data(), salt_.size());
}

Result<size_t> AesGcmSealer::seal(const MediaHeader& header, std::span<const uint8_t> plaintext,
                                  std::span<uint8_t> out) {
    auto begun = beginPacket(header, plaintext, out);
    if (!begun.ok()) {
        return begun;
    }
    const size_t total = *begun;

    uint8_t nonce[kNonceSize];
    gcmNonce(salt_, next_, nonce);
    uint8_t* ct = out.data() + MediaHeader::kSize;
    int len = 0;
    int finalLen = 0;
    if (EVP_EncryptInit_ex2(ctx_.get(), nullptr, nullptr, nonce, nullptr) != 1 ||
        EVP_EncryptUpdate(ctx_.get(), nullptr, &len, out.data(), MediaHeader::kSize) != 1 ||
        EVP_EncryptUpdate(ctx_.get(), ct, &len, plaintext.data(),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx_.get(), ct + len, &finalLen) != 1 ||
        static_cast<size_t>(len + finalLen) != plaintext.size() ||
        EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize, ct + plaintext.size()) !=
            1) {
        return Status::fromOpenSsl("AES-256-GCM seal");
    }
    // Consume the sequence number only once the packet exists.
    ++next_;
    return total;
}

Result<std::unique_ptr<MediaOpener>>
AesGcmOpener::create(MediaDirection direction, const DirectionKeys& keys, size_t maxPacket) {
    std::unique_ptr<AesGcmOpener> o(new AesGcmOpener(direction, maxPacket));
    o->ctx_ = keyedContext(keys, false);
    if (!o->ctx_) {
        return Status::fromOpenSsl("setting up AES-256-GCM opener");
    }
    std::memcpy(o->salt_.data(), keys.aux.data(), AesGcmSealer::kNonceSize);
    o->scratch_.resize(maxPacket);
    return std::unique_ptr<MediaOpener>(std::move(o));
}

AesGcmOpener::~AesGcmOpener() {
    OPENSSL_cleanse(salt_.data(), salt_.size());
    OPENSSL_cleanse(scratch_.data(), scratch_.size());
}

Result<OpenedPacket> AesGcmOpener::open(std::span<const uint8_t> packet,
                                        std::span<uint8_t> plaintextOut) {
    constexpr size_t kTag = AesGcmSealer::kTagSize;
    // A tag is exactly 16 bytes: a packet too short to hold one is refused
    // here, because OpenSSL would accept a shorter tag given to SET_TAG.
    if (packet.size() < MediaHeader::kSize + kTag || packet.size() > maxPacket_) {
        return dropError();
    }
    auto header = MediaHeader::decode(packet);
    if (!header.ok() || !carriesAudio(header->kind) || header->direction != direction_ ||
        header->sequence >= MediaSealer::kMaxPackets || !replay_.check(header->sequence)) {
        return dropError();
    }
    const size_t ctLen = packet.size() - MediaHeader::kSize - kTag;
    if (plaintextOut.size() < ctLen) {
        return dropError();
    }
    uint8_t nonce[AesGcmSealer::kNonceSize];
    gcmNonce(salt_, header->sequence, nonce);
    uint8_t tag[kTag];
    std::memcpy(tag, packet.data() + MediaHeader::kSize + ctLen, kTag);
    int len = 0;
    int finalLen = 0;
    const bool ok =
        EVP_DecryptInit_ex2(ctx_.get(), nullptr, nullptr, nonce, nullptr) == 1 &&
        EVP_DecryptUpdate(ctx_.get(), nullptr, &len, packet.data(), MediaHeader::kSize) == 1 &&
        EVP_DecryptUpdate(ctx_.get(), scratch_.data(), &len, packet.data() + MediaHeader::kSize,
                          static_cast<int>(ctLen)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, kTag, tag) == 1 &&
        EVP_DecryptFinal_ex(ctx_.get(), scratch_.data() + len, &finalLen) == 1;
    if (!ok) {
        OPENSSL_cleanse(scratch_.data(), ctLen);
        ERR_clear_error(); // a forged packet must not leave noise for later Status texts
        return dropError();
    }
    std::memcpy(plaintextOut.data(), scratch_.data(), ctLen);
    replay_.accept(header->sequence);
    return OpenedPacket{*header, ctLen};
}

} // namespace voice
