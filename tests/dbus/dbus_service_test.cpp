// SPDX-License-Identifier: MIT
// Tests of the D-Bus layer: the real DBusService adaptor and the real voicectl binary on a private
// bus.
//
// This is a unit test of the D-Bus layer, not of voiced: the adaptor serves a
// ScriptedCallControl double (a real CallStateMachine plus a script of
// refusals and outcomes) instead of the daemon's network and audio. The
// whole binary runs under `dbus-run-session` (tests/meson.build), so the bus
// is private; voicectl is the built binary, found through $VOICECTL.
#include "bus_thread.h"
#include "dbus_service.h"
#include "scripted_call_control.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using voice::CallError;
using voice::CallHistory;
using voice::CallResult;
using voice::CallState;
using voice::DBusService;
using voice::EndReason;
using voice::HistoryEntry;
using voice::PeerStore;
using voice::test::BusThread;
using voice::test::ScriptedCallControl;

// Generous: the machine is shared and slow under sanitizers. Nothing here
// asserts a duration; deadlines only stop a broken test from hanging.
constexpr auto kDeadline = 30s;

std::string voicectlPath() {
    const char* path = std::getenv("VOICECTL");
    return path ? path : "";
}

bool waitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds deadline = kDeadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return condition();
}

/// A voicectl process with its stdout and stderr captured.
class Voicectl {
public:
    explicit Voicectl(const std::vector<std::string>& args,
                      const std::vector<std::string>& extraEnv = {}) {
        const std::string path = voicectlPath();
        std::vector<std::string> argStore{path};
        argStore.insert(argStore.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argStore) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        // The environment is built before fork: the child only dup2s and execs.
        std::vector<std::string> envStore;
        for (char** e = environ; *e; ++e) {
            const std::string entry = *e;
            bool overridden = false;
            for (const auto& x : extraEnv) {
                if (entry.substr(0, entry.find('=') + 1) == x.substr(0, x.find('=') + 1)) {
                    overridden = true;
                }
            }
            if (!overridden) {
                envStore.push_back(entry);
            }
        }
        envStore.insert(envStore.end(), extraEnv.begin(), extraEnv.end());
        std::vector<char*> envp;
        for (auto& e : envStore) {
            envp.push_back(e.data());
        }
        envp.push_back(nullptr);

        int outPipe[2];
        int errPipe[2];
        if (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) {
            ADD_FAILURE() << "pipe: " << std::strerror(errno);
            return;
        }
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(outPipe[1], 1);
            ::dup2(errPipe[1], 2);
            ::execve(path.c_str(), argv.data(), envp.data());
            ::_exit(127);
        }
        ::close(outPipe[1]);
        ::close(errPipe[1]);
        out_ = outPipe[0];
        err_ = errPipe[0];
    }

    ~Voicectl() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) {
            ::close(out_);
        }
        if (err_ >= 0) {
            ::close(err_);
        }
    }

    Voicectl(const Voicectl&) = delete;
    Voicectl& operator=(const Voicectl&) = delete;

    bool running() {
        reap(false);
        return !exited_;
    }

    /// Reads until the process exits (or the deadline kills it); its exit code.
    int wait() {
        const auto end = std::chrono::steady_clock::now() + kDeadline;
        while (out_ >= 0 || err_ >= 0) {
            if (std::chrono::steady_clock::now() > end) {
                ADD_FAILURE() << "voicectl did not finish; killing it";
                ::kill(pid_, SIGKILL);
                break;
            }
            pump(100);
        }
        reap(true);
        return code_;
    }

    /// Waits for a full line on stdout containing needle; false at the deadline.
    bool waitForOutput(const std::string& needle) {
        const auto end = std::chrono::steady_clock::now() + kDeadline;
        while (out.find(needle) == std::string::npos) {
            if (std::chrono::steady_clock::now() > end || (out_ < 0 && err_ < 0)) {
                return false;
            }
            pump(100);
        }
        return true;
    }

    void signal(int sig) { ::kill(pid_, sig); }

    std::string out;
    std::string err;

private:
    void pump(int timeoutMs) {
        pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
        ::poll(fds, 2, timeoutMs);
        drain(fds[0], out_, out);
        drain(fds[1], err_, err);
    }
    static void drain(const pollfd& p, int& fd, std::string& into) {
        if (fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) {
            return;
        }
        char buf[4096];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            into.append(buf, static_cast<size_t>(n));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            ::close(fd);
            fd = -1;
        }
    }
    void reap(bool block) {
        if (exited_ || pid_ <= 0) {
            return;
        }
        int status = 0;
        if (::waitpid(pid_, &status, block ? 0 : WNOHANG) == pid_) {
            exited_ = true;
            code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }

    pid_t pid_ = -1;
    int out_ = -1;
    int err_ = -1;
    bool exited_ = false;
    int code_ = -1;
};

struct CtlRun {
    int code;
    std::string out;
    std::string err;
};

CtlRun voicectl(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    Voicectl p(args, env);
    const int code = p.wait();
    return {code, p.out, p.err};
}

/// Errors are exactly one line on stderr, prefixed with the program name.
void expectOneErrorLine(const CtlRun& r) {
    EXPECT_EQ(r.err.rfind("voicectl: ", 0), 0u) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
}

Json parseJson(const std::string& text) {
    Json j = Json::parse(text, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << text;
    return j;
}

// ---------------------------------------------------------------------------

class AVoiceService : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(voicectlPath().empty()) << "VOICECTL is not set";
        ASSERT_NE(std::getenv("DBUS_SESSION_BUS_ADDRESS"), nullptr) << "run under dbus-run-session";
        bus_ = std::make_unique<BusThread>();
        bus_->runSync([this] {
            control_.later = [this](std::function<void()> task) { bus_->post(std::move(task)); };
            control_.machine.setRegistered(true);
            service_ = std::make_unique<DBusService>(bus_->connection(), control_);
            control_.service = service_.get();
            bus_->connection().requestName(DBusService::kBusName);
        });
    }

    void TearDown() override {
        bus_->runSync([this] {
            control_.service = nullptr;
            service_.reset();
            bus_->connection().releaseName(DBusService::kBusName);
        });
        bus_.reset();
    }

    /// Runs fn on the control thread (where the service and control live).
    template <typename F>
    auto onControl(F fn) {
        using R = decltype(fn());
        if constexpr (std::is_void_v<R>) {
            bus_->runSync(fn);
        } else {
            std::optional<R> result;
            bus_->runSync([&] { result = fn(); });
            return *result;
        }
    }

    CallState state() {
        return onControl([this] { return control_.machine.state(); });
    }

    std::unique_ptr<BusThread> bus_;
    ScriptedCallControl control_;
    std::unique_ptr<DBusService> service_;
};

// ---- voicectl call --------------------------------------------------------

TEST_F(AVoiceService, VoicectlCallWaitsUntilThePeerAnswers) {
    Voicectl call({"--json", "call", "bob"});
    ASSERT_TRUE(waitUntil([&] { return state() == CallState::Calling; }));
    // Still waiting while the peer has not answered.
    EXPECT_TRUE(call.running());
    onControl([this] { control_.peerAnswers(); });
    ASSERT_EQ(call.wait(), 0) << call.err;
    const Json j = parseJson(call.out);
    EXPECT_EQ(j["peer"], "bob");
    EXPECT_EQ(j["state"], "in-call");
    EXPECT_TRUE(call.err.empty()) << call.err;
}

TEST_F(AVoiceService, VoicectlCallPrintsWhatHappenedInPlainText) {
    Voicectl call({"call", "bob"});
    ASSERT_TRUE(waitUntil([&] { return state() == CallState::Calling; }));
    onControl([this] { control_.peerAnswers(); });
    ASSERT_EQ(call.wait(), 0);
    EXPECT_EQ(call.out, "in call with bob\n");
}

TEST_F(AVoiceService, VoicectlCallWithNoWaitReturnsWhileCalling) {
    const CtlRun r = voicectl({"call", "--no-wait", "bob"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "calling bob\n");
    EXPECT_EQ(state(), CallState::Calling);
}

TEST_F(AVoiceService, VoicectlCallExitsWithTheCodeOfEachRefusal) {
    struct Case {
        std::string peer;
        CallError error;
        int code;
        const char* kind;
    } cases[] = {
        {"busy-bob", CallError::Busy, 4, "busy"},
        {"off-bob", CallError::Offline, 5, "offline"},
        {"no-bob", CallError::Declined, 6, "declined"},
        {"slow-bob", CallError::Timeout, 7, "timeout"},
        {"evil-bob", CallError::Untrusted, 8, "untrusted"},
        {"weird-bob", CallError::Failed, 1, "error"},
        {"fast-bob", CallError::RateLimited, 11, "rate-limited"},
    };
    for (const auto& c : cases) {
        onControl([&] { control_.refuseCall[c.peer] = CallResult(c.error, "scripted refusal"); });
        const CtlRun r = voicectl({"call", "--json", c.peer});
        EXPECT_EQ(r.code, c.code) << c.peer << ": " << r.err;
        expectOneErrorLine(r);
        const Json j = parseJson(r.out);
        EXPECT_EQ(j["error"], c.kind) << c.peer;
        EXPECT_EQ(state(), CallState::Idle);
    }
}

TEST_F(AVoiceService, VoicectlCallExitsNotRegisteredWithoutARelay) {
    onControl([this] { control_.setRegistered(false); });
    const CtlRun r = voicectl({"call", "bob"});
    EXPECT_EQ(r.code, 9) << r.err;
    expectOneErrorLine(r);
    EXPECT_NE(r.err.find("not registered"), std::string::npos) << r.err;
}

TEST_F(AVoiceService, VoicectlCallExitsBusyWhileWeAreInACall) {
    // voicectl(1) and `voicectl --help`: 4 is busy, the peer or we are in a call.
    onControl([this] { control_.ring("carol", "", ""); });
    const CtlRun r = voicectl({"call", "bob"});
    EXPECT_EQ(r.code, 4) << r.err;
    expectOneErrorLine(r);
    EXPECT_NE(r.err.find("busy: we are already in a call"), std::string::npos) << r.err;
    const CtlRun j = voicectl({"call", "--json", "bob"});
    EXPECT_EQ(j.code, 4) << j.err;
    EXPECT_EQ(parseJson(j.out)["error"], "busy");
    EXPECT_EQ(state(), CallState::Ringing) << "the ringing call must be left alone";
    const CtlRun help = voicectl({"--help"});
    EXPECT_NE(help.out.find("4    busy (the peer or we are already in a call)"), std::string::npos)
        << help.out;
}

TEST_F(AVoiceService, VoicectlCallExitsWithTheCodeOfEachWayTheCallEnds) {
    struct Case {
        std::string peer;
        EndReason reason;
        int code;
    } cases[] = {
        {"a-busy", EndReason::Busy, 4},           {"a-offline", EndReason::Offline, 5},
        {"a-declined", EndReason::Declined, 6},   {"a-timeout", EndReason::Timeout, 7},
        {"a-untrusted", EndReason::Untrusted, 8}, {"a-lost", EndReason::PeerLost, 1},
        {"a-error", EndReason::Error, 1},
    };
    for (const auto& c : cases) {
        onControl([&] { control_.endAfterCall[c.peer] = c.reason; });
        const CtlRun r = voicectl({"call", c.peer});
        EXPECT_EQ(r.code, c.code) << c.peer << ": " << r.err;
        expectOneErrorLine(r);
        EXPECT_NE(r.err.find(c.peer), std::string::npos) << r.err;
        EXPECT_EQ(state(), CallState::Idle);
    }
}

TEST_F(AVoiceService, VoicectlCallSaysWhenThePeersCrossingCallRingsInstead) {
    onControl([&] { control_.glareAfterCall["bob"] = true; });
    const CtlRun r = voicectl({"call", "bob"});
    EXPECT_EQ(r.code, 4) << r.err;
    expectOneErrorLine(r);
    EXPECT_NE(r.err.find("bob called you at the same moment"), std::string::npos) << r.err;
    EXPECT_EQ(state(), CallState::Ringing);
}

TEST_F(AVoiceService, VoicectlCallGivesUpAfterItsTimeoutAndHangsUp) {
    const CtlRun r = voicectl({"call", "--timeout", "0.3", "--json", "bob"});
    EXPECT_EQ(r.code, 7) << r.err;
    expectOneErrorLine(r);
    EXPECT_EQ(parseJson(r.out)["error"], "timeout");
    ASSERT_TRUE(waitUntil([&] { return state() == CallState::Idle; }));
    EXPECT_EQ(onControl([this] { return control_.log.back(); }), "hangup");
}

TEST_F(AVoiceService, VoicectlCallInterruptedHangsUpTheAttempt) {
    Voicectl call({"call", "bob"});
    ASSERT_TRUE(waitUntil([&] { return state() == CallState::Calling; }));
    call.signal(SIGINT);
    EXPECT_EQ(call.wait(), 130);
    EXPECT_EQ(state(), CallState::Idle);
}

// ---- other commands -------------------------------------------------------

TEST_F(AVoiceService, VoicectlAnswersAndHangsUpARingingCall) {
    onControl([this] { control_.ring("carol", "", ""); });
    CtlRun r = voicectl({"answer"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(state(), CallState::InCall);
    r = voicectl({"hangup", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(parseJson(r.out)["ok"], true);
    EXPECT_EQ(state(), CallState::Idle);
}

TEST_F(AVoiceService, VoicectlRejectsARingingCall) {
    onControl([this] { control_.ring("carol", "", ""); });
    const CtlRun r = voicectl({"reject"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(state(), CallState::Idle);
}

TEST_F(AVoiceService, VoicectlExitsInvalidStateWithNothingToAnswer) {
    for (const char* command : {"answer", "reject", "hangup"}) {
        const CtlRun r = voicectl({command});
        EXPECT_EQ(r.code, 10) << command << ": " << r.err;
        expectOneErrorLine(r);
    }
}

TEST_F(AVoiceService, VoicectlStatusJsonShowsTheCallAndItsStats) {
    onControl([this] {
        voice::CallStats stats;
        stats.latencyMs = 42.5;
        stats.jitterMs = 3.25;
        stats.lossPercent = 1.5;
        stats.concealedFrames = 7;
        stats.concealedQuietFrames = 3;
        stats.recorderPriority = 20;
        stats.schedRtkit = true;
        stats.codec = "opus";
        stats.cipher = "aes-256-gcm";
        stats.durationS = 12;
        stats.latencyP50Ms = 42.5;
        stats.latencyP99Ms = 61.5;
        stats.packetsRejected = 3;
        control_.setStats(stats);
        control_.ring("carol", "", "042917");
        (void)control_.answer();
    });
    const CtlRun r = voicectl({"status", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const Json j = parseJson(r.out);
    EXPECT_EQ(j["state"], "in-call");
    EXPECT_EQ(j["peer"], "carol");
    EXPECT_EQ(j["registered"], true);
    EXPECT_EQ(j["muted"], false);
    EXPECT_EQ(j["name"], "alice");
    EXPECT_EQ(j["fingerprint"], "0123 4567 89ab cdef 0123 4567 89ab cdef");
    EXPECT_DOUBLE_EQ(j["stats"]["latency_ms"].get<double>(), 42.5);
    EXPECT_DOUBLE_EQ(j["stats"]["jitter_ms"].get<double>(), 3.25);
    EXPECT_DOUBLE_EQ(j["stats"]["loss_percent"].get<double>(), 1.5);
    EXPECT_EQ(j["stats"]["concealed_frames"], 7);
    EXPECT_EQ(j["stats"]["concealed_quiet_frames"], 3);
    EXPECT_EQ(j["stats"]["sched_recorder"], 20);
    EXPECT_EQ(j["stats"]["sched_rtkit"], true);
    EXPECT_EQ(j["stats"]["codec"], "opus");
    EXPECT_EQ(j["stats"]["cipher"], "aes-256-gcm");
    EXPECT_EQ(j["stats"]["duration_s"], 12);
    EXPECT_DOUBLE_EQ(j["stats"]["latency_p50_ms"].get<double>(), 42.5);
    EXPECT_DOUBLE_EQ(j["stats"]["latency_p99_ms"].get<double>(), 61.5);
    EXPECT_EQ(j["stats"]["packets_rejected"], 3);
    EXPECT_EQ(j["sas"], "042917");

    const CtlRun text = voicectl({"status"});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("state:       in-call"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("latency:     42.5 ms"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("latency p99: 61.5 ms"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("code:        042917"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("recorder=rtkit:20"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("of them quiet: 3 frames"), std::string::npos) << text.out;
}

TEST_F(AVoiceService, VoicectlStatusSaysWhyRegistrationStopped) {
    onControl([this] {
        control_.registration = "refused";
        control_.registrationDetail =
            "name taken ('alice' is registered with another identity key)";
        control_.setRegistered(false);
    });
    const CtlRun text = voicectl({"status"});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("registration refused: name taken ('alice' is registered with another "
                            "identity key)\n"),
              std::string::npos)
        << text.out;
    const CtlRun r = voicectl({"status", "--json"});
    const Json j = parseJson(r.out);
    EXPECT_EQ(j["registered"], false);
    EXPECT_EQ(j["registration"], "refused");
    EXPECT_EQ(j["registration_detail"],
              "name taken ('alice' is registered with another identity key)");
}

TEST_F(AVoiceService, VoicectlRegisterAsksTheDaemonAndWaitsForTheOutcome) {
    onControl([this] {
        control_.registration = "replaced";
        control_.registrationDetail = "another device registered as alice with the same key";
        control_.refuseRegister = true;
        control_.setRegistered(false);
    });
    CtlRun r = voicectl({"register"});
    EXPECT_EQ(r.code, 9) << r.err;
    expectOneErrorLine(r);
    EXPECT_NE(r.err.find("replaced: another device"), std::string::npos) << r.err;
    onControl([this] { control_.refuseRegister = false; });
    r = voicectl({"--json", "register"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(parseJson(r.out)["registration"], "registered");
    EXPECT_EQ(onControl([this] { return control_.log; }),
              (std::vector<std::string>{"register", "register"}));
}

TEST_F(AVoiceService, VoicectlStatusShowsNoStatsWhenIdle) {
    const CtlRun r = voicectl({"--json", "status"});
    ASSERT_EQ(r.code, 0) << r.err;
    const Json j = parseJson(r.out);
    EXPECT_EQ(j["state"], "idle");
    EXPECT_TRUE(j["stats"].is_object());
    EXPECT_TRUE(j["stats"].empty());
    EXPECT_EQ(j["sas"], "");
}

TEST_F(AVoiceService, VoicectlMonitorPrintsSignalsAsTheyHappen) {
    Voicectl monitor({"monitor", "--json"});
    // The first line comes once monitor is subscribed.
    ASSERT_TRUE(monitor.waitForOutput("\n")) << monitor.err;
    EXPECT_EQ(parseJson(monitor.out.substr(0, monitor.out.find('\n')))["state"], "idle");

    onControl(
        [this] { control_.ring("carol", "0123 4567 89ab cdef 0123 4567 89ab cdef", "4711"); });
    ASSERT_TRUE(monitor.waitForOutput("incoming-call")) << monitor.out;
    onControl([this] { (void)control_.setMuted(true); });
    ASSERT_TRUE(monitor.waitForOutput("\"Muted\":true")) << monitor.out;
    onControl([this] { (void)control_.reject(); });
    ASSERT_TRUE(monitor.waitForOutput("call-ended")) << monitor.out;
    // CallEnded comes before the StateChanged("idle") that follows it.
    ASSERT_TRUE(
        monitor.waitForOutput("call-ended\",\"peer\":\"carol\",\"reason\":\"declined\"}\n"
                              "{\"event\":\"state-changed\",\"peer\":\"\",\"state\":\"idle\"}"))
        << monitor.out;
    monitor.signal(SIGINT);
    EXPECT_EQ(monitor.wait(), 0) << monitor.err;

    // Every line is one JSON object; check the interesting ones.
    std::vector<Json> events;
    size_t start = 0;
    for (size_t nl; (nl = monitor.out.find('\n', start)) != std::string::npos; start = nl + 1) {
        events.push_back(parseJson(monitor.out.substr(start, nl - start)));
    }
    bool sawIncoming = false;
    bool sawRinging = false;
    bool sawEnded = false;
    for (const auto& e : events) {
        if (e["event"] == "incoming-call") {
            sawIncoming = true;
            EXPECT_EQ(e["peer"], "carol");
            EXPECT_EQ(e["fingerprint"], "0123 4567 89ab cdef 0123 4567 89ab cdef");
            EXPECT_EQ(e["sas"], "4711");
        }
        if (e["event"] == "state-changed" && e["state"] == "ringing") {
            sawRinging = true;
            EXPECT_EQ(e["peer"], "carol");
        }
        if (e["event"] == "call-ended") {
            sawEnded = true;
            EXPECT_EQ(e["peer"], "carol");
            EXPECT_EQ(e["reason"], "declined");
        }
    }
    EXPECT_TRUE(sawIncoming && sawRinging && sawEnded) << monitor.out;
}

TEST_F(AVoiceService, VoicectlMonitorPrintsPlainTextToo) {
    Voicectl monitor({"monitor"});
    ASSERT_TRUE(monitor.waitForOutput("state: idle\n")) << monitor.err;
    onControl(
        [this] { control_.ring("carol", "0123 4567 89ab cdef 0123 4567 89ab cdef", "4711"); });
    ASSERT_TRUE(monitor.waitForOutput("incoming call from carol")) << monitor.out;
    monitor.signal(SIGTERM);
    EXPECT_EQ(monitor.wait(), 0);
}

TEST_F(AVoiceService, VoicectlMonitorExitsWhenTheDaemonLeaves) {
    Voicectl monitor({"monitor"});
    ASSERT_TRUE(monitor.waitForOutput("\n")) << monitor.err;
    onControl([this] { bus_->connection().releaseName(DBusService::kBusName); });
    EXPECT_EQ(monitor.wait(), 3);
    bus_->runSync([this] { bus_->connection().requestName(DBusService::kBusName); });
}

TEST_F(AVoiceService, VoicectlMutesAndUnmutes) {
    EXPECT_EQ(voicectl({"mute"}).code, 0);
    EXPECT_TRUE(onControl([this] { return control_.muted; }));
    const CtlRun r = voicectl({"unmute", "--json"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(parseJson(r.out)["muted"], false);
    EXPECT_FALSE(onControl([this] { return control_.muted; }));
}

TEST_F(AVoiceService, VoicectlWhoamiPrintsNameAndFingerprint) {
    onControl([this] { control_.name = "al\"ice"; });
    const CtlRun r = voicectl({"whoami", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const Json j = parseJson(r.out);
    EXPECT_EQ(j["name"], "al\"ice") << "JSON strings are escaped";
    EXPECT_EQ(j["fingerprint"], "0123 4567 89ab cdef 0123 4567 89ab cdef");
    const CtlRun text = voicectl({"whoami"});
    EXPECT_NE(text.out.find("fingerprint: 0123 4567"), std::string::npos) << text.out;
}

TEST_F(AVoiceService, VoicectlTrustPassesANormalisedFingerprint) {
    CtlRun r = voicectl({"trust", "bob", "AB12:CD34:EF56:7890:0011:2233:4455:6677"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(onControl([this] { return control_.log.back(); }),
              "trust bob ab12 cd34 ef56 7890 0011 2233 4455 6677");
    r = voicectl({"trust", "bob"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(onControl([this] { return control_.log.back(); }), "trust bob ");
    r = voicectl({"trust", "stranger"});
    EXPECT_EQ(r.code, 10) << r.err;
    expectOneErrorLine(r);
    const auto calls = onControl([this] { return control_.log.size(); });
    r = voicectl({"trust", "bob", "not-a-fingerprint"});
    EXPECT_EQ(r.code, 2);
    expectOneErrorLine(r);
    EXPECT_EQ(onControl([this] { return control_.log.size(); }), calls)
        << "a bad fingerprint never reaches the daemon";
}

TEST_F(AVoiceService, VoicectlRefusesBadUsageWithExitCode2) {
    const std::vector<std::vector<std::string>> cases = {
        {},
        {"frobnicate"},
        {"call"},
        {"call", "bob", "carol"},
        {"call", "Bob!"},
        {"call", std::string(33, 'b')},
        {"call", "bob", "--timeout", "soon"},
        {"call", "bob", "--timeout"},
        {"call", "bob", "--timeout=-1"},
        {"answer", "now"},
        {"status", "--no-wait"},
        {"--bogus", "status"},
        {"trust"},
        {"history", "--limit", "0"},
        {"history", "--limit", "1001"},
        {"history", "--limit", "-3"},
        {"history", "--limit"},
        {"status", "--limit", "5"},
        {"contacts", "bob"},
    };
    const auto calls = onControl([this] { return control_.log.size(); });
    for (const auto& args : cases) {
        const CtlRun r = voicectl(args);
        std::string joined;
        for (const auto& a : args) {
            joined += a + " ";
        }
        EXPECT_EQ(r.code, 2) << joined << ": " << r.err;
        expectOneErrorLine(r);
        EXPECT_TRUE(r.out.empty()) << joined;
    }
    EXPECT_EQ(onControl([this] { return control_.log.size(); }), calls);
    const CtlRun json = voicectl({"call", "--json", "Bob!"});
    EXPECT_EQ(parseJson(json.out)["error"], "usage");
}

TEST_F(AVoiceService, VoicectlListsHistoryAndContactsFromTheDaemon) {
    // Without a directory the lists are empty, not an error.
    CtlRun empty = voicectl({"--json", "history"});
    ASSERT_EQ(empty.code, 0) << empty.err;
    EXPECT_TRUE(parseJson(empty.out)["history"].empty());
    EXPECT_EQ(voicectl({"contacts"}).out,
              "no pinned peers yet (a peer is pinned on the first call)\n");

    char pattern[] = "/tmp/voiced-dbus-history-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    const std::string dir = pattern;
    auto peers = PeerStore::load(dir + "/peers");
    ASSERT_TRUE(peers.ok());
    ASSERT_TRUE(peers->trust("bob", "0011 2233 4455 6677 8899 aabb ccdd eeff", true).ok());
    CallHistory history(dir + "/history");
    for (int i = 1; i <= 3; ++i) {
        HistoryEntry e;
        e.peer = i == 2 ? "carol" : "bob";
        e.outgoing = i != 2;
        e.start = 1'700'000'000 + i;
        e.durationS = i == 2 ? 0 : 61;
        e.outcome = i == 2 ? "missed" : "answered";
        e.reason = i == 2 ? "timeout" : "hangup";
        ASSERT_TRUE(history.add(e).ok());
    }
    onControl([&] { service_->setDirectory(&history, &*peers); });

    CtlRun all = voicectl({"--json", "history"});
    ASSERT_EQ(all.code, 0) << all.err;
    const Json h = parseJson(all.out)["history"];
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[0]["start"], 1'700'000'003);
    EXPECT_EQ(h[1]["peer"], "carol");
    EXPECT_EQ(h[1]["direction"], "in");
    EXPECT_EQ(h[1]["outcome"], "missed");
    EXPECT_EQ(h[1]["reason"], "timeout");
    EXPECT_EQ(h[2]["duration"], 61);
    CtlRun one = voicectl({"history", "--limit", "1"});
    ASSERT_EQ(one.code, 0) << one.err;
    EXPECT_NE(one.out.find("out bob"), std::string::npos) << one.out;
    EXPECT_NE(one.out.find("answered  1:01"), std::string::npos) << one.out;
    EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1) << one.out;

    CtlRun contacts = voicectl({"--json", "contacts"});
    ASSERT_EQ(contacts.code, 0) << contacts.err;
    const Json c = parseJson(contacts.out)["contacts"];
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0]["name"], "bob");
    EXPECT_EQ(c[0]["verified"], true);
    EXPECT_EQ(c[0]["last_call"], 1'700'000'003);
    EXPECT_EQ(c[0]["fingerprint"], "0011 2233 4455 6677 8899 aabb ccdd eeff");
    onControl([&] { service_->setDirectory(nullptr, nullptr); });
    std::filesystem::remove_all(dir);
}

TEST_F(AVoiceService, VoicectlHelpListsCommandsAndExitCodes) {
    CtlRun r = voicectl({"--help"});
    EXPECT_EQ(r.code, 0);
    for (const char* word :
         {"call", "answer", "reject", "hangup", "status", "monitor", "mute", "unmute", "whoami",
          "trust", "register", "Exit codes", "not registered", "11   rate limited"}) {
        EXPECT_NE(r.out.find(word), std::string::npos) << word;
    }
    for (const char* command : {"call", "answer", "reject", "hangup", "register", "status",
                                "monitor", "mute", "unmute", "whoami", "trust"}) {
        r = voicectl({command, "--help"});
        EXPECT_EQ(r.code, 0) << command;
        EXPECT_NE(r.out.find(std::string("voicectl [--json] ") + command), std::string::npos)
            << r.out;
    }
    r = voicectl({"call", "--help"});
    EXPECT_NE(r.out.find("--no-wait"), std::string::npos);
    r = voicectl({"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out.rfind("voicectl ", 0), 0u);
}

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
