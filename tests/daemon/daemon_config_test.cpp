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

TEST_F(ADaemonConfig, TakesTheRelaysOfAClusterInOrder) {
    writeConfig("name = alice\nrelay = a.example:7000, 10.0.0.2:7001,[::1]:7002\n");
    auto c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    ASSERT_EQ(c->relays.size(), 3u);
    EXPECT_EQ(c->relays[0].toString(), "a.example:7000");
    EXPECT_EQ(c->relays[1].toString(), "10.0.0.2:7001");
    EXPECT_EQ(c->relays[2].port, 7002);
    EXPECT_EQ(c->relay.toString(), "a.example:7000");
    auto cmd = load({"--relay", "b:1,c:2"});
    ASSERT_TRUE(cmd.ok()) << cmd.status().toString();
    EXPECT_EQ(cmd->relays.size(), 2u);
    EXPECT_EQ(cmd->relay.toString(), "b:1");
}

TEST_F(ADaemonConfig, RefusesABadRelayListSayingWhichEntry) {
    for (const char* bad : {"a:1,", "a:1,,b:2", "a:1, b", "a:1 b:2", ","}) {
        writeConfig(std::string("name = alice\nrelay = ") + bad + "\n");
        auto c = load();
        EXPECT_FALSE(c.ok()) << bad;
    }
    writeConfig("name = alice\nrelay = a:1, b\n");
    auto which = load();
    ASSERT_FALSE(which.ok());
    EXPECT_NE(which.status().detail().find("'b'"), std::string::npos) << which.status().detail();
    std::string nine = "a:1";
    for (int i = 0; i < 8; ++i) {
        nine += ",a:1";
    }
    writeConfig("name = alice\nrelay = " + nine + "\n");
    auto tooMany = load();
    ASSERT_FALSE(tooMany.ok());
    EXPECT_NE(tooMany.status().detail().find("at most 8"), std::string::npos);
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

TEST_F(ADaemonConfig, HasNotificationsAndRingTonesOnUnlessTurnedOff) {
    writeConfig("name = alice\nrelay = a:1\n");
    auto c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_TRUE(c->notifications);
    EXPECT_TRUE(c->ringTones);
    EXPECT_FALSE(c->stateDir.empty());
    writeConfig("name = alice\nrelay = a:1\nnotifications = off\nring = off\n");
    auto off = load();
    ASSERT_TRUE(off.ok()) << off.status().toString();
    EXPECT_FALSE(off->notifications);
    EXPECT_FALSE(off->ringTones);
    writeConfig("name = alice\nrelay = a:1\nring = loud\n");
    auto bad = load();
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().toString().find("ring"), std::string::npos) << bad.status().toString();
}

TEST_F(ADaemonConfig, TurnsCaptureProcessingOnByDefaultAndEachOffOnRequest) {
    writeConfig("name = alice\nrelay = a:1\n");
    auto c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_TRUE(c->echoCancel);
    EXPECT_TRUE(c->noiseSuppression);
    EXPECT_TRUE(c->autoGain);
    writeConfig(
        "name = alice\nrelay = a:1\necho_cancel = off\nnoise_suppression = off\nauto_gain = off\n");
    c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_FALSE(c->echoCancel);
    EXPECT_FALSE(c->noiseSuppression);
    EXPECT_FALSE(c->autoGain);
    for (const char* key : {"echo_cancel", "noise_suppression", "auto_gain"}) {
        writeConfig(std::string("name = alice\nrelay = a:1\n") + key + " = maybe\n");
        auto bad = load();
        ASSERT_FALSE(bad.ok()) << key;
        EXPECT_NE(bad.status().detail().find(key), std::string::npos) << bad.status().detail();
    }
}

TEST_F(ADaemonConfig, RunsDevicesAt48kHzByDefaultOr44100OnRequest) {
    writeConfig("name = alice\nrelay = a:1\n");
    auto c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->sampleRate, 48000u);
    EXPECT_EQ(c->codecRate(), 48000u);
    writeConfig("name = alice\nrelay = a:1\nrate = 44100\n");
    c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->sampleRate, 44100u);
    EXPECT_EQ(c->codecRate(), 48000u); // Opus codes 48 kHz, resampled
    writeConfig("name = alice\nrelay = a:1\nrate = 44100\ncodec = pcm\n");
    c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    EXPECT_EQ(c->codecRate(), 44100u);
    // PCM at 44.1 kHz has only 10 ms frames.
    writeConfig("name = alice\nrelay = a:1\nrate = 44100\ncodec = pcm\nframe = 5ms\n");
    EXPECT_FALSE(load().ok());
    writeConfig("name = alice\nrelay = a:1\nrate = 32000\n");
    auto bad = load();
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().detail().find("rate"), std::string::npos) << bad.status().detail();
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

TEST_F(ADaemonConfig, FailsOnAMissingConfigFileNamedOnTheCommandLine) {
    const std::string missing = (dir_ / "nowhere" / "voiced.conf").string();
    for (auto args : {std::vector<std::string>{"--config", missing},
                      std::vector<std::string>{"--config", missing, "--name", "bob", "--relay",
                                               "127.0.0.1:9"}}) {
        auto c = load(args);
        ASSERT_FALSE(c.ok());
        EXPECT_EQ(c.status().code(), Errc::NotFound) << c.status().toString();
        EXPECT_NE(c.status().detail().find(missing), std::string::npos) << c.status().detail();
    }
    // The default file may be missing: a fresh install runs on --name/--relay.
    EXPECT_TRUE(load({"--name", "bob", "--relay", "127.0.0.1:9"}).ok());
}

TEST_F(ADaemonConfig, RefusesFrameAndCodecCombinationsACallWouldRefuse) {
    // voiced.conf(5): Opus frames are 10 or 20 ms; PCM frames at most 10 ms
    // (longer ones are cut) and a whole number of samples.
    for (const char* bad :
         {"frame = 15ms\n", "frame = 5ms\n", "frame = 60ms\n", "codec = pcm\nframe = 7.3ms\n"}) {
        writeConfig(std::string("name = alice\nrelay = a:1\n") + bad);
        auto c = load();
        ASSERT_FALSE(c.ok()) << bad;
        EXPECT_NE(c.status().detail().find("frame"), std::string::npos) << c.status().detail();
    }
    for (const char* good : {"frame = 10ms\n", "frame = 20ms\nbitrate = 6000\n",
                             "codec = pcm\nframe = 5ms\n", "codec = pcm\nframe = 20ms\n"}) {
        writeConfig(std::string("name = alice\nrelay = a:1\n") + good);
        auto c = load();
        EXPECT_TRUE(c.ok()) << good << c.status().toString();
    }
    // The codec from the command line counts too.
    writeConfig("name = alice\nrelay = a:1\nframe = 15ms\n");
    EXPECT_FALSE(load().ok());
    writeConfig("name = alice\nrelay = a:1\ncodec = pcm\nframe = 15ms\n");
    EXPECT_TRUE(load().ok());
    EXPECT_FALSE(load({"--codec", "opus"}).ok());
}

TEST_F(ADaemonConfig, SendsMediaToANumericMediaRelayWhenGiven) {
    writeConfig("name = alice\nrelay = a:1\n");
    auto plain = load();
    ASSERT_TRUE(plain.ok()) << plain.status().toString();
    EXPECT_FALSE(plain->mediaRelay.has_value());
    writeConfig("name = alice\nrelay = a:1\nmedia_relay = 127.0.0.1:5000\n");
    auto c = load();
    ASSERT_TRUE(c.ok()) << c.status().toString();
    ASSERT_TRUE(c->mediaRelay.has_value());
    EXPECT_EQ(c->mediaRelay->toString(), "127.0.0.1:5000");
    writeConfig("name = alice\nrelay = a:1\nmedia_relay = proxy.example:5000\n");
    auto named = load();
    ASSERT_FALSE(named.ok());
    EXPECT_NE(named.status().detail().find("media_relay"), std::string::npos)
        << named.status().toString();
    writeConfig("name = alice\nrelay = a:1\nmedia_relay = 127.0.0.1\n");
    EXPECT_FALSE(load().ok());
}

TEST_F(ADaemonConfig, PutsACallsAudioOnOneCpuUnlessToldOtherwise) {
    writeConfig("name = alice\nrelay = a:1\n");
    auto plain = load();
    ASSERT_TRUE(plain.ok()) << plain.status().toString();
    EXPECT_EQ(plain->audioCpu.mode, AudioCpuSetting::Mode::Auto);
    writeConfig("name = alice\nrelay = a:1\naudio_cpu = off\n");
    auto off = load();
    ASSERT_TRUE(off.ok()) << off.status().toString();
    EXPECT_EQ(off->audioCpu.mode, AudioCpuSetting::Mode::Off);
    writeConfig("name = alice\nrelay = a:1\naudio_cpu = 1\n");
    auto fixed = load();
    ASSERT_TRUE(fixed.ok()) << fixed.status().toString();
    EXPECT_EQ(fixed->audioCpu.mode, AudioCpuSetting::Mode::Fixed);
    EXPECT_EQ(fixed->audioCpu.cpu, 1);
    for (const char* bad : {"-1", "1024", "all", "0-1"}) {
        writeConfig(std::string("name = alice\nrelay = a:1\naudio_cpu = ") + bad + "\n");
        auto c = load();
        ASSERT_FALSE(c.ok()) << bad;
        EXPECT_NE(c.status().detail().find("audio_cpu"), std::string::npos)
            << c.status().toString();
    }
}

} // namespace
