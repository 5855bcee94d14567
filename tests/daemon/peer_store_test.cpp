// SPDX-License-Identifier: MIT
// Tests of PeerStore: trust on first use, changed keys, re-trusting, the 0600 file.
#include "peer_store.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace voice;

namespace {

const std::string kKeyA = "0011 2233 4455 6677 8899 aabb ccdd eeff";
const std::string kKeyB = "ffee ddcc bbaa 9988 7766 5544 3322 1100";

class APeerStore : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/voiced-peers-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
        path_ = (dir_ / "peers").string();
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
    std::string path_;
};

TEST_F(APeerStore, PinsAPeerOnFirstUseAndRemembersIt) {
    auto store = PeerStore::load(path_);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ(*store->check("bob", kKeyA), PeerStore::Verdict::FirstUse);
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    auto again = PeerStore::load(path_);
    ASSERT_TRUE(again.ok()) << again.status().toString();
    EXPECT_EQ(*again->check("bob", kKeyA), PeerStore::Verdict::Matched);
    EXPECT_EQ(*again->check("bob", kKeyB), PeerStore::Verdict::Changed);
}

TEST_F(APeerStore, AcceptsAChangedKeyOnlyAfterTrust) {
    auto store = PeerStore::load(path_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store->check("bob", kKeyA).ok());
    EXPECT_EQ(*store->check("bob", kKeyB), PeerStore::Verdict::Changed);
    ASSERT_TRUE(store->trust("bob", kKeyB).ok());
    EXPECT_EQ(*store->check("bob", kKeyB), PeerStore::Verdict::Matched);
    EXPECT_EQ(store->pinned("bob"), kKeyB);
}

TEST_F(APeerStore, RefusesAMalformedFile) {
    { std::ofstream(path_) << "bob not-a-fingerprint\n"; }
    ::chmod(path_.c_str(), 0600);
    EXPECT_FALSE(PeerStore::load(path_).ok());
}

TEST_F(APeerStore, RefusesAFileOthersCanRead) {
    { std::ofstream(path_) << "bob 00112233445566778899aabbccddeeff\n"; }
    ::chmod(path_.c_str(), 0644);
    EXPECT_FALSE(PeerStore::load(path_).ok());
}

} // namespace
