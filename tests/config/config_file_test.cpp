// SPDX-License-Identifier: MIT
// ConfigFile: good files, bad files with file:line errors, typed getters and their limits.
#include "config/config_file.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace voice;
using namespace std::chrono_literals;

namespace {

ConfigFile parseOk(std::string_view text) {
    auto c = ConfigFile::parse(text, "test.conf");
    EXPECT_TRUE(c.ok()) << c.status().toString();
    return std::move(c).value();
}

// The error detail for text, which must fail to parse.
std::string parseError(std::string_view text) {
    auto c = ConfigFile::parse(text, "test.conf");
    EXPECT_FALSE(c.ok()) << "accepted: " << text;
    return c.ok() ? std::string() : c.status().detail();
}

constexpr std::string_view kSample = R"(# voiced.conf
name = alice
relay = relay.example.org:7000   # the default port

[audio]
capture = "default # not a comment"
frame = 20ms
jitter-max = 2s
channels = 1

[call]
auto-answer = no
cipher = aes-256-gcm
)";

} // namespace

TEST(AConfigFile, ParsesKeysSectionsCommentsAndQuotes) {
    const ConfigFile c = parseOk(kSample);
    EXPECT_EQ(c.keys(), (std::vector<std::string>{"name", "relay", "audio.capture", "audio.frame",
                                                  "audio.jitter-max", "audio.channels",
                                                  "call.auto-answer", "call.cipher"}));
    EXPECT_EQ(*c.getString("name"), "alice");
    EXPECT_EQ(*c.getString("audio.capture"), "default # not a comment");
    const HostPort relay = *c.getHostPort("relay");
    EXPECT_EQ(relay.host, "relay.example.org");
    EXPECT_EQ(relay.port, 7000);
    EXPECT_EQ(*c.getDuration("audio.frame", 1ms, 1s), 20ms);
    EXPECT_EQ(*c.getDuration("audio.jitter-max", 0ms, 10s), 2000ms);
    EXPECT_EQ(*c.getInt("audio.channels", 1, 2), 1);
    EXPECT_FALSE(*c.getBool("call.auto-answer"));
    EXPECT_EQ(*c.getChoice("call.cipher", {"aes-256-gcm", "aes-256-cbc-hmac-sha256"}),
              "aes-256-gcm");
    EXPECT_TRUE(c.checkKeys({"name", "relay", "audio.capture", "audio.frame", "audio.jitter-max",
                             "audio.channels", "call.auto-answer", "call.cipher"})
                    .ok());
}

TEST(AConfigFile, UsesFallbacksOnlyForMissingKeys) {
    const ConfigFile c = parseOk("port = banana\n");
    EXPECT_EQ(*c.getInt("other", 1, 10, 5), 5);
    EXPECT_EQ(*c.getString("other", "x"), "x");
    EXPECT_EQ(*c.getBool("other", true), true);
    EXPECT_EQ(*c.getDuration("other", 0ms, 1s, 100ms), 100ms);
    // Present but invalid is an error even with a fallback.
    auto port = c.getInt("port", 1, 65535, 7000);
    ASSERT_FALSE(port.ok());
    EXPECT_EQ(port.status().detail(), "test.conf:1: key 'port': expected an integer in 1..65535");
    auto required = c.getString("name");
    ASSERT_FALSE(required.ok());
    EXPECT_EQ(required.status().code(), Errc::NotFound);
    EXPECT_EQ(required.status().detail(), "test.conf: missing required key 'name'");
}

TEST(AConfigFile, AcceptsEmptyFilesAndCrlfLines) {
    EXPECT_TRUE(parseOk("").keys().empty());
    EXPECT_TRUE(parseOk("\n\n# only comments\n   \n").keys().empty());
    EXPECT_EQ(*parseOk("a = b\r\nc = d\r\n").getString("c"), "d");
    EXPECT_EQ(*parseOk("a =\n").getString("a"), "");
    EXPECT_EQ(*parseOk("a = \"\"\n").getString("a"), "");
    EXPECT_EQ(*parseOk("a = x#y\n").getString("a"), "x#y");
    EXPECT_EQ(*parseOk("a = \"q\\\"uote\\\\\"\n").getString("a"), "q\"uote\\");
    EXPECT_EQ(*parseOk("a = caf\xc3\xa9\n").getString("a"), "caf\xc3\xa9");
}

TEST(AConfigFile, RejectsBadSyntaxNamingFileAndLine) {
    EXPECT_EQ(parseError("a = 1\njust words\n"), "test.conf:2: expected 'key = value'");
    EXPECT_EQ(parseError("a = 1\n\na = 2\n"),
              "test.conf:3: duplicate key 'a' (first set on line 1)");
    EXPECT_NE(parseError("[sec\n").find("test.conf:1: section header"), std::string::npos);
    EXPECT_NE(parseError("[Sec]\n").find("test.conf:1:"), std::string::npos);
    EXPECT_NE(parseError("[]\n").find("test.conf:1:"), std::string::npos);
    EXPECT_NE(parseError("[a] b\n").find("test.conf:1:"), std::string::npos);
    EXPECT_NE(parseError("Name = x\n").find("bad key"), std::string::npos);
    EXPECT_NE(parseError("1a = x\n").find("bad key"), std::string::npos);
    EXPECT_NE(parseError("a b = x\n").find("bad key"), std::string::npos);
    EXPECT_NE(parseError("= x\n").find("bad key"), std::string::npos);
    EXPECT_NE(parseError("a = \"open\n").find("unterminated"), std::string::npos);
    EXPECT_NE(parseError("a = \"x\" y\n").find("after the closing quote"), std::string::npos);
    EXPECT_NE(parseError("a = \"\\n\"\n").find("escape"), std::string::npos);
    EXPECT_NE(parseError("a = x\"y\n").find("quote"), std::string::npos);
    EXPECT_NE(parseError("a = x\x01y\n").find("control character"), std::string::npos);
    EXPECT_NE(parseError(std::string("a = x\0y\n", 8)).find("control character"),
              std::string::npos);
    EXPECT_NE(parseError("a = \xff\n").find("invalid UTF-8"), std::string::npos);
    EXPECT_NE(parseError("a = \xc0\xaf\n").find("invalid UTF-8"), std::string::npos); // overlong
    EXPECT_NE(parseError("a = \xed\xa0\x80\n").find("invalid UTF-8"),
              std::string::npos);                                                     // surrogate
    EXPECT_NE(parseError("a = \xe2\x82\n").find("invalid UTF-8"), std::string::npos); // truncated
    // Section keys do not collide with top-level keys of the same name.
    const ConfigFile c = parseOk("a = 1\n[s]\na = 2\n[t]\na = 3\n");
    EXPECT_EQ(*c.getString("s.a"), "2");
    EXPECT_EQ(parseError("[s]\na = 1\n[s]\na = 2\n"),
              "test.conf:4: duplicate key 's.a' (first set on line 2)");
}

TEST(AConfigFile, EnforcesItsSizeLimits) {
    EXPECT_NE(parseError("a = " + std::string(ConfigFile::kMaxLineLength, 'x') + "\n")
                  .find("test.conf:1: line longer"),
              std::string::npos);
    EXPECT_NE(parseError(std::string(ConfigFile::kMaxFileBytes + 1, '\n')).find("larger"),
              std::string::npos);
    std::string many;
    for (size_t i = 0; i <= ConfigFile::kMaxEntries; ++i) {
        many += "k" + std::to_string(i) + " = 1\n";
    }
    EXPECT_NE(parseError(many).find("more than"), std::string::npos);
    EXPECT_NE(parseError(std::string(65, 'k') + " = 1\n").find("bad key"), std::string::npos);
    EXPECT_TRUE(ConfigFile::parse(std::string(64, 'k') + " = 1\n", "t").ok());
}

TEST(AConfigFile, RejectsUnknownKeys) {
    const ConfigFile c = parseOk("name = a\nrelya = x:1\n");
    Status s = c.checkKeys({"name", "relay"});
    EXPECT_EQ(s.detail(), "test.conf:2: unknown key 'relya'");
}

TEST(AConfigFile, ValidatesTypedValues) {
    const ConfigFile c = parseOk(R"(
b1 = yes
b2 = maybe
i1 = -42
i2 = 99999999999999999999
i3 = 0x10
i4 = +5
i5 =
d1 = 1500ms
d2 = 1min
d3 = 2
d4 = 1.5s
d5 = 0
d6 = 1h
d7 = 9999999999s
h1 = [::1]:7000
h2 = ::1:7000
h3 = relay:0
c1 = chacha
s1 = abcdef
)");
    EXPECT_TRUE(*c.getBool("b1"));
    EXPECT_FALSE(c.getBool("b2").ok());
    EXPECT_EQ(*c.getInt("i1", -100, 100), -42);
    EXPECT_FALSE(c.getInt("i1", 0, 100).ok());
    EXPECT_FALSE(c.getInt("i2", INT64_MIN, INT64_MAX).ok());
    EXPECT_FALSE(c.getInt("i3", 0, 100).ok());
    EXPECT_FALSE(c.getInt("i4", 0, 100).ok());
    EXPECT_FALSE(c.getInt("i5", 0, 100).ok());
    EXPECT_EQ(*c.getDuration("d1", 0ms, 10s), 1500ms);
    EXPECT_EQ(*c.getDuration("d2", 0ms, 10min), 60000ms);
    EXPECT_FALSE(c.getDuration("d3", 0ms, 10s).ok()); // unit required
    EXPECT_FALSE(c.getDuration("d4", 0ms, 10s).ok());
    EXPECT_EQ(*c.getDuration("d5", 0ms, 10s), 0ms);
    EXPECT_FALSE(c.getDuration("d6", 0ms, 10s).ok()); // out of range
    EXPECT_FALSE(c.getDuration("d7", 0ms, std::chrono::milliseconds::max()).ok());
    EXPECT_EQ(c.getHostPort("h1")->host, "::1");
    EXPECT_FALSE(c.getHostPort("h2").ok());
    EXPECT_FALSE(c.getHostPort("h3").ok());
    auto choice = c.getChoice("c1", {"aes-256-gcm", "aes-256-cbc-hmac-sha256"});
    ASSERT_FALSE(choice.ok());
    EXPECT_NE(choice.status().detail().find("aes-256-gcm, aes-256-cbc-hmac-sha256"),
              std::string::npos);
    EXPECT_FALSE(c.getString("s1", std::nullopt, 3).ok());
}

TEST(AConfigFile, LoadsFromDiskAndReportsAMissingFile) {
    char tmpl[] = "/tmp/voice-config-test.XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string path = dir + "/voiced.conf";
    auto missing = ConfigFile::load(path);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), Errc::NotFound);
    { std::ofstream(path) << "name = bob\nbroken\n"; }
    auto bad = ConfigFile::load(path);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().detail(), path + ":2: expected 'key = value'");
    { std::ofstream(path) << "name = bob\n"; }
    auto good = ConfigFile::load(path);
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good->getString("name"), "bob");
    EXPECT_EQ(good->name(), path);
    std::filesystem::remove_all(dir);
}
