// SPDX-License-Identifier: MIT
// Tests of DesktopNotifier against a stand-in notification server on a private session bus: the
// ring note (critical, key state, code, Answer/Decline), its actions, closing it, the missed-call
// note, a server without actions, a server that never answers and no server at all.
#include "bus_thread.h"
#include "desktop_notifier.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using namespace voice;
using voice::test::BusThread;
using namespace std::chrono_literals;

namespace {

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > end) {
            return false;
        }
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

struct Note {
    std::string app, summary, body;
    std::vector<std::string> actions;
    uint8_t urgency = 255;
    int32_t expire = -2;
};

/// org.freedesktop.Notifications, as a server would offer it, on its own connection.
class FakeServer {
public:
    FakeServer(std::vector<std::string> caps, bool silent)
        : caps_(std::move(caps)), silent_(silent) {
        bus_.runSync([this] {
            object_ = sdbus::createObject(bus_.connection(), DesktopNotifier::kPath);
            const char* i = DesktopNotifier::kInterface;
            object_->registerMethod("GetCapabilities")
                .onInterface(i)
                .implementedAs([this](sdbus::Result<std::vector<std::string>>&& result) {
                    if (silent_) {
                        held_.push_back(std::move(result)); // never answered
                    } else {
                        result.returnResults(caps_);
                    }
                });
            object_->registerMethod("Notify").onInterface(i).implementedAs(
                [this](const std::string& app, uint32_t, const std::string&,
                       const std::string& summary, const std::string& body,
                       const std::vector<std::string>& actions,
                       const std::map<std::string, sdbus::Variant>& hints, int32_t expire) {
                    Note n{app, summary, body, actions, 255, expire};
                    auto u = hints.find("urgency");
                    if (u != hints.end()) {
                        n.urgency = u->second.get<uint8_t>();
                    }
                    std::lock_guard lock(mutex_);
                    notes_.push_back(n);
                    return static_cast<uint32_t>(notes_.size());
                });
            object_->registerMethod("CloseNotification")
                .onInterface(i)
                .implementedAs([this](uint32_t id) {
                    std::lock_guard lock(mutex_);
                    closed_.push_back(id);
                });
            object_->registerSignal("ActionInvoked")
                .onInterface(i)
                .withParameters<uint32_t, std::string>();
            object_->finishRegistration();
            bus_.connection().requestName(DesktopNotifier::kService);
        });
    }
    ~FakeServer() {
        bus_.runSync([this] {
            held_.clear();
            object_.reset();
            bus_.connection().releaseName(DesktopNotifier::kService);
        });
    }
    void invoke(uint32_t id, const std::string& key) {
        bus_.runSync([&] {
            object_->emitSignal("ActionInvoked")
                .onInterface(DesktopNotifier::kInterface)
                .withArguments(id, key);
        });
    }
    std::vector<Note> notes() {
        std::lock_guard lock(mutex_);
        return notes_;
    }
    std::vector<uint32_t> closed() {
        std::lock_guard lock(mutex_);
        return closed_;
    }
    size_t held() {
        size_t n = 0;
        bus_.runSync([&] { n = held_.size(); });
        return n;
    }

private:
    BusThread bus_;
    std::vector<std::string> caps_;
    bool silent_;
    std::unique_ptr<sdbus::IObject> object_;
    std::vector<sdbus::Result<std::vector<std::string>>> held_;
    std::mutex mutex_;
    std::vector<Note> notes_;
    std::vector<uint32_t> closed_;
};

/// Counts what the notifier asks of the call.
class CountingControl final : public CallControl {
public:
    std::atomic<int> answers{0}, rejects{0};
    CallResult call(const std::string&) override { return CallResult::success(); }
    CallResult answer() override {
        ++answers;
        return CallResult::success();
    }
    CallResult reject() override {
        ++rejects;
        return CallResult::success();
    }
    CallResult hangup() override { return CallResult::success(); }
    CallResult setMuted(bool) override { return CallResult::success(); }
    CallResult trust(const std::string&, const std::string&) override {
        return CallResult::success();
    }
    CallResult reregister() override { return CallResult::success(); }
    CallSnapshot snapshot() const override { return {}; }
};

const std::string kFp = "0011 2233 4455 6677 8899 aabb ccdd eeff";

class ADesktopNotifier : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_NE(std::getenv("DBUS_SESSION_BUS_ADDRESS"), nullptr) << "run under dbus-run-session";
    }
    void TearDown() override {
        voiced_.runSync([this] { notifier_.reset(); });
    }
    void start() {
        voiced_.runSync([this] {
            notifier_ = std::make_unique<DesktopNotifier>(voiced_.connection(), control_);
        });
    }
    void on(const std::function<void(DesktopNotifier&)>& f) {
        voiced_.runSync([&] { f(*notifier_); });
    }
    static CallRecord missed() {
        CallRecord r;
        r.peer = "alice";
        r.outgoing = false;
        r.reason = EndReason::Hangup;
        r.start = std::chrono::system_clock::now();
        return r;
    }

    BusThread voiced_;
    CountingControl control_;
    std::unique_ptr<DesktopNotifier> notifier_;
};

} // namespace

TEST_F(ADesktopNotifier, ShowsACriticalRingNoteWhoseAnswerActionAnswersAndClosesIt) {
    FakeServer server({"actions", "body"}, false);
    start();
    on([](DesktopNotifier& n) { n.incomingRinging("alice", kFp, PinState::Known, "123456"); });
    ASSERT_TRUE(waitUntil([&] { return server.notes().size() == 1; }));
    const Note note = server.notes()[0];
    EXPECT_EQ(note.app, "voiced");
    EXPECT_EQ(note.summary, "Incoming call from alice");
    EXPECT_NE(note.body.find("Key: known (" + kFp + ")"), std::string::npos) << note.body;
    EXPECT_NE(note.body.find("Code: 123456"), std::string::npos) << note.body;
    EXPECT_EQ(note.urgency, 2);
    EXPECT_EQ(note.expire, 0);
    EXPECT_EQ(note.actions, (std::vector<std::string>{"answer", "Answer", "decline", "Decline"}));

    server.invoke(99, "answer"); // another client's note: not ours
    server.invoke(1, "answer");
    ASSERT_TRUE(waitUntil([&] { return control_.answers == 1; }));
    EXPECT_EQ(control_.rejects, 0);
    on([](DesktopNotifier& n) { n.answered("alice"); });
    ASSERT_TRUE(waitUntil([&] { return server.closed() == std::vector<uint32_t>{1}; }));
    EXPECT_EQ(control_.answers, 1);
}

TEST_F(ADesktopNotifier, DeclinesFromTheNoteAndShowsNoMissedCallForIt) {
    FakeServer server({"actions"}, false);
    start();
    on([](DesktopNotifier& n) { n.incomingRinging("alice", kFp, PinState::New, "000001"); });
    ASSERT_TRUE(waitUntil([&] { return server.notes().size() == 1; }));
    EXPECT_NE(server.notes()[0].body.find("Key: new"), std::string::npos);
    server.invoke(1, "decline");
    ASSERT_TRUE(waitUntil([&] { return control_.rejects == 1; }));
    CallRecord r = missed();
    r.reason = EndReason::Declined;
    on([&](DesktopNotifier& n) { n.ended(r); });
    ASSERT_TRUE(waitUntil([&] { return server.closed().size() == 1; }));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(server.notes().size(), 1u) << "a declined call is not missed";
}

TEST_F(ADesktopNotifier, GivesAPlainNoteWithoutTheActionsCapabilityAndLeavesAMissedCall) {
    FakeServer server({"body"}, false);
    start();
    on([](DesktopNotifier& n) { n.incomingRinging("alice", kFp, PinState::Verified, "654321"); });
    ASSERT_TRUE(waitUntil([&] { return server.notes().size() == 1; }));
    EXPECT_TRUE(server.notes()[0].actions.empty());
    EXPECT_NE(server.notes()[0].body.find("Key: verified"), std::string::npos);
    on([](DesktopNotifier& n) { n.ended(missed()); });
    ASSERT_TRUE(waitUntil([&] { return server.notes().size() == 2; }));
    EXPECT_EQ(server.closed(), std::vector<uint32_t>{1});
    const Note m = server.notes()[1];
    EXPECT_EQ(m.summary, "Missed call from alice");
    EXPECT_EQ(m.urgency, 1);
    EXPECT_TRUE(m.actions.empty());
}

TEST_F(ADesktopNotifier, SaysWhenACallWasRefusedForAChangedKey) {
    FakeServer server({"actions"}, false);
    start();
    CallRecord r = missed();
    r.reason = EndReason::Untrusted;
    r.pin = PinState::Changed;
    on([&](DesktopNotifier& n) { n.ended(r); });
    ASSERT_TRUE(waitUntil([&] { return server.notes().size() == 1; }));
    EXPECT_EQ(server.notes()[0].summary, "Refused a call from alice");
    EXPECT_NE(server.notes()[0].body.find("key changed"), std::string::npos);
    EXPECT_NE(server.notes()[0].body.find("voicectl trust alice"), std::string::npos);
    // Our own calls and answered ones leave no note.
    CallRecord out = missed();
    out.outgoing = true;
    CallRecord talked = missed();
    talked.answered = true;
    on([&](DesktopNotifier& n) {
        n.ended(out);
        n.ended(talked);
    });
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(server.notes().size(), 1u);
}

TEST_F(ADesktopNotifier, NeverWaitsForAServerThatDoesNotAnswer) {
    FakeServer server({"actions"}, true);
    start();
    on([](DesktopNotifier& n) { n.incomingRinging("alice", kFp, PinState::Known, "123456"); });
    ASSERT_TRUE(waitUntil([&] { return server.held() == 1; }));
    // The control thread goes on while the request hangs: these return at once.
    on([](DesktopNotifier& n) { n.answered("alice"); });
    on([](DesktopNotifier& n) { n.ended(missed()); });
    // The ring note never went out (it waits for the capabilities); the
    // missed-call note does not need them.
    ASSERT_TRUE(waitUntil([&] { return server.notes().size() == 1; }));
    EXPECT_EQ(server.notes()[0].summary, "Missed call from alice");
}

TEST_F(ADesktopNotifier, ShowsNothingWithoutAServerAndCarriesOn) {
    start();
    on([](DesktopNotifier& n) { n.incomingRinging("alice", kFp, PinState::Known, "123456"); });
    on([](DesktopNotifier& n) { n.ended(missed()); });
    // A server that turns up later gets a later call. (The bus may still be
    // trying to start an installed server for the first request and hold
    // requests meanwhile, so the test rings until one gets through.)
    FakeServer server({"actions"}, false);
    ASSERT_TRUE(waitUntil([&] {
        on([](DesktopNotifier& n) { n.incomingRinging("bob", kFp, PinState::Known, "123456"); });
        std::this_thread::sleep_for(50ms);
        for (const Note& n : server.notes()) {
            if (n.summary == "Incoming call from bob") {
                return true;
            }
        }
        return false;
    }));
}
