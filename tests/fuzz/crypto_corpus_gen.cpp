// SPDX-License-Identifier: MIT
// Writes the seed corpora of the crypto fuzz targets (media_opener,
// handshake_messages) into the given corpus folder. Run by hand:
//   ninja -C build tests/crypto/crypto_corpus_gen && build/tests/crypto/crypto_corpus_gen
//   tests/fuzz/corpus
#include "crypto/handshake.h"
#include "crypto_fuzz_keys.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace voice;

namespace {

void write(const std::filesystem::path& dir, const std::string& name,
           const std::vector<uint8_t>& bytes) {
    std::filesystem::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
        return 2;
    }
    const std::filesystem::path root(argv[1]);
    const std::pair<CipherSuite, const char*> suites[] = {
        {CipherSuite::Aes256Gcm, "gcm"}, {CipherSuite::Aes256CbcHmacSha256, "cbc"}};
    for (const auto& [suite, name] : suites) {
        auto sealer =
            makeMediaSealer(suite, MediaDirection::CallerToCallee, fuzz::fixedMediaKeys());
        if (!sealer.ok()) {
            return 1;
        }
        for (size_t n : {size_t{0}, size_t{1}, size_t{160}, size_t{1000}}) {
            MediaHeader h;
            h.codec = 1;
            h.sessionId = 7;
            h.timestampUs = 20000 * n;
            std::vector<uint8_t> payload(n, 0x61);
            std::vector<uint8_t> packet(MediaHeader::kMaxDatagram);
            auto len = (*sealer)->seal(h, payload, packet);
            if (!len.ok()) {
                return 1;
            }
            packet.resize(*len);
            packet.insert(packet.begin(), suite == CipherSuite::Aes256Gcm ? 0 : 1);
            write(root / "media_opener", std::string(name) + "_" + std::to_string(n), packet);
        }
    }

    auto alice = Identity::generate();
    auto bob = Identity::generate();
    if (!alice.ok() || !bob.ok()) {
        return 1;
    }
    const uint8_t callId[] = {'f', 'u', 'z', 'z'};
    auto caller = Handshake::create(HandshakeRole::Caller, *alice, callId,
                                    {CipherSuite::Aes256Gcm, CipherSuite::Aes256CbcHmacSha256});
    auto callee = Handshake::create(HandshakeRole::Callee, *bob, callId,
                                    {CipherSuite::Aes256Gcm, CipherSuite::Aes256CbcHmacSha256});
    auto hello = caller->start();
    auto reply = callee->onPeerHello(*hello);
    auto confirm = caller->onPeerHello(*reply);
    if (!hello.ok() || !reply.ok() || !confirm.ok()) {
        return 1;
    }
    write(root / "handshake_messages", "caller_hello", *hello);
    write(root / "handshake_messages", "callee_hello", *reply);
    write(root / "handshake_messages", "confirm", *confirm);
    printf("wrote seed corpora under %s\n", root.c_str());
    return 0;
}
