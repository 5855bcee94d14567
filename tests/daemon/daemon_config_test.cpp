// SPDX-License-Identifier: MIT
// Tests of voiced's configuration: file, defaults, command-line overrides, clear errors.
#include "daemon_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <vector>

namespace fs = std::filesystem;
using namespace voice;

namespace {

class ADaemonConfig : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/voiced-config-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
        fs::create_directories(dir_ / "voiced");
        setenv("XDG_CONFIG_HOME", dir_.c_str(), 1);
    }
    void TearDown() override { fs::remove_all(dir_); }

    void writeConfig(const std::string& text) {
        std::ofstream(dir_ / "voiced" / "voiced.conf") << text;
    }
    Result<DaemonConfig> load(std::vector<std::string> args = {}) {
        args.insert(args.begin(), "voiced");
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        auto cmd = parseCommandLine(static_cast<int>(argv.size()), argv.data());
        if (!cmd.ok()) {
            return cmd.status();
        }
        return loadDaemonConfig(*cmd);
    }

    fs::path dir_;
};

TEST_F(ADaemonConfig, NeedsOnlyANameAndARelay) {
    writeConfig("name = alice\nrelay = relay.example:7000\n");
    auto c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->name, "alice");
    EXPECT_EQ(c->relay.port, 7000);
    EXPECT_EQ(c->codec, CodecId::Opus);
    EXPECT_EQ(c->cipher, CipherSuite::Aes256Gcm);
    EXPECT_EQ(c->autoAnswer, AutoAnswer::Off);
    EXPECT_EQ(c->fec, FecMode::Auto);
    EXPECT_EQ(c->configDir, (dir_ / "voiced").string());
}

TEST_F(ADaemonConfig, TurnsFeedbackDrivenFecOffOnRequest) {
    writeConfig("name = alice\nrelay = a:1\nfec = off\n");
    auto c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->fec, FecMode::Off);
    writeConfig("name = alice\nrelay = a:1\nfec = sometimes\n");
    auto bad = load();
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().detail().find("fec"), std::string::npos) << bad.status().detail();
}

TEST_F(ADaemonConfig, TakesEverythingFromTheCommandLineWithoutAFile) {
    auto c = load({"--name", "bob", "--relay=127.0.0.1:9", "--codec", "pcm", "--auto-answer",
                   "alice, carol"});
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->name, "bob");
    EXPECT_EQ(c->codec, CodecId::Pcm);
    EXPECT_EQ(c->autoAnswer, AutoAnswer::Allowlist);
    EXPECT_TRUE(c->autoAnswers("carol"));
    EXPECT_FALSE(c->autoAnswers("mallory"));
}

TEST_F(ADaemonConfig, LetsTheCommandLineOverrideTheFile) {
    writeConfig("name = alice\nrelay = a:1\nauto_answer = on\n");
    auto c = load({"--name", "bob", "--auto-answer", "off"});
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->name, "bob");
    EXPECT_EQ(c->autoAnswer, AutoAnswer::Off);
}

TEST_F(ADaemonConfig, RefusesBadValuesWithClearErrors) {
    writeConfig("name = alice\nrelay = a:1\ncipher = rot13\n");
    auto c = load();
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().detail().find("cipher"), std::string::npos) << c.status().detail();

    writeConfig("name = Alice!\nrelay = a:1\n");
    EXPECT_FALSE(load().ok());
    writeConfig("name = alice\n");
    auto noRelay = load();
    ASSERT_FALSE(noRelay.ok());
    EXPECT_NE(noRelay.status().detail().find("relay"), std::string::npos);
    writeConfig("name = alice\nrelay = a:1\ncolour = blue\n");
    EXPECT_FALSE(load().ok());
    writeConfig("name = alice\nrelay = a:1\n");
    EXPECT_FALSE(load({"--codec", "mp3"}).ok());
    EXPECT_FALSE(load({"--auto-answer", "BAD NAME"}).ok());
    EXPECT_FALSE(load({"--frobnicate"}).ok());
    EXPECT_FALSE(load({"--name"}).ok());
}

} // namespace
