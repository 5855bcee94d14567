// SPDX-License-Identifier: MIT
// Logging levels and sinks, and the deferred real-time path.
#include "core/deferred_log.h"
#include "core/log.h"

#include <gtest/gtest.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace voice;

namespace {

struct Captured {
    std::mutex mutex;
    std::vector<std::pair<LogLevel, std::string>> lines;
};

class ALog : public ::testing::Test {
protected:
    void SetUp() override {
        setLogLevel(LogLevel::Debug);
        setLogSink([this](LogLevel level, std::string_view text) {
            std::lock_guard lock(captured_.mutex);
            captured_.lines.emplace_back(level, std::string(text));
        });
    }
    void TearDown() override {
        setLogSink(nullptr);
        setLogLevel(LogLevel::Info);
    }
    std::vector<std::pair<LogLevel, std::string>> lines() {
        std::lock_guard lock(captured_.mutex);
        return captured_.lines;
    }
    Captured captured_;
};

} // namespace

TEST_F(ALog, FormatsAndDeliversMessages) {
    LOG_INFO("registered as %s with %d peers", "alice", 3);
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, LogLevel::Info);
    EXPECT_EQ(got[0].second, "registered as alice with 3 peers");
}

TEST_F(ALog, DiscardsMessagesBelowTheLevel) {
    setLogLevel(LogLevel::Warning);
    LOG_DEBUG("hidden");
    LOG_INFO("hidden too");
    LOG_ERROR("shown");
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].second, "shown");
}

TEST_F(ALog, KeepsLongMessagesWhole) {
    std::string longText(2000, 'x');
    logf(LogLevel::Info, "%s!", longText.c_str());
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].second, longText + "!");
}

TEST_F(ALog, ParsesLevelNames) {
    LogLevel level = LogLevel::Info;
    EXPECT_TRUE(parseLogLevel("debug", level));
    EXPECT_EQ(level, LogLevel::Debug);
    EXPECT_FALSE(parseLogLevel("loud", level));
    EXPECT_EQ(level, LogLevel::Debug);
}

TEST(AJournalCheck, IsFalseWithoutJournalStream) {
    unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(stderrIsJournal());
    setenv("JOURNAL_STREAM", "1:2", 1); // not stderr's device and inode
    EXPECT_FALSE(stderrIsJournal());
    unsetenv("JOURNAL_STREAM");
}

TEST_F(ALog, DefersRealtimeMessagesUntilDrained) {
    DeferredLog log(8);
    EXPECT_TRUE(log.post(LogLevel::Warning, "xrun %d on %s", 2, "capture"));
    EXPECT_TRUE(lines().empty()) << "post must not write synchronously";
    EXPECT_EQ(log.drain(), 1u);
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, LogLevel::Warning);
    EXPECT_EQ(got[0].second, "xrun 2 on capture");
}

TEST_F(ALog, DropsAndCountsDeferredMessagesWhenFull) {
    DeferredLog log(4);
    ASSERT_EQ(log.capacity(), 4u);
    for (int i = 0; i < 6; ++i) {
        log.post(LogLevel::Info, "message %d", i);
    }
    EXPECT_EQ(log.dropped(), 2u);
    EXPECT_EQ(log.drain(), 4u);
    auto got = lines();
    ASSERT_EQ(got.size(), 4u);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(got[static_cast<size_t>(i)].second, "message " + std::to_string(i));
    }
    // Space is reusable after a drain.
    EXPECT_TRUE(log.post(LogLevel::Info, "again"));
    EXPECT_EQ(log.drain(), 1u);
}

TEST_F(ALog, TruncatesOverlongDeferredMessages) {
    DeferredLog log(2);
    std::string longText(500, 'y');
    log.post(LogLevel::Info, "%s", longText.c_str());
    log.drain();
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].second, std::string(DeferredLog::kMaxMessage - 1, 'y'));
}

TEST_F(ALog, CarriesDeferredMessagesFromManyThreadsThroughAFlusher) {
    DeferredLog log(1024);
    constexpr int kThreads = 4;
    constexpr int kEach = 200;
    {
        DeferredLogFlusher flusher(log, std::chrono::milliseconds(1));
        std::vector<std::thread> writers;
        for (int t = 0; t < kThreads; ++t) {
            writers.emplace_back([&log, t] {
                for (int i = 0; i < kEach; ++i) {
                    while (!log.post(LogLevel::Info, "t%d m%d", t, i)) {
                        std::this_thread::yield();
                    }
                }
            });
        }
        for (auto& w : writers) {
            w.join();
        }
    } // the flusher drains once more when it stops
    auto got = lines();
    ASSERT_EQ(got.size(), size_t{kThreads * kEach});
    // Per writer, messages arrive in order and none is missing.
    std::vector<int> next(kThreads, 0);
    for (auto& [level, text] : got) {
        int t = -1;
        int i = -1;
        ASSERT_EQ(sscanf(text.c_str(), "t%d m%d", &t, &i), 2) << text;
        ASSERT_EQ(i, next[static_cast<size_t>(t)]) << text;
        ++next[static_cast<size_t>(t)];
    }
}
