// SPDX-License-Identifier: MIT
// Status and Result carry a code and the detail of errno, ALSA and OpenSSL failures.
#include "core/result.h"
#include "core/status.h"

#include <cerrno>
#include <gtest/gtest.h>
#include <memory>
#include <openssl/evp.h>

using namespace voice;

TEST(AStatus, IsOkByDefault) {
    Status s;
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(s.code(), Errc::Ok);
    EXPECT_EQ(s.toString(), "ok");
}

TEST(AStatus, CarriesErrnoText) {
    Status s = Status::fromErrno(Errc::Io, ENOENT, "open /nonexistent");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Io);
    EXPECT_EQ(s.detail(), "open /nonexistent: No such file or directory");
    EXPECT_EQ(s.toString(), "io: open /nonexistent: No such file or directory");
}

TEST(AStatus, CarriesAlsaText) {
    Status s = Status::fromAlsa(-EPIPE, "snd_pcm_writei");
    EXPECT_EQ(s.code(), Errc::Alsa);
    EXPECT_EQ(s.detail(), "snd_pcm_writei: Broken pipe");
}

TEST(AStatus, DrainsTheOpenSslErrorQueue) {
    // Asking for a cipher that does not exist leaves an error on the queue.
    std::unique_ptr<EVP_CIPHER, decltype(&EVP_CIPHER_free)> cipher(
        EVP_CIPHER_fetch(nullptr, "NO-SUCH-CIPHER", nullptr), EVP_CIPHER_free);
    ASSERT_EQ(cipher, nullptr);
    Status s = Status::fromOpenSsl("fetch cipher");
    EXPECT_EQ(s.code(), Errc::Crypto);
    EXPECT_NE(s.detail().find("fetch cipher: error:"), std::string::npos) << s.detail();
    // The queue is now empty: a second status has no OpenSSL detail.
    EXPECT_EQ(Status::fromOpenSsl("again").detail(), "again");
}

TEST(AResult, HoldsAValue) {
    Result<int> r(42);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 42);
    EXPECT_TRUE(r.status().ok());
}

TEST(AResult, HoldsAnError) {
    Result<std::string> r(Errc::NotFound, "no such peer");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Errc::NotFound);
    EXPECT_EQ(r.status().detail(), "no such peer");
}

TEST(AResult, MovesOutMoveOnlyValues) {
    Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
    std::unique_ptr<int> p = std::move(r).value();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 7);
}

TEST(AnErrc, HasAStableName) {
    EXPECT_EQ(errcName(Errc::InvalidArgument), "invalid-argument");
    EXPECT_EQ(errcName(Errc::Protocol), "protocol");
}
