// SPDX-License-Identifier: MIT
// UniqueFd closes exactly once and transfers ownership on move.
#include "core/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace voice;

namespace {
bool isOpen(int fd) {
    return fcntl(fd, F_GETFD) != -1;
}
} // namespace

TEST(AUniqueFd, ClosesOnDestruction) {
    int raw;
    {
        UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        ASSERT_TRUE(fd.isValid());
        raw = fd.get();
        EXPECT_TRUE(isOpen(raw));
    }
    EXPECT_FALSE(isOpen(raw));
}

TEST(AUniqueFd, MovesOwnership) {
    UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const int raw = a.get();
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.isValid());
    EXPECT_EQ(b.get(), raw);
    UniqueFd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), raw);
    EXPECT_TRUE(isOpen(raw));
}

TEST(AUniqueFd, ReleaseGivesUpWithoutClosing) {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const int raw = fd.release();
    EXPECT_FALSE(fd.isValid());
    EXPECT_TRUE(isOpen(raw));
    ::close(raw);
}

TEST(AUniqueFd, ResetClosesThePreviousDescriptor) {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const int first = fd.get();
    fd.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    EXPECT_NE(fd.get(), -1);
    // The first descriptor number may be reused by the second open; it is
    // closed unless the kernel handed the same number back.
    if (fd.get() != first) {
        EXPECT_FALSE(isOpen(first));
    }
    fd.reset();
    EXPECT_FALSE(fd.isValid());
}
