// SPDX-License-Identifier: MIT
// Tests of CallHistory (outcomes, the bound, a 0600 file, corrupt and huge files) and of the
// contact list built from the pins and the history.
#include "call_history.h"
#include "contacts.h"
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

CallRecord record(const std::string& peer, bool outgoing, bool answered, EndReason reason) {
    CallRecord r;
    r.peer = peer;
    r.outgoing = outgoing;
    r.answered = answered;
    r.durationS = answered ? 42 : 0;
    r.reason = reason;
    r.start = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    return r;
}

HistoryEntry entry(const std::string& peer, std::int64_t start) {
    HistoryEntry e;
    e.peer = peer;
    e.outgoing = true;
    e.start = start;
    e.durationS = 3;
    e.outcome = "answered";
    e.reason = "hangup";
    return e;
}

class ACallHistory : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/voiced-history-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
        path_ = (dir_ / "history").string();
    }
    void TearDown() override { fs::remove_all(dir_); }
    void writeFile(const std::string& text) {
        std::ofstream(path_, std::ios::binary) << text;
        fs::permissions(path_, fs::perms::owner_read | fs::perms::owner_write);
    }
    fs::path dir_;
    std::string path_;
};

TEST(HistoryOutcome, NamesAnsweredMissedDeclinedBusyCancelledAndFailedCalls) {
    EXPECT_EQ(historyOutcome(record("bob", true, true, EndReason::Hangup)), "answered");
    EXPECT_EQ(historyOutcome(record("bob", false, true, EndReason::PeerLost)), "answered");
    EXPECT_EQ(historyOutcome(record("bob", false, false, EndReason::Hangup)), "missed");
    EXPECT_EQ(historyOutcome(record("bob", false, false, EndReason::Timeout)), "missed");
    EXPECT_EQ(historyOutcome(record("bob", true, false, EndReason::Timeout)), "missed");
    EXPECT_EQ(historyOutcome(record("bob", false, false, EndReason::Declined)), "declined");
    EXPECT_EQ(historyOutcome(record("bob", true, false, EndReason::Declined)), "declined");
    EXPECT_EQ(historyOutcome(record("bob", true, false, EndReason::Busy)), "busy");
    EXPECT_EQ(historyOutcome(record("bob", true, false, EndReason::Hangup)), "cancelled");
    EXPECT_EQ(historyOutcome(record("bob", true, false, EndReason::Offline)), "failed");
    EXPECT_EQ(historyOutcome(record("bob", false, false, EndReason::Untrusted)), "failed");
    const HistoryEntry e = historyEntryOf(record("bob", true, false, EndReason::Offline));
    EXPECT_EQ(e.reason, "offline");
    EXPECT_EQ(e.durationS, 0u);
    EXPECT_EQ(e.start, 1'700'000'000);
}

TEST_F(ACallHistory, KeepsCallsAcrossRestartsInAPrivateFile) {
    {
        CallHistory h(path_);
        h.ended(record("bob", true, true, EndReason::Hangup));
        h.ended(record("carol", false, false, EndReason::Timeout));
    }
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    CallHistory again(path_);
    EXPECT_TRUE(again.loadWarning().empty()) << again.loadWarning();
    const auto newest = again.newest(0);
    ASSERT_EQ(newest.size(), 2u);
    EXPECT_EQ(newest[0].peer, "carol");
    EXPECT_EQ(newest[0].outcome, "missed");
    EXPECT_FALSE(newest[0].outgoing);
    EXPECT_EQ(newest[1].peer, "bob");
    EXPECT_EQ(newest[1].outcome, "answered");
    EXPECT_EQ(newest[1].durationS, 42u);
    EXPECT_EQ(again.newest(1).size(), 1u);
}

TEST_F(ACallHistory, DropsTheOldestPastItsBound) {
    CallHistory h(path_, 3);
    for (int i = 1; i <= 5; ++i) {
        ASSERT_TRUE(h.add(entry("bob", i)).ok());
    }
    auto all = h.newest(0);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].start, 5);
    EXPECT_EQ(all[2].start, 3);
    CallHistory reloaded(path_, 3);
    EXPECT_EQ(reloaded.newest(0), all);
}

size_t linesIn(const std::string& path) {
    std::ifstream in(path);
    size_t n = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
    }
    return n;
}

TEST_F(ACallHistory, AppendsACallAndCompactsTheFileAtTwiceItsBound) {
    CallHistory h(path_, 3);
    for (int i = 1; i <= 6; ++i) {
        ASSERT_TRUE(h.add(entry("bob", i)).ok());
    }
    EXPECT_EQ(linesIn(path_), 6u); // appended, one line a call
    ASSERT_TRUE(h.add(entry("bob", 7)).ok());
    EXPECT_EQ(linesIn(path_), 3u); // rewritten with the newest three
    EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    CallHistory reloaded(path_, 3);
    auto all = reloaded.newest(0);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].start, 7);
    EXPECT_EQ(all[2].start, 5);
}

TEST_F(ACallHistory, RewritesAFileWhoseLastLineWasCutShortBeforeAppending) {
    const std::string cut = formatHistoryLine(entry("carol", 2));
    writeFile(formatHistoryLine(entry("bob", 1)) + "\n" + cut.substr(0, cut.size() / 2));
    {
        CallHistory h(path_);
        ASSERT_TRUE(h.add(entry("dave", 3)).ok());
    }
    CallHistory reloaded(path_);
    EXPECT_TRUE(reloaded.loadWarning().empty()) << reloaded.loadWarning();
    auto all = reloaded.newest(0);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].peer, "dave");
    EXPECT_EQ(all[1].peer, "bob");
}

TEST_F(ACallHistory, SkipsCorruptLinesWithAWarning) {
    writeFile(formatHistoryLine(entry("bob", 1)) + "\n" +
              "{not json\n"
              "{\"peer\":\"BAD NAME\",\"direction\":\"in\",\"start\":1,\"duration\":0,"
              "\"outcome\":\"missed\",\"reason\":\"hangup\"}\n"
              "{\"peer\":\"eve\",\"direction\":\"in\",\"start\":\"x\"}\n"
              "[1,2,3]\n\xff\xfe\n" +
              formatHistoryLine(entry("dave", 2)) + "\n");
    CallHistory h(path_);
    EXPECT_NE(h.loadWarning().find("skipped 5"), std::string::npos) << h.loadWarning();
    auto all = h.newest(0);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].peer, "dave");
    EXPECT_EQ(all[1].peer, "bob");
}

TEST_F(ACallHistory, SetsAHugeFileAsideAndStartsAfresh) {
    writeFile(std::string(CallHistory::kMaxFileBytes + 10, 'x'));
    CallHistory h(path_);
    EXPECT_FALSE(h.loadWarning().empty());
    EXPECT_TRUE(h.newest(0).empty());
    EXPECT_TRUE(fs::exists(path_ + ".bad"));
    ASSERT_TRUE(h.add(entry("bob", 1)).ok());
    CallHistory again(path_);
    EXPECT_TRUE(again.loadWarning().empty());
    EXPECT_EQ(again.newest(0).size(), 1u);
}

TEST_F(ACallHistory, RefusesAFileOthersCanWrite) {
    writeFile(formatHistoryLine(entry("bob", 1)) + "\n");
    fs::permissions(path_, fs::perms::others_write, fs::perm_options::add);
    CallHistory h(path_);
    EXPECT_FALSE(h.loadWarning().empty());
    EXPECT_TRUE(h.newest(0).empty());
}

TEST_F(ACallHistory, ParsesOnlyTheNewestEntriesOfALongText) {
    std::string text;
    for (int i = 0; i < 50; ++i) {
        text += formatHistoryLine(entry("bob", i)) + "\n";
    }
    std::size_t skipped = 99;
    auto kept = parseHistory(text, 10, &skipped);
    EXPECT_EQ(skipped, 0u);
    ASSERT_EQ(kept.size(), 10u);
    EXPECT_EQ(kept.front().start, 40);
    EXPECT_EQ(kept.back().start, 49);
}

TEST_F(ACallHistory, ListsContactsWithVerificationAndLastCall) {
    auto peers = PeerStore::load((dir_ / "peers").string());
    ASSERT_TRUE(peers.ok());
    ASSERT_TRUE(peers->check("bob", kKeyA).ok());
    ASSERT_TRUE(peers->trust("carol", kKeyB, /*verified=*/true).ok());
    CallHistory h(path_);
    ASSERT_TRUE(h.add(entry("bob", 100)).ok());
    ASSERT_TRUE(h.add(entry("bob", 200)).ok());

    auto contacts = listContacts(*peers, &h);
    ASSERT_EQ(contacts.size(), 2u);
    EXPECT_EQ(contacts[0].name, "bob");
    EXPECT_EQ(contacts[0].fingerprint, kKeyA);
    EXPECT_FALSE(contacts[0].verified);
    EXPECT_EQ(contacts[0].lastCall, 200);
    EXPECT_EQ(contacts[1].name, "carol");
    EXPECT_TRUE(contacts[1].verified);
    EXPECT_EQ(contacts[1].lastCall, 0);

    // "verified" survives a reload; re-pinning on first-use terms clears it.
    auto reloaded = PeerStore::load((dir_ / "peers").string());
    ASSERT_TRUE(reloaded.ok()) << reloaded.status().toString();
    EXPECT_TRUE(reloaded->verified("carol"));
    EXPECT_EQ(reloaded->pinned("carol"), kKeyB);
    ASSERT_TRUE(reloaded->trust("carol", kKeyA).ok());
    EXPECT_FALSE(reloaded->verified("carol"));
}

} // namespace
