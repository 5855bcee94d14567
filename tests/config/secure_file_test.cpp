// SPDX-License-Identifier: MIT
// Secure small-file I/O: atomic 0600 writes, owner-only checks, size limits, private directories.
#include "config/secure_file.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace voice;

namespace {
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/voice-secure-file.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};
mode_t modeOf(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}
} // namespace

TEST(ASecureFile, WritesAtomicallyWithTheRequestedMode) {
    TempDir d;
    const std::string p = d.path + "/f";
    const mode_t old = ::umask(0);
    ASSERT_TRUE(writeFileAtomically(p, "one", 0600).ok());
    ::umask(old);
    EXPECT_EQ(modeOf(p), 0600u);
    ASSERT_TRUE(writeFileAtomically(p, "two").ok());
    EXPECT_EQ(*readBoundedFile(p, 100, FileAccess::OwnerOnly), "two");
    // No temporary files left behind.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path),
                            std::filesystem::directory_iterator()),
              1);
}

TEST(ASecureFile, RefusesUnsafeOrOversizedFiles) {
    TempDir d;
    const std::string p = d.path + "/f";
    ASSERT_TRUE(writeFileAtomically(p, "0123456789").ok());
    EXPECT_EQ(readBoundedFile(p, 9).status().code(), Errc::InvalidArgument);
    EXPECT_TRUE(readBoundedFile(p, 10).ok());
    ASSERT_EQ(::chmod(p.c_str(), 0640), 0);
    EXPECT_EQ(readBoundedFile(p, 100, FileAccess::OwnerOnly).status().code(), Errc::Permission);
    EXPECT_TRUE(readBoundedFile(p, 100, FileAccess::Shared).ok());
    EXPECT_EQ(readBoundedFile(d.path + "/missing", 100).status().code(), Errc::NotFound);
    EXPECT_EQ(readBoundedFile(d.path, 100).status().code(), Errc::InvalidArgument); // a directory
    EXPECT_EQ(readBoundedFile("/dev/zero", 100).status().code(), Errc::InvalidArgument);
}

TEST(ASecureFile, CreatesAndChecksPrivateDirectories) {
    TempDir d;
    const std::string sub = d.path + "/state";
    ASSERT_TRUE(ensurePrivateDirectory(sub).ok());
    EXPECT_EQ(modeOf(sub), 0700u);
    EXPECT_TRUE(ensurePrivateDirectory(sub).ok());
    ASSERT_EQ(::chmod(sub.c_str(), 0777), 0);
    EXPECT_EQ(ensurePrivateDirectory(sub).code(), Errc::Permission);
    ASSERT_EQ(::chmod(sub.c_str(), 0755), 0); // StateDirectory= default: fine
    EXPECT_TRUE(ensurePrivateDirectory(sub).ok());
}
