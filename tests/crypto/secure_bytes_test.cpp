// SPDX-License-Identifier: MIT
// SecureBytes: ownership, explicit copies, constant-time equality.
#include "crypto/secure_bytes.h"

#include <gtest/gtest.h>
#include <vector>

using namespace voice;

TEST(SecureBytes, MovesWithoutLeavingACopyBehind) {
    const std::vector<uint8_t> key = {1, 2, 3, 4};
    SecureBytes a(key);
    const uint8_t* block = a.data();
    SecureBytes b(std::move(a));
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(a.data(), nullptr);
    EXPECT_EQ(b.data(), block); // the same heap block: nothing was copied
    EXPECT_TRUE(b.equals(key));
    SecureBytes c(8);
    c = std::move(b);
    EXPECT_TRUE(b.empty());
    EXPECT_TRUE(c.equals(key));
}

TEST(SecureBytes, ClonesOnlyOnRequestAndTruncatesByWiping) {
    SecureBytes a(std::vector<uint8_t>{9, 8, 7, 6});
    SecureBytes b = a.clone();
    EXPECT_NE(a.data(), b.data());
    EXPECT_TRUE(b.equals(a.span()));
    b.truncate(2);
    EXPECT_EQ(b.size(), 2u);
    EXPECT_TRUE(b.equals(std::vector<uint8_t>{9, 8}));
    EXPECT_FALSE(b.equals(a.span()));
    b.clear();
    EXPECT_TRUE(b.empty());
}
