// SPDX-License-Identifier: MIT
// Keeps the committed fuzz seed corpora for the wire targets in step with
// the real encodings. Run with VOICE_REGENERATE_CORPUS=1 to rewrite them.
#include "sample_messages.h"
#include "wire/messages.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <map>

using namespace voice;
namespace fs = std::filesystem;

namespace {

using Corpus = std::map<std::string, std::vector<uint8_t>>;

std::vector<uint8_t> frameOf(const msg::Message& m) {
    std::vector<uint8_t> out;
    EXPECT_TRUE(msg::appendMessage(out, m).ok());
    return out;
}

/// control_message: type byte ‖ payload, one file per sample.
Corpus controlMessageSeeds() {
    Corpus seeds;
    int i = 0;
    for (const auto& m : test::sampleMessages()) {
        auto frame = frameOf(m);
        std::vector<uint8_t> seed{frame[0]};
        seed.insert(seed.end(), frame.begin() + kFrameHeaderSize, frame.end());
        char name[64];
        snprintf(name, sizeof(name), "%02d_%s", i++,
                 std::string(frameTypeName(msg::messageType(m))).c_str());
        seeds[name] = seed;
    }
    return seeds;
}

/// frame_decoder: splitter seed byte ‖ stream of frames.
Corpus frameDecoderSeeds() {
    Corpus seeds;
    std::vector<uint8_t> all{0x01};
    for (const auto& m : test::sampleMessages()) {
        auto f = frameOf(m);
        all.insert(all.end(), f.begin(), f.end());
    }
    seeds["all_messages"] = all;

    std::vector<uint8_t> call{0x2A};
    for (const msg::Message& m : {msg::Message(msg::Hello{kProtocolVersion, "voiced 0.1.0"}),
                                  msg::Message(msg::Call{"bob"}), msg::Message(msg::Keepalive{1}),
                                  msg::Message(msg::Hangup{{}, HangupReason::Normal})}) {
        auto f = frameOf(m);
        call.insert(call.end(), f.begin(), f.end());
    }
    seeds["short_conversation"] = call;

    // The last frame cut short (the Hangup's call id is 16 bytes).
    seeds["truncated_tail"] = std::vector<uint8_t>(call.begin(), call.end() - 5);

    auto oversized = call;
    oversized.insert(oversized.end(), {0x10, 0x00, 0x00, 0x22}); // Call of 34 bytes
    seeds["oversized_after_frames"] = oversized;

    auto reserved = call;
    reserved.insert(reserved.end(), {0x20, 0x01, 0x00, 0x08});
    seeds["reserved_flags"] = reserved;

    seeds["unknown_type"] = {0x07, 0x06, 0x00, 0x00, 0x00};
    return seeds;
}

std::vector<uint8_t> readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void checkOrWrite(const std::string& target, const Corpus& seeds) {
    const char* root = std::getenv("VOICE_FUZZ_CORPUS");
    if (root == nullptr) {
        GTEST_SKIP() << "VOICE_FUZZ_CORPUS not set";
    }
    const fs::path dir = fs::path(root) / target;
    const char* regenerate = std::getenv("VOICE_REGENERATE_CORPUS");
    if (regenerate != nullptr && std::string(regenerate) == "1") {
        fs::create_directories(dir);
        for (const auto& [name, bytes] : seeds) {
            std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<std::streamsize>(bytes.size()));
            ASSERT_TRUE(out.good()) << (dir / name);
        }
        return;
    }
    for (const auto& [name, bytes] : seeds) {
        EXPECT_TRUE(fs::exists(dir / name)) << (dir / name) << " missing";
        EXPECT_EQ(readFile(dir / name), bytes)
            << (dir / name) << " is stale; rerun with VOICE_REGENERATE_CORPUS=1";
    }
}

} // namespace

TEST(TheWireSeedCorpus, MatchesTheControlMessageEncodings) {
    checkOrWrite("control_message", controlMessageSeeds());
}

TEST(TheWireSeedCorpus, MatchesTheFrameStreamEncodings) {
    checkOrWrite("frame_decoder", frameDecoderSeeds());
}
