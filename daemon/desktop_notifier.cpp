// SPDX-License-Identifier: MIT
// DesktopNotifier: incoming and missed calls as desktop notifications.
#include "desktop_notifier.h"

#include "call_history.h"
#include "core/log.h"

#include <algorithm>
#include <ctime>
#include <map>

namespace voice {

namespace {

/// Action keys sent with the ring note (the labels are what people see).
constexpr const char* kAnswer = "answer";
constexpr const char* kDecline = "decline";

std::string keyLine(PinState pin, const std::string& fingerprint) {
    switch (pin) {
    case PinState::Verified:
        return "Key: verified (" + fingerprint + ")";
    case PinState::Known:
        return "Key: known (" + fingerprint + ")";
    case PinState::New:
        return "Key: new, first call (" + fingerprint + ")";
    case PinState::Changed:
        return "Key: CHANGED (" + fingerprint + ")";
    }
    return fingerprint;
}

std::string clockTime(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    char buf[16];
    if (localtime_r(&tt, &tm) == nullptr || std::strftime(buf, sizeof buf, "%H:%M", &tm) == 0) {
        return "";
    }
    return buf;
}

} // namespace

DesktopNotifier::DesktopNotifier(sdbus::IConnection& connection, CallControl& control)
    : control_(control) {
    proxy_ = sdbus::createProxy(connection, kService, kPath);
    proxy_->registerSignalHandler(kInterface, "ActionInvoked",
                                  [this](sdbus::Signal& s) { onActionInvoked(s); });
    proxy_->registerSignalHandler(kInterface, "NotificationClosed",
                                  [this](sdbus::Signal& s) { onClosed(s); });
    proxy_->finishRegistration();
}

DesktopNotifier::~DesktopNotifier() {
    proxy_->unregister();
}

void DesktopNotifier::callAsync(const char* method,
                                const std::function<void(sdbus::MethodCall&)>& args,
                                ReplyHandler onReply) {
    try {
        sdbus::MethodCall call = proxy_->createMethodCall(kInterface, method);
        args(call);
        const std::string name = method;
        proxy_->callMethod(
            call,
            [name, onReply = std::move(onReply)](sdbus::MethodReply& reply,
                                                 const sdbus::Error* error) {
                if (error != nullptr) {
                    LOG_DEBUG("notifications: %s: %s (%s)", name.c_str(), error->getName().c_str(),
                              error->getMessage().c_str());
                    return;
                }
                try {
                    if (onReply) {
                        onReply(reply);
                    }
                } catch (const std::exception& e) {
                    // A server that answers with the wrong types: ignore it.
                    LOG_DEBUG("notifications: bad %s reply: %s", name.c_str(), e.what());
                }
            },
            std::chrono::duration_cast<std::chrono::microseconds>(kTimeout).count());
    } catch (const std::exception& e) {
        LOG_DEBUG("notifications: %s not sent: %s", method, e.what());
    }
}

void DesktopNotifier::incomingRinging(const std::string& peer, const std::string& fingerprint,
                                      PinState pin, const std::string& sas) {
    closeRing();
    ringing_ = true;
    const std::uint64_t generation = ++generation_;
    ringNote_ = Note{};
    ringNote_.summary = "Incoming call from " + peer;
    ringNote_.body = keyLine(pin, fingerprint) + "\nCode: " + sas;
    ringNote_.icon = "call-start";
    ringNote_.urgency = 2;
    ringNote_.expireMs = 0; // stays until the call is answered, declined or gone
    // Ask for the capabilities with every call: the server may have come,
    // gone or changed since the last one. Without "actions": a plain note.
    callAsync(
        "GetCapabilities", [](sdbus::MethodCall&) {},
        [this, generation](sdbus::MethodReply& reply) {
            std::vector<std::string> caps;
            reply >> caps;
            if (generation != generation_ || !ringing_) {
                return;
            }
            ringNote_.callActions = std::find(caps.begin(), caps.end(), "actions") != caps.end();
            notify(ringNote_, true, generation);
        });
}

void DesktopNotifier::notify(const Note& note, bool forRing, std::uint64_t generation) {
    callAsync(
        "Notify",
        [&note](sdbus::MethodCall& call) {
            std::vector<std::string> actions;
            if (note.callActions) {
                actions = {kAnswer, "Answer", kDecline, "Decline"};
            }
            std::map<std::string, sdbus::Variant> hints{
                {"urgency", sdbus::Variant(note.urgency)},
                {"desktop-entry", sdbus::Variant(std::string("voiced"))},
            };
            call << std::string("voiced") << std::uint32_t{0} << note.icon << note.summary
                 << note.body << actions << hints << note.expireMs;
        },
        [this, forRing, generation](sdbus::MethodReply& reply) {
            std::uint32_t id = 0;
            reply >> id;
            if (!forRing) {
                return;
            }
            if (generation != generation_ || !ringing_) {
                // The call was answered or ended while the server was busy.
                callAsync(
                    "CloseNotification", [id](sdbus::MethodCall& c) { c << id; }, nullptr);
                return;
            }
            ringId_ = id;
            LOG_DEBUG("notifications: ring note %u shown", id);
        });
}

void DesktopNotifier::closeRing() {
    ringing_ = false;
    if (ringId_ != 0) {
        const std::uint32_t id = ringId_;
        ringId_ = 0;
        callAsync(
            "CloseNotification", [id](sdbus::MethodCall& c) { c << id; }, nullptr);
    }
}

void DesktopNotifier::answered(const std::string&) {
    closeRing();
}

void DesktopNotifier::ended(const CallRecord& record) {
    closeRing();
    if (record.outgoing || record.answered) {
        return;
    }
    Note note;
    note.urgency = 1;
    if (historyOutcome(record) == "missed") {
        note.summary = "Missed call from " + record.peer;
        note.body = "at " + clockTime(record.start);
        note.icon = "call-missed";
    } else if (record.reason == EndReason::Untrusted && record.pin == PinState::Changed) {
        note.summary = "Refused a call from " + record.peer;
        note.body = record.peer +
                    "'s key changed. Compare fingerprints, then run 'voicectl trust " +
                    record.peer + "'.";
        note.icon = "dialog-warning";
    } else {
        return;
    }
    notify(note, false, 0);
}

void DesktopNotifier::onActionInvoked(sdbus::Signal& signal) {
    std::uint32_t id = 0;
    std::string key;
    try {
        signal >> id >> key;
    } catch (const sdbus::Error&) {
        return; // malformed: not from a server we understand
    }
    if (id == 0 || id != ringId_ || !ringing_) {
        return;
    }
    LOG_INFO("notification action: %s", key == kAnswer ? "answer" : "decline");
    CallResult r = CallResult::success();
    if (key == kAnswer) {
        r = control_.answer();
    } else if (key == kDecline) {
        r = control_.reject();
    } else {
        return;
    }
    if (!r.ok()) {
        LOG_DEBUG("notification action %s: %s", key.c_str(), r.detail().c_str());
    }
}

void DesktopNotifier::onClosed(sdbus::Signal& signal) {
    std::uint32_t id = 0;
    try {
        signal >> id;
    } catch (const sdbus::Error&) {
        return;
    }
    if (id != 0 && id == ringId_) {
        ringId_ = 0; // dismissed: the call keeps ringing (voicectl answer still works)
    }
}

} // namespace voice
