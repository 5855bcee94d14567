// SPDX-License-Identifier: MIT
// ResumeTokens: a token resumes only its own call, for its own holder, until it expires.
#include "relay/resume_tokens.h"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace voice {
namespace {

using Clock = ResumeTokens::SystemClock;
using namespace std::chrono_literals;

class AResumeToken : public ::testing::Test {
protected:
    static std::array<uint8_t, ResumeTokens::kKeySize> keyOf(uint8_t v) {
        std::array<uint8_t, ResumeTokens::kKeySize> k{};
        k.fill(v);
        return k;
    }
    std::vector<uint8_t> issueForAlice() const {
        return tokens.issue(call, CallRole::Caller, 0x1122334455667788ULL, "alice", aliceKey,
                            now + 1h);
    }

    ResumeTokens tokens = ResumeTokens::withKey(keyOf(7));
    CallId call{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    IdentityKey aliceKey{0xA1};
    IdentityKey bobKey{0xB0};
    Clock::time_point now = Clock::now();
};

TEST_F(AResumeToken, VerifiesForItsHolderAndTellsItsRoleAndSession) {
    auto token = issueForAlice();
    EXPECT_EQ(token.size(), ResumeTokens::kTokenSize);
    EXPECT_GE(token.size(), kMinResumeTokenLength);
    EXPECT_LE(token.size(), kMaxResumeTokenLength);
    auto claim = tokens.verify(call, token, "alice", aliceKey, now);
    ASSERT_TRUE(claim.ok()) << claim.status().toString();
    EXPECT_EQ(claim->role, CallRole::Caller);
    EXPECT_EQ(claim->session, 0x1122334455667788ULL);
}

TEST_F(AResumeToken, DoesNotOpenAnotherCall) {
    CallId other = call;
    other[15] ^= 1;
    auto claim = tokens.verify(other, issueForAlice(), "alice", aliceKey, now);
    ASSERT_FALSE(claim.ok());
    EXPECT_EQ(claim.status().code(), Errc::Auth);
}

TEST_F(AResumeToken, IsUselessToAnotherUserOrKey) {
    auto token = issueForAlice();
    EXPECT_FALSE(tokens.verify(call, token, "bob", bobKey, now).ok());
    EXPECT_FALSE(tokens.verify(call, token, "bob", aliceKey, now).ok());
    EXPECT_FALSE(tokens.verify(call, token, "alice", bobKey, now).ok());
}

TEST_F(AResumeToken, ExpiresAtItsExpiry) {
    auto token = issueForAlice();
    EXPECT_TRUE(tokens.verify(call, token, "alice", aliceKey, now + 59min).ok());
    auto late = tokens.verify(call, token, "alice", aliceKey, now + 61min);
    ASSERT_FALSE(late.ok());
    EXPECT_NE(late.status().detail().find("expired"), std::string::npos);
}

TEST_F(AResumeToken, RefusesEveryTamperedByteAndEveryLength) {
    auto token = issueForAlice();
    for (size_t i = 0; i < token.size(); ++i) {
        auto bad = token;
        bad[i] ^= 0x01;
        EXPECT_FALSE(tokens.verify(call, bad, "alice", aliceKey, now).ok()) << "byte " << i;
    }
    for (size_t n = 0; n <= kMaxResumeTokenLength; ++n) {
        if (n == token.size()) {
            continue;
        }
        std::vector<uint8_t> bad(token.begin(), token.begin() + std::min(n, token.size()));
        bad.resize(n, 0);
        EXPECT_FALSE(tokens.verify(call, bad, "alice", aliceKey, now).ok()) << n;
    }
}

TEST_F(AResumeToken, FromAnotherRelayKeyIsRefused) {
    auto otherRelay = ResumeTokens::withKey(keyOf(8));
    auto token = otherRelay.issue(call, CallRole::Caller, 5, "alice", aliceKey, now + 1h);
    EXPECT_FALSE(tokens.verify(call, token, "alice", aliceKey, now).ok());
}

class AResumeKeyFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/resume-key-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/resume.key";
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string dir, path;
};

TEST_F(AResumeKeyFile, IsCreatedOwnerOnlyAndVerifiesTokensAfterARestart) {
    const CallId call{9};
    const IdentityKey key{3};
    const auto expiry = Clock::now() + 1h;
    std::vector<uint8_t> token;
    {
        auto first = ResumeTokens::loadOrCreate(path);
        ASSERT_TRUE(first.ok()) << first.status().toString();
        token = first->issue(call, CallRole::Callee, 42, "bob", key, expiry);
    }
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(size_t(st.st_size), ResumeTokens::kKeySize);
    auto second = ResumeTokens::loadOrCreate(path);
    ASSERT_TRUE(second.ok()) << second.status().toString();
    auto claim = second->verify(call, token, "bob", key, Clock::now());
    ASSERT_TRUE(claim.ok()) << claim.status().toString();
    EXPECT_EQ(claim->role, CallRole::Callee);
    EXPECT_EQ(claim->session, 42u);
}

TEST_F(AResumeKeyFile, OfTheWrongSizeIsRefused) {
    {
        auto made = ResumeTokens::loadOrCreate(path);
        ASSERT_TRUE(made.ok());
    }
    ASSERT_EQ(::truncate(path.c_str(), 5), 0);
    auto loaded = ResumeTokens::loadOrCreate(path);
    EXPECT_FALSE(loaded.ok());
}

TEST_F(AResumeToken, VerifiesAtEveryRelayOfItsClusterAndNoneOfAnother) {
    auto relay1 = ResumeTokens::fromClusterKey(keyOf(3));
    auto relay2 = ResumeTokens::fromClusterKey(keyOf(3));
    auto outsider = ResumeTokens::fromClusterKey(keyOf(4));
    ASSERT_TRUE(relay1.ok() && relay2.ok() && outsider.ok());
    auto token = relay1->issue(call, CallRole::Callee, 99, "alice", aliceKey, now + 1h);
    auto claim = relay2->verify(call, token, "alice", aliceKey, now);
    ASSERT_TRUE(claim.ok()) << claim.status().toString();
    EXPECT_EQ(claim->session, 99u);
    EXPECT_EQ(claim->role, CallRole::Callee);
    EXPECT_FALSE(outsider->verify(call, token, "alice", aliceKey, now).ok());
    // Derived, not the cluster key itself (which also keys the trunk).
    EXPECT_FALSE(ResumeTokens::withKey(keyOf(3)).verify(call, token, "alice", aliceKey, now).ok());
}

} // namespace
} // namespace voice
