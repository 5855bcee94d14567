// SPDX-License-Identifier: MIT
// Seeded random and mutated input for the net parsers (host:port, fingerprints, pin files): no
// crash, no hang.
#include "net/known_relays.h"
#include "net/socket.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

using namespace voice;

namespace {

std::string mutate(std::mt19937_64& rng, std::string text, std::string_view alphabet) {
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
        const size_t pos = rng() % (text.size() + 1);
        const char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
        case 0:
            text.insert(pos, 1, c);
            break;
        case 1:
            if (pos < text.size()) {
                text.erase(pos, 1);
            }
            break;
        default:
            if (pos < text.size()) {
                text[pos] = c;
            }
        }
    }
    return text;
}

} // namespace

TEST(NetParsersFuzz, HostPortSurvivesMutationsAndRoundTrips) {
    std::mt19937_64 rng(1);
    static constexpr char kAlphabet[] = "[]:.-0123456789abcdefABCDEF%\0\xff ";
    const std::string_view alphabet(kAlphabet, sizeof(kAlphabet) - 1); // keeps the NUL
    const std::string seeds[] = {"relay.example.org:7000", "192.0.2.1:1", "[2001:db8::1]:65535",
                                 "[::ffff:1.2.3.4]:80", "localhost:0"};
    size_t accepted = 0;
    for (int i = 0; i < 100000; ++i) {
        const std::string text = mutate(rng, seeds[i % 5], alphabet);
        auto hp = HostPort::parse(text, i % 2 == 0);
        if (!hp.ok()) {
            continue;
        }
        ++accepted;
        // Whatever is accepted formats back to something that parses the same.
        auto again = HostPort::parse(hp->toString(), true);
        ASSERT_TRUE(again.ok()) << text;
        EXPECT_EQ(*again, *hp);
        if (auto a = SocketAddress::fromHostPort(*hp); a.ok()) {
            auto b = SocketAddress::parse(a->toString(), true);
            ASSERT_TRUE(b.ok()) << a->toString();
            EXPECT_EQ(*b, *a);
        }
    }
    EXPECT_GT(accepted, 1000u);
}

TEST(NetParsersFuzz, FingerprintParseSurvivesRandomText) {
    std::mt19937_64 rng(2);
    const std::string seed = Fingerprint().toString();
    for (int i = 0; i < 50000; ++i) {
        const std::string text = mutate(rng, seed, "0123456789abcdefxyzSHA: \n");
        auto fp = Fingerprint::parse(text);
        if (fp.ok()) {
            EXPECT_EQ(*Fingerprint::parse(fp->toString()), *fp);
        }
    }
}

TEST(NetParsersFuzz, KnownRelaysLoadSurvivesMutatedFiles) {
    // tmpfs when there is one: rewriting a file thousands of times on ext4
    // forces a flush per rewrite (auto_da_alloc) and takes a minute.
    const bool shm = ::access("/dev/shm", W_OK) == 0;
    std::string tmpl = shm ? "/dev/shm/voice-known-fuzz.XXXXXX" : "/tmp/voice-known-fuzz.XXXXXX";
    const std::string dir = ::mkdtemp(tmpl.data());
    const std::string path = dir + "/known";
    std::mt19937_64 rng(3);
    std::string seed = "# pins\nrelay.test:7000 " + Fingerprint().toCompactString() +
                       "\n[::1]:7000 " + Fingerprint().toString() + "\n";
    for (int i = 0; i < (shm ? 20000 : 2000); ++i) {
        // Plain rewrite (no fsync) keeps the loop fast; the mode stays 0600.
        {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out << mutate(rng, seed, "# :[]\n\r\t0af.-sha256");
        }
        ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
        auto known = KnownRelays::load(path);
        if (known.ok()) {
            EXPECT_LE(known->size(), KnownRelays::kMaxEntries);
        } else {
            EXPECT_EQ(known.status().detail().rfind(path, 0), 0u) << known.status().detail();
        }
    }
    std::filesystem::remove_all(dir);
}
