// SPDX-License-Identifier: MIT
// Media cipher cost per packet: our sealers/openers for both suites beside
// bare OpenSSL loops doing the same cryptographic work on a reused context.
//
//   ninja -C build bench/crypto_bench &&
//   build/bench/crypto_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// Sizes: 160 bytes (one Opus frame) and 1920 bytes (20 ms of 48 kHz mono
// 16-bit PCM). 1920 bytes exceeds one datagram, so the sealers and openers
// here are made with a 4096-byte packet limit (the maxPacket argument of the
// factories); everything else is the production code path.
#include "crypto/media_cipher.h"
#include "crypto/openssl_ptr.h"

#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <vector>

using namespace voice;

namespace {

constexpr size_t kBenchMaxPacket = 4096;
constexpr size_t kBatch = 2048; // pre-sealed packets per opener lifetime

DirectionKeys benchKeys() {
    DirectionKeys k{SecureBytes(32), SecureBytes(32)};
    RAND_bytes(k.key.data(), 32);
    RAND_bytes(k.aux.data(), 32);
    return k;
}

MediaHeader benchHeader() {
    MediaHeader h;
    h.codec = 1;
    h.sessionId = 42;
    return h;
}

void BM_Seal(benchmark::State& state, CipherSuite suite) {
    const auto size = static_cast<size_t>(state.range(0));
    auto sealer =
        makeMediaSealer(suite, MediaDirection::CallerToCallee, benchKeys(), kBenchMaxPacket);
    std::vector<uint8_t> plain(size, 0x55);
    std::vector<uint8_t> packet(kBenchMaxPacket);
    const MediaHeader h = benchHeader();
    for (auto _ : state) {
        auto n = (*sealer)->seal(h, plain, packet);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

// The opener refuses replays, so it opens a batch of distinct packets and is
// replaced (timing paused) when the batch is used up.
void BM_Open(benchmark::State& state, CipherSuite suite) {
    const auto size = static_cast<size_t>(state.range(0));
    const DirectionKeys keys = benchKeys();
    auto sealer = makeMediaSealer(suite, MediaDirection::CallerToCallee, keys, kBenchMaxPacket);
    std::vector<uint8_t> plain(size, 0x55);
    std::vector<std::vector<uint8_t>> packets(kBatch);
    for (auto& p : packets) {
        p.resize(kBenchMaxPacket);
        p.resize(*(*sealer)->seal(benchHeader(), plain, p));
    }
    std::vector<uint8_t> out(kBenchMaxPacket);
    auto opener = makeMediaOpener(suite, MediaDirection::CallerToCallee, keys, kBenchMaxPacket);
    size_t next = 0;
    for (auto _ : state) {
        if (next == kBatch) {
            state.PauseTiming();
            opener = makeMediaOpener(suite, MediaDirection::CallerToCallee, keys, kBenchMaxPacket);
            next = 0;
            state.ResumeTiming();
        }
        auto r = (*opener)->open(packets[next++], out);
        if (!r.ok()) {
            state.SkipWithError("open failed");
            break;
        }
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

// Bare EVP AES-256-GCM: init-with-iv + AAD + update + final + get tag on a reused ctx.
void BM_BareEvpGcmSeal(benchmark::State& state) {
    const auto size = static_cast<size_t>(state.range(0));
    const DirectionKeys keys = benchKeys();
    CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    EVP_EncryptInit_ex2(ctx.get(), cipher.get(), keys.key.data(), nullptr, nullptr);
    std::vector<uint8_t> plain(size, 0x55);
    std::vector<uint8_t> out(size + 64);
    uint8_t aad[28] = {};
    uint8_t iv[12] = {};
    uint64_t seq = 0;
    for (auto _ : state) {
        iv[11] = static_cast<uint8_t>(++seq);
        iv[10] = static_cast<uint8_t>(seq >> 8);
        int len = 0;
        int fin = 0;
        EVP_EncryptInit_ex2(ctx.get(), nullptr, nullptr, iv, nullptr);
        EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad, sizeof(aad));
        EVP_EncryptUpdate(ctx.get(), out.data(), &len, plain.data(), static_cast<int>(size));
        EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &fin);
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, out.data() + size);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

// Bare EVP AES-256-GCM decryption with tag check, reused ctx.
void BM_BareEvpGcmOpen(benchmark::State& state) {
    const auto size = static_cast<size_t>(state.range(0));
    const DirectionKeys keys = benchKeys();
    CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    std::vector<uint8_t> plain(size, 0x55);
    std::vector<uint8_t> sealed(size + 16);
    uint8_t aad[28] = {};
    uint8_t iv[12] = {};
    int len = 0;
    int fin = 0;
    EVP_EncryptInit_ex2(ctx.get(), cipher.get(), keys.key.data(), iv, nullptr);
    EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad, sizeof(aad));
    EVP_EncryptUpdate(ctx.get(), sealed.data(), &len, plain.data(), static_cast<int>(size));
    EVP_EncryptFinal_ex(ctx.get(), sealed.data() + len, &fin);
    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, sealed.data() + size);
    CipherCtxPtr dctx(EVP_CIPHER_CTX_new());
    EVP_DecryptInit_ex2(dctx.get(), cipher.get(), keys.key.data(), nullptr, nullptr);
    std::vector<uint8_t> out(size + 16);
    for (auto _ : state) {
        EVP_DecryptInit_ex2(dctx.get(), nullptr, nullptr, iv, nullptr);
        EVP_DecryptUpdate(dctx.get(), nullptr, &len, aad, sizeof(aad));
        EVP_DecryptUpdate(dctx.get(), out.data(), &len, sealed.data(), static_cast<int>(size));
        EVP_CIPHER_CTX_ctrl(dctx.get(), EVP_CTRL_AEAD_SET_TAG, 16, sealed.data() + size);
        if (EVP_DecryptFinal_ex(dctx.get(), out.data() + len, &fin) != 1) {
            state.SkipWithError("tag mismatch");
            break;
        }
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

// Bare AES-256-CBC (random IV) then HMAC-SHA256 over AAD ‖ IV ‖ ciphertext,
// reused EVP_CIPHER_CTX and EVP_MAC_CTX.
void BM_BareCbcHmacSeal(benchmark::State& state) {
    const auto size = static_cast<size_t>(state.range(0));
    const DirectionKeys keys = benchKeys();
    CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    EVP_EncryptInit_ex2(ctx.get(), cipher.get(), keys.key.data(), nullptr, nullptr);
    MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    MacCtxPtr mctx(EVP_MAC_CTX_new(mac.get()));
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_init(mctx.get(), keys.aux.data(), 32, params);
    std::vector<uint8_t> plain(size, 0x55);
    std::vector<uint8_t> out(28 + 16 + size + 16 + 32);
    for (auto _ : state) {
        uint8_t* iv = out.data() + 28;
        uint8_t* ct = iv + 16;
        int len = 0;
        int fin = 0;
        size_t tagLen = 0;
        RAND_bytes(iv, 16);
        EVP_EncryptInit_ex2(ctx.get(), nullptr, nullptr, iv, nullptr);
        EVP_EncryptUpdate(ctx.get(), ct, &len, plain.data(), static_cast<int>(size));
        EVP_EncryptFinal_ex(ctx.get(), ct + len, &fin);
        const size_t macLen = 28 + 16 + static_cast<size_t>(len + fin);
        EVP_MAC_init(mctx.get(), nullptr, 0, nullptr);
        EVP_MAC_update(mctx.get(), out.data(), macLen);
        EVP_MAC_final(mctx.get(), out.data() + macLen, &tagLen, 32);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

BENCHMARK_CAPTURE(BM_Seal, gcm, CipherSuite::Aes256Gcm)->Arg(160)->Arg(1920);
BENCHMARK(BM_BareEvpGcmSeal)->Arg(160)->Arg(1920);
BENCHMARK_CAPTURE(BM_Open, gcm, CipherSuite::Aes256Gcm)->Arg(160)->Arg(1920);
BENCHMARK(BM_BareEvpGcmOpen)->Arg(160)->Arg(1920);
BENCHMARK_CAPTURE(BM_Seal, cbc_hmac, CipherSuite::Aes256CbcHmacSha256)->Arg(160)->Arg(1920);
BENCHMARK_CAPTURE(BM_Open, cbc_hmac, CipherSuite::Aes256CbcHmacSha256)->Arg(160)->Arg(1920);
BENCHMARK(BM_BareCbcHmacSeal)->Arg(160)->Arg(1920);

} // namespace

BENCHMARK_MAIN();
