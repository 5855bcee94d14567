// SPDX-License-Identifier: MIT
// Throws seeded random bytes and mutated config files at ConfigFile: it must never crash or hang.
#include "config/config_file.h"

#include <gtest/gtest.h>
#include <random>

using namespace voice;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kSeed = "# c\nname = alice\nrelay = [::1]:7000 # x\n[audio]\n"
                                   "frame = 20ms\nq = \"a \\\" b\"\n[call]\nauto = yes\n";

// Exercises every getter on whatever parsed; results are irrelevant, only
// that nothing crashes and sanitizers stay quiet.
void useAll(const ConfigFile& c) {
    for (const std::string& key : c.keys()) {
        (void)c.getString(key);
        (void)c.getBool(key);
        (void)c.getInt(key, INT64_MIN, INT64_MAX);
        (void)c.getDuration(key, 0ms, std::chrono::milliseconds::max());
        (void)c.getHostPort(key);
        (void)c.getChoice(key, {"a", "b"});
    }
    (void)c.checkKeys({"name"});
}

} // namespace

TEST(AConfigFileFuzz, SurvivesRandomBytes) {
    std::mt19937_64 rng(20261124);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<size_t> length(0, 2048);
    for (int i = 0; i < 20000; ++i) {
        std::string text(length(rng), '\0');
        for (char& c : text) {
            c = static_cast<char>(byte(rng));
        }
        auto c = ConfigFile::parse(text, "fuzz");
        if (c.ok()) {
            useAll(*c);
        } else {
            EXPECT_EQ(c.status().detail().rfind("fuzz", 0), 0u);
        }
    }
}

TEST(AConfigFileFuzz, SurvivesMutatedValidFiles) {
    std::mt19937_64 rng(7);
    const std::string alphabet = "=[]#\"\\ \t\n\r:.-_09azAZ\x80\xc3\xff";
    std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
    size_t parsed = 0;
    for (int i = 0; i < 50000; ++i) {
        std::string text(kSeed);
        const int edits = 1 + static_cast<int>(rng() % 8);
        for (int e = 0; e < edits; ++e) {
            const size_t pos = rng() % (text.size() + 1);
            switch (rng() % 3) {
            case 0:
                text.insert(pos, 1, alphabet[pick(rng)]);
                break;
            case 1:
                if (pos < text.size()) {
                    text.erase(pos, 1);
                }
                break;
            default:
                if (pos < text.size()) {
                    text[pos] = alphabet[pick(rng)];
                }
                break;
            }
        }
        auto c = ConfigFile::parse(text, "fuzz");
        if (c.ok()) {
            ++parsed;
            useAll(*c);
        }
    }
    // The mutations must reach the value parsers, not only fail early.
    EXPECT_GT(parsed, 1000u);
}
