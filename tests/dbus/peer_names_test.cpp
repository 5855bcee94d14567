// SPDX-License-Identifier: MIT
// Tests of peer name and fingerprint validation.
#include "peer_names.h"

#include <gtest/gtest.h>
#include <string>

using voice::isValidPeerName;
using voice::normalizeFingerprint;

TEST(PeerNames, AcceptLowerCaseDigitsDotUnderscoreAndDash) {
    EXPECT_TRUE(isValidPeerName("bob"));
    EXPECT_TRUE(isValidPeerName("a"));
    EXPECT_TRUE(isValidPeerName("alice.smith_2-x"));
    EXPECT_TRUE(isValidPeerName(std::string(32, 'z')));
}

TEST(PeerNames, RefuseEmptyOverlongAndOtherCharacters) {
    EXPECT_FALSE(isValidPeerName(""));
    EXPECT_FALSE(isValidPeerName(std::string(33, 'z')));
    for (const char* bad :
         {"Bob", "bob smith", "bob/x", "bob\n", "bob\t", "b\xc3\xa9", "bob@x", "b:b"}) {
        EXPECT_FALSE(isValidPeerName(bad)) << bad;
    }
    EXPECT_FALSE(isValidPeerName(std::string("bo\0b", 4)));
}

TEST(Fingerprints, NormaliseToEightLowerCaseGroups) {
    const std::string canonical = "ab12 cd34 ef56 7890 0011 2233 4455 6677";
    EXPECT_EQ(normalizeFingerprint(canonical), canonical);
    EXPECT_EQ(normalizeFingerprint("AB12CD34EF56789000112233445566 77"), canonical);
    EXPECT_EQ(normalizeFingerprint("ab:12:cd:34:ef:56:78:90:00:11:22:33:44:55:66:77"), canonical);
}

TEST(Fingerprints, RefuseWrongLengthsAndCharacters) {
    EXPECT_FALSE(normalizeFingerprint(""));
    EXPECT_FALSE(normalizeFingerprint("ab12"));
    EXPECT_FALSE(normalizeFingerprint(std::string(33, 'a')));
    EXPECT_FALSE(normalizeFingerprint(std::string(31, 'a') + "g"));
    EXPECT_FALSE(normalizeFingerprint(std::string(32, 'a') + "\n"));
    EXPECT_FALSE(normalizeFingerprint(std::string(32, 'a') + std::string(100, ' ')));
    EXPECT_FALSE(normalizeFingerprint(std::string(10000, 'a')));
}

TEST(QuoteForMessage, BoundsAndCleansUntrustedText) {
    EXPECT_EQ(voice::quoteForMessage("bob"), "\"bob\"");
    EXPECT_EQ(voice::quoteForMessage("a\nb"), "\"a?b\"");
    EXPECT_EQ(voice::quoteForMessage(std::string(100, 'x'), 4), "\"xxxx\"...");
}
