// SPDX-License-Identifier: MIT
// LocalRegistry: name bindings with and without an allowlist, presence, line state.
#include "relay/local_registry.h"

#include <gtest/gtest.h>

namespace voice {
namespace {

Registry::Key key(uint8_t b) {
    Registry::Key k{};
    k.fill(b);
    return k;
}

TEST(LocalRegistry, FirstKeyWinsAName) {
    LocalRegistry r;
    EXPECT_EQ(r.checkName("alice", key(1)), Registry::NameCheck::Free);
    ASSERT_TRUE(r.bindName("alice", key(1)));
    EXPECT_EQ(r.checkName("alice", key(1)), Registry::NameCheck::Owned);
    EXPECT_EQ(r.checkName("alice", key(2)), Registry::NameCheck::Taken);
    EXPECT_FALSE(r.bindName("alice", key(2)));
}

TEST(LocalRegistry, TheAllowlistDecidesWhenOn) {
    NameBindings allow;
    ASSERT_TRUE(allow.add("bob", key(3)));
    LocalRegistry r({}, allow);
    EXPECT_TRUE(r.hasAllowlist());
    EXPECT_EQ(r.checkName("bob", key(3)), Registry::NameCheck::Owned);
    EXPECT_EQ(r.checkName("bob", key(4)), Registry::NameCheck::AllowlistedToOther);
    EXPECT_EQ(r.checkName("carol", key(3)), Registry::NameCheck::NotAllowed);
    r.setAllowlist(std::nullopt);
    EXPECT_EQ(r.checkName("carol", key(3)), Registry::NameCheck::Free);
}

TEST(LocalRegistry, PresenceFollowsTheNewestConnection) {
    LocalRegistry r;
    EXPECT_FALSE(r.connectionOf("alice"));
    r.setOnline("alice", 7);
    r.setLine("alice", 7, LineState::InCall);
    EXPECT_EQ(r.line("alice"), LineState::InCall);
    r.setOnline("alice", 9); // registered again: a fresh, idle line
    EXPECT_EQ(*r.connectionOf("alice"), 9u);
    EXPECT_EQ(r.line("alice"), LineState::Idle);
    r.setLine("alice", 7, LineState::Ringing); // the old connection's news: ignored
    r.setOffline("alice", 7);
    EXPECT_EQ(*r.connectionOf("alice"), 9u);
    EXPECT_EQ(r.line("alice"), LineState::Idle);
    r.setOffline("alice", 9);
    EXPECT_FALSE(r.connectionOf("alice"));
    EXPECT_EQ(r.online(), 0u);
}

} // namespace
} // namespace voice
