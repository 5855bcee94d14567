// SPDX-License-Identifier: MIT
// Tests of the D-Bus layer from the wire: arguments of the wrong type, bad
// names, methods that do not apply, read-only properties and busctl, sent
// straight at the real DBusService adaptor (fixture in voice_service_fixture.h);
// and voicectl without a daemon.
#include "voice_service_fixture.h"

namespace voice::test {
namespace {

// ---- bad input straight at the adaptor -------------------------------------

class AVoiceServiceOnTheWire : public AVoiceService {
protected:
    void SetUp() override {
        AVoiceService::SetUp();
        client_ = sdbus::createSessionBusConnection();
        proxy_ = sdbus::createProxy(*client_, DBusService::kBusName, DBusService::kObjectPath);
    }
    void TearDown() override {
        proxy_.reset();
        client_.reset();
        AVoiceService::TearDown();
    }

    /// The D-Bus error name a call produced ("" when it succeeded).
    std::string errorOf(const std::function<void()>& call) {
        try {
            call();
        } catch (const sdbus::Error& e) {
            lastMessage_ = e.getMessage();
            return e.getName();
        }
        return "";
    }

    std::unique_ptr<sdbus::IConnection> client_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    std::string lastMessage_;
    static constexpr const char* kIface = "org.voiced.Voice1";
    static constexpr const char* kInvalidArgument = "org.voiced.Voice1.Error.InvalidArgument";
    static constexpr const char* kInvalidState = "org.voiced.Voice1.Error.InvalidState";
    static constexpr const char* kWrongType = "org.freedesktop.DBus.Error.InvalidArgs";
};

TEST_F(AVoiceServiceOnTheWire, RefusesArgumentsOfTheWrongType) {
    EXPECT_EQ(errorOf([&] { proxy_->callMethod("Call").onInterface(kIface).withArguments(42); }),
              kWrongType);
    EXPECT_EQ(errorOf([&] { proxy_->callMethod("Call").onInterface(kIface); }), kWrongType);
    EXPECT_EQ(errorOf([&] {
                  proxy_->callMethod("Call").onInterface(kIface).withArguments(std::string("bob"),
                                                                               std::string("x"));
              }),
              kWrongType);
    EXPECT_EQ(
        errorOf([&] {
            proxy_->callMethod("SetMuted").onInterface(kIface).withArguments(std::string("yes"));
        }),
        kWrongType);
    EXPECT_EQ(errorOf([&] {
                  proxy_->callMethod("Trust").onInterface(kIface).withArguments(std::string("bob"),
                                                                                true);
              }),
              kWrongType);
    EXPECT_EQ(errorOf([&] { proxy_->callMethod("Answer").onInterface(kIface).withArguments(1u); }),
              kWrongType);
    EXPECT_EQ(onControl([this] { return control_.log.size(); }), 0u)
        << "nothing of the wrong type reaches CallControl";
}

TEST_F(AVoiceServiceOnTheWire, RefusesInvalidAndOverlongNamesAsInvalidArgument) {
    for (const std::string& bad :
         {std::string(), std::string("Bob"), std::string("bob smith"), std::string("bob\n"),
          std::string("b\xc3\xa9"), std::string(33, 'b'), std::string(100000, 'b')}) {
        EXPECT_EQ(
            errorOf([&] { proxy_->callMethod("Call").onInterface(kIface).withArguments(bad); }),
            kInvalidArgument)
            << bad.size();
        EXPECT_LT(lastMessage_.size(), 200u) << "the error message is bounded";
        EXPECT_EQ(errorOf([&] {
                      proxy_->callMethod("Trust").onInterface(kIface).withArguments(bad,
                                                                                    std::string());
                  }),
                  kInvalidArgument);
    }
    for (const std::string& bad : {std::string("xyz"), std::string(31, 'a'), std::string(33, 'a'),
                                   std::string(32, 'a') + "\n", std::string(100000, 'a')}) {
        EXPECT_EQ(errorOf([&] {
                      proxy_->callMethod("Trust").onInterface(kIface).withArguments(
                          std::string("bob"), bad);
                  }),
                  kInvalidArgument);
        EXPECT_LT(lastMessage_.size(), 200u);
    }
    EXPECT_EQ(onControl([this] { return control_.log.size(); }), 0u);
}

TEST_F(AVoiceServiceOnTheWire, RefusesMethodsThatDoNotApplyAsInvalidState) {
    EXPECT_EQ(errorOf([&] { proxy_->callMethod("Answer").onInterface(kIface); }), kInvalidState);
    EXPECT_EQ(errorOf([&] { proxy_->callMethod("Reject").onInterface(kIface); }), kInvalidState);
    EXPECT_EQ(errorOf([&] { proxy_->callMethod("Hangup").onInterface(kIface); }), kInvalidState);
    EXPECT_EQ(errorOf([&] {
                  proxy_->callMethod("Call").onInterface(kIface).withArguments(std::string("bob"));
              }),
              "");
    EXPECT_EQ(errorOf([&] {
                  proxy_->callMethod("Call").onInterface(kIface).withArguments(std::string("bob"));
              }),
              kInvalidState);
    EXPECT_EQ(errorOf([&] { proxy_->callMethod("Answer").onInterface(kIface); }), kInvalidState);
}

TEST_F(AVoiceServiceOnTheWire, ContainsExceptionsFromTheDaemonAsFailed) {
    onControl([this] { control_.throwOnCall = true; });
    EXPECT_EQ(errorOf([&] {
                  proxy_->callMethod("Call").onInterface(kIface).withArguments(std::string("bob"));
              }),
              "org.voiced.Voice1.Error.Failed");
    // ... and voicectl maps it to the generic exit code.
    const CtlRun r = voicectl({"call", "bob"});
    EXPECT_EQ(r.code, 1);
    expectOneErrorLine(r);
}

TEST_F(AVoiceServiceOnTheWire, StaysAliveAfterBadInput) {
    for (int i = 0; i < 20; ++i) {
        (void)errorOf([&] { proxy_->callMethod("Call").onInterface(kIface).withArguments(i); });
        (void)errorOf([&] {
            proxy_->callMethod("Call").onInterface(kIface).withArguments(std::string(5000, 'X'));
        });
        (void)errorOf([&] { proxy_->callMethod("NoSuchMethod").onInterface(kIface); });
    }
    std::map<std::string, sdbus::Variant> status;
    proxy_->callMethod("Status").onInterface(kIface).storeResultsTo(status);
    EXPECT_EQ(status.at("state").get<std::string>(), "idle");
    const std::string state = proxy_->getProperty("State").onInterface(kIface);
    EXPECT_EQ(state, "idle");
    std::string name;
    std::string fingerprint;
    proxy_->callMethod("Whoami").onInterface(kIface).storeResultsTo(name, fingerprint);
    EXPECT_EQ(name, "alice");
}

TEST_F(AVoiceServiceOnTheWire, RefusesWritingReadOnlyProperties) {
    const std::string error = errorOf(
        [&] { proxy_->setProperty("State").onInterface(kIface).toValue(std::string("in-call")); });
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(state(), CallState::Idle);
}

TEST_F(AVoiceServiceOnTheWire, AnswersBusctlWithWrongTypesWithANamedError) {
    // The same through a different client library (sd-bus's busctl).
    const char* argv[] = {
        "busctl", "--user", "call", DBusService::kBusName, DBusService::kObjectPath, kIface, "Call",
        "i",      "5",      nullptr};
    int err[2];
    ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(err[1], 2);
        ::execvp("busctl", const_cast<char**>(argv));
        ::_exit(127);
    }
    ::close(err[1]);
    std::string text;
    char buf[512];
    for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) > 0;) {
        text.append(buf, static_cast<size_t>(n));
    }
    ::close(err[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 127) << "busctl not found";
    EXPECT_NE(WEXITSTATUS(status), 0);
    EXPECT_FALSE(text.empty());
    // Still serving.
    EXPECT_EQ(voicectl({"status"}).code, 0);
}

// ---- no daemon --------------------------------------------------------------

TEST(VoicectlWithoutADaemon, ExitsWithCode3AndOneLine) {
    ASSERT_FALSE(voicectlPath().empty());
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"status"}, {"call", "bob"}, {"monitor"}, {"hangup"}, {"whoami", "--json"}}) {
        const CtlRun r = voicectl(args);
        EXPECT_EQ(r.code, 3) << args[0] << ": " << r.err;
        expectOneErrorLine(r);
        EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;
    }
}

TEST(VoicectlWithoutADaemon, ExitsWithCode3WithoutASessionBus) {
    const CtlRun r = voicectl({"status"}, {"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus",
                                           "XDG_RUNTIME_DIR=/nonexistent"});
    EXPECT_EQ(r.code, 3) << r.err;
    expectOneErrorLine(r);
}

} // namespace
} // namespace voice::test
