// SPDX-License-Identifier: MIT
// Tests of the D-Bus layer: the real DBusService adaptor and the real voicectl binary on a private
// bus.
//
// This is a unit test of the D-Bus layer, not of voiced: the adaptor serves a
// ScriptedCallControl double (a real CallStateMachine plus a script of
// refusals and outcomes) instead of the daemon's network and audio. The
// whole binary runs under `dbus-run-session` (tests/meson.build), so the bus
// is private; voicectl is the built binary, found through $VOICECTL.
#include "voice_service_fixture.h"

namespace voice::test {
namespace {

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

} // namespace
} // namespace voice::test
