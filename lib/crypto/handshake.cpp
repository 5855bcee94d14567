// SPDX-License-Identifier: MIT
// The caller/callee handshake state machine and its key schedule.
#include "crypto/handshake.h"

#include "crypto/hkdf.h"
#include "wire/endian.h"

#include <algorithm>
#include <cstdio>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string_view>

namespace voice {

namespace {

constexpr std::string_view kTranscriptLabel = "voiced-e2e-v1 transcript";
constexpr std::string_view kCalleeSigLabel = "voiced-e2e-v1 callee signature";
constexpr std::string_view kCallerSigLabel = "voiced-e2e-v1 caller signature";
constexpr std::string_view kKeyLabelPrefix = "voiced-e2e-v1 ";

void append(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void append(std::vector<uint8_t>& out, std::string_view text) {
    out.insert(out.end(), text.begin(), text.end());
}

void appendLen16(std::vector<uint8_t>& out, size_t n) {
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
}

std::vector<uint8_t> signedMessage(std::string_view label, const Key32& th) {
    std::vector<uint8_t> m;
    append(m, label);
    append(m, th);
    return m;
}

} // namespace

Key32 handshakeTranscriptHash(std::span<const uint8_t> callId, std::span<const uint8_t> callerHello,
                              std::span<const uint8_t> calleeBody) {
    std::vector<uint8_t> t;
    append(t, kTranscriptLabel);
    appendLen16(t, callId.size());
    append(t, callId);
    appendLen16(t, callerHello.size());
    append(t, callerHello);
    appendLen16(t, calleeBody.size());
    append(t, calleeBody);
    Key32 out{};
    unsigned int len = 0;
    EVP_Digest(t.data(), t.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

Result<Handshake> Handshake::create(HandshakeRole role, const Identity& identity,
                                    std::span<const uint8_t> callId,
                                    std::vector<CipherSuite> suites, MediaFormat media) {
    if (callId.empty() || callId.size() > kMaxCallIdSize) {
        return Status(Errc::InvalidArgument, "call id must be 1 to 64 bytes");
    }
    if (suites.empty() || suites.size() > CallerHello::kMaxSuites) {
        return Status(Errc::InvalidArgument, "handshake needs 1 to 8 cipher suites");
    }
    Handshake h(role, identity);
    h.callId_.assign(callId.begin(), callId.end());
    h.suites_ = std::move(suites);
    h.media_ = media;
    return h;
}

Status Handshake::fail(Status s) {
    state_ = State::Failed;
    ephemeral_.reset();
    result_ = HandshakeResult{};
    return s;
}

Result<std::vector<uint8_t>> Handshake::start() {
    if (role_ != HandshakeRole::Caller || state_ != State::Idle) {
        return Status(Errc::InvalidArgument, "start() is for a new caller handshake only");
    }
    auto eph = X25519KeyPair::generate();
    if (!eph.ok()) {
        return fail(eph.status());
    }
    ephemeral_.emplace(std::move(*eph));
    CallerHello hello;
    hello.identityKey = identity_->publicKey();
    hello.ephemeralKey = ephemeral_->publicKey();
    if (RAND_bytes(hello.nonce.data(), hello.nonce.size()) != 1) {
        return fail(Status::fromOpenSsl("handshake nonce"));
    }
    hello.media = media_;
    for (CipherSuite s : suites_) {
        hello.suites.push_back(static_cast<uint16_t>(s));
    }
    auto bytes = hello.encode();
    if (!bytes.ok()) {
        return fail(bytes.status());
    }
    callerHello_ = *bytes;
    callerId_ = hello.identityKey;
    state_ = State::SentHello;
    return bytes;
}

Status Handshake::deriveKeys(std::span<const uint8_t> peerEphemeral) {
    auto secret = ephemeral_->sharedSecret(peerEphemeral);
    // The ephemeral private key has done its job: drop it now.
    ephemeral_.reset();
    if (!secret.ok()) {
        return secret.status();
    }
    transcriptHash_ = handshakeTranscriptHash(callId_, callerHello_, calleeBody_);

    auto info = [&](std::string_view label) {
        std::vector<uint8_t> i;
        append(i, kKeyLabelPrefix);
        append(i, label);
        appendLen16(i, static_cast<uint16_t>(result_.suite));
        append(i, callerId_);
        append(i, calleeId_);
        appendLen16(i, callId_.size());
        append(i, callId_);
        return i;
    };
    DirectionKeys dirKeys[2];
    const std::string_view labels[2] = {"caller->callee", "callee->caller"};
    for (int d = 0; d < 2; ++d) {
        auto okm = hkdfSha256(secret->span(), transcriptHash_, info(labels[d]),
                              DirectionKeys::kKeySize + DirectionKeys::kAuxSize);
        if (!okm.ok()) {
            return okm.status();
        }
        dirKeys[d].key = SecureBytes(okm->span().first(DirectionKeys::kKeySize));
        dirKeys[d].aux = SecureBytes(okm->span().subspan(DirectionKeys::kKeySize));
    }
    auto sas = hkdfSha256(secret->span(), transcriptHash_, info("sas"), 8);
    if (!sas.ok()) {
        return sas.status();
    }
    char digits[8];
    snprintf(digits, sizeof(digits), "%06u",
             static_cast<unsigned>(loadBe64(sas->data()) % 1000000));
    result_.sas = digits;

    const bool caller = role_ == HandshakeRole::Caller;
    const auto sendDir = caller ? MediaDirection::CallerToCallee : MediaDirection::CalleeToCaller;
    const auto recvDir = caller ? MediaDirection::CalleeToCaller : MediaDirection::CallerToCallee;
    const DirectionKeys& sendKeys = dirKeys[caller ? 0 : 1];
    const DirectionKeys& recvKeys = dirKeys[caller ? 1 : 0];
    auto sealer = makeMediaSealer(result_.suite, sendDir, sendKeys);
    if (!sealer.ok()) {
        return sealer.status();
    }
    auto opener = makeMediaOpener(result_.suite, recvDir, recvKeys);
    if (!opener.ok()) {
        return opener.status();
    }
    result_.sealer = std::move(*sealer);
    result_.opener = std::move(*opener);
    return {};
}

Result<std::vector<uint8_t>> Handshake::onPeerHello(std::span<const uint8_t> bytes) {
    if (role_ == HandshakeRole::Caller) {
        if (state_ != State::SentHello) {
            return Status(Errc::InvalidArgument, "callee hello arrived out of order");
        }
        auto hello = CalleeHello::decode(bytes);
        if (!hello.ok()) {
            return fail(hello.status());
        }
        auto chosen = cipherSuiteFromWire(hello->suite);
        if (!chosen || std::find(suites_.begin(), suites_.end(), *chosen) == suites_.end()) {
            return fail(Status(Errc::Protocol, "callee chose a cipher suite we did not offer"));
        }
        if (hello->media != media_ && !isCommonMediaFormat(hello->media)) {
            return fail(Status(Errc::Protocol, "callee chose an audio format we cannot run"));
        }
        calleeBody_.assign(bytes.begin(), bytes.begin() + CalleeHello::kBodySize);
        const Key32 th = handshakeTranscriptHash(callId_, callerHello_, calleeBody_);
        if (!Identity::verify(hello->identityKey, signedMessage(kCalleeSigLabel, th),
                              hello->signature)) {
            return fail(Status(Errc::Auth, "callee's handshake signature does not verify "
                                           "(keys substituted on the way?)"));
        }
        calleeId_ = hello->identityKey;
        result_.suite = *chosen;
        result_.media = hello->media;
        if (Status s = deriveKeys(hello->ephemeralKey); !s) {
            return fail(std::move(s));
        }
        auto sig = identity_->sign(signedMessage(kCallerSigLabel, transcriptHash_));
        if (!sig.ok()) {
            return fail(sig.status());
        }
        HandshakeConfirm confirm;
        confirm.signature = *sig;
        result_.peerIdentity = calleeId_;
        result_.peerFingerprint = Identity::fingerprintOf(calleeId_);
        state_ = State::Done;
        return confirm.encode();
    }

    if (state_ != State::Idle) {
        return Status(Errc::InvalidArgument, "caller hello arrived out of order");
    }
    auto hello = CallerHello::decode(bytes);
    if (!hello.ok()) {
        return fail(hello.status());
    }
    std::optional<CipherSuite> chosen;
    for (CipherSuite mine : suites_) {
        if (std::find(hello->suites.begin(), hello->suites.end(), static_cast<uint16_t>(mine)) !=
            hello->suites.end()) {
            chosen = mine;
            break;
        }
    }
    if (!chosen) {
        return fail(Status(Errc::Unsupported, "no cipher suite in common with the caller"));
    }
    auto eph = X25519KeyPair::generate();
    if (!eph.ok()) {
        return fail(eph.status());
    }
    ephemeral_.emplace(std::move(*eph));
    callerHello_.assign(bytes.begin(), bytes.end());
    callerId_ = hello->identityKey;
    calleeId_ = identity_->publicKey();
    result_.suite = *chosen;
    result_.media = chooseCallMedia(hello->media, media_);

    CalleeHello reply;
    reply.identityKey = calleeId_;
    reply.ephemeralKey = ephemeral_->publicKey();
    reply.suite = static_cast<uint16_t>(*chosen);
    reply.media = result_.media;
    if (RAND_bytes(reply.nonce.data(), reply.nonce.size()) != 1) {
        return fail(Status::fromOpenSsl("handshake nonce"));
    }
    calleeBody_ = reply.encodeBody();
    if (Status s = deriveKeys(hello->ephemeralKey); !s) {
        return fail(std::move(s));
    }
    auto sig = identity_->sign(signedMessage(kCalleeSigLabel, transcriptHash_));
    if (!sig.ok()) {
        return fail(sig.status());
    }
    reply.signature = *sig;
    state_ = State::AwaitConfirm;
    return reply.encode();
}

Status Handshake::onConfirm(std::span<const uint8_t> bytes) {
    if (role_ != HandshakeRole::Callee || state_ != State::AwaitConfirm) {
        return Status(Errc::InvalidArgument, "handshake confirm arrived out of order");
    }
    auto confirm = HandshakeConfirm::decode(bytes);
    if (!confirm.ok()) {
        return fail(confirm.status());
    }
    if (!Identity::verify(callerId_, signedMessage(kCallerSigLabel, transcriptHash_),
                          confirm->signature)) {
        return fail(Status(Errc::Auth, "caller's handshake signature does not verify "
                                       "(keys substituted on the way?)"));
    }
    result_.peerIdentity = callerId_;
    result_.peerFingerprint = Identity::fingerprintOf(callerId_);
    state_ = State::Done;
    return {};
}

Result<HandshakeResult> Handshake::takeResult() {
    if (state_ != State::Done) {
        return Status(Errc::InvalidArgument, "handshake is not finished");
    }
    state_ = State::Taken;
    return std::move(result_);
}

} // namespace voice
