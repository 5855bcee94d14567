// SPDX-License-Identifier: MIT
// voice_driver (tests): drives real voiced daemons over their D-Bus API as fast as a local script
// could, and counts what happened.
//
//   voice_driver flood BUS PEER PEER_BUS PAIRS
//       PAIRS back-to-back Call(PEER)/Hangup() pairs on the daemon at BUS;
//       fails if either daemon (the caller, or PEER at PEER_BUS) was
//       unregistered at any moment (a PropertiesChanged Registered=false),
//       or is not idle and registered at the end.
//   voice_driver glare BUS_A NAME_A BUS_B NAME_B ROUNDS [RELAY_PID]
//       each round, A calls B and B calls A at the same moment (two
//       asynchronous Calls sent back to back; with RELAY_PID, the relay is
//       held with SIGSTOP until both daemons have sent their Call, so both
//       reach it before it answers either: true glare every round, in
//       whichever order its event loop reads them); the round passes when exactly
//       one call rings: when both Calls were accepted, the call from the
//       smaller name (the relay's rule); when one side was already rung
//       before its Call (InvalidState), the other's. Rounds where a side was
//       refused with RateLimited are repeated.
//
// One line of key=value results on stdout; exit 0 when everything passed.
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kService = "org.voiced.Voice1";
constexpr const char* kPath = "/org/voiced/Voice1";
constexpr const char* kInterface = "org.voiced.Voice1";
using Clock = std::chrono::steady_clock;

std::string shortError(const std::string& name) {
    const std::string prefix = "org.voiced.Voice1.Error.";
    return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

/// One daemon: its bus connection and a proxy, processed only here.
class Daemon {
public:
    explicit Daemon(const std::string& address)
        : bus_(sdbus::createSessionBusConnectionWithAddress(address)),
          proxy_(sdbus::createProxy(*bus_, kService, kPath)) {
        proxy_->uponSignal("PropertiesChanged")
            .onInterface("org.freedesktop.DBus.Properties")
            .call([this](const std::string& iface,
                         const std::map<std::string, sdbus::Variant>& changed,
                         const std::vector<std::string>&) {
                auto it = changed.find("Registered");
                if (iface == kInterface && it != changed.end() && !it->second.get<bool>()) {
                    ++unregistered;
                }
            });
        proxy_->finishRegistration();
    }

    /// A synchronous call; the error's short name ("RateLimited"...) or "".
    std::string call(const char* method, const std::vector<std::string>& args = {}) {
        try {
            auto m = proxy_->createMethodCall(kInterface, method);
            for (const auto& a : args) {
                m << a;
            }
            proxy_->callMethod(m);
            return "";
        } catch (const sdbus::Error& e) {
            return shortError(e.getName());
        }
    }

    /// Sends Call(peer) without waiting; reply() says how it went once pump() saw it.
    void callAsync(const std::string& peer) {
        replied_ = false;
        reply_.clear();
        pending_ = proxy_->callMethodAsync("Call")
                       .onInterface(kInterface)
                       .withArguments(peer)
                       .uponReplyInvoke([this](const sdbus::Error* e) {
                           replied_ = true;
                           reply_ = e ? shortError(e->getName()) : "";
                       });
    }
    bool replied() const { return replied_; }
    const std::string& reply() const { return reply_; }

    std::string property(const char* name) {
        pump();
        return proxy_->getProperty(name).onInterface(kInterface).get<std::string>();
    }
    bool registered() {
        pump();
        return proxy_->getProperty("Registered").onInterface(kInterface).get<bool>();
    }
    std::string state() { return property("State"); }

    void pump() {
        while (bus_->processPendingRequest()) {
        }
    }

    int unregistered = 0;

private:
    std::unique_ptr<sdbus::IConnection> bus_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    sdbus::PendingAsyncCall pending_;
    bool replied_ = false;
    std::string reply_;
};

template <typename F>
bool waitUntil(std::chrono::milliseconds limit, F&& done) {
    const auto end = Clock::now() + limit;
    while (!done()) {
        if (Clock::now() >= end) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

int flood(const std::string& bus, const std::string& peer, const std::string& peerBus, int pairs) {
    Daemon a(bus);
    Daemon b(peerBus);
    std::map<std::string, int> callErrors, hangupErrors;
    int placed = 0;
    const auto t0 = Clock::now();
    for (int i = 0; i < pairs; ++i) {
        const std::string e = a.call("Call", {peer});
        if (e.empty()) {
            ++placed;
        } else {
            ++callErrors[e];
        }
        const std::string h = a.call("Hangup");
        if (!h.empty()) {
            ++hangupErrors[h];
        }
        a.pump();
        b.pump();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const bool settled = waitUntil(std::chrono::seconds(20), [&] {
        return a.state() == "idle" && b.state() == "idle" && a.registered() && b.registered();
    });
    a.pump();
    b.pump();
    std::printf("pairs=%d seconds=%.2f placed=%d", pairs, seconds, placed);
    for (const auto& [name, n] : callErrors) {
        std::printf(" call_%s=%d", name.c_str(), n);
    }
    for (const auto& [name, n] : hangupErrors) {
        std::printf(" hangup_%s=%d", name.c_str(), n);
    }
    std::printf(" caller_unregistered=%d peer_unregistered=%d settled=%s\n", a.unregistered,
                b.unregistered, settled ? "yes" : "no");
    return a.unregistered == 0 && b.unregistered == 0 && settled && placed > 0 ? 0 : 1;
}

/// Holds a process with SIGSTOP for its lifetime (none for pid 0).
class Hold {
public:
    explicit Hold(pid_t pid) : pid_(pid) {
        if (pid_ > 0) {
            ::kill(pid_, SIGSTOP);
        }
    }
    ~Hold() {
        if (pid_ > 0) {
            ::kill(pid_, SIGCONT);
        }
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

private:
    pid_t pid_;
};

int glare(const std::string& busA, const std::string& nameA, const std::string& busB,
          const std::string& nameB, int rounds, pid_t relay) {
    Daemon a(busA);
    Daemon b(busB);
    // The relay's rule: the call from the smaller name rings.
    Daemon& small = nameA < nameB ? a : b;
    Daemon& big = nameA < nameB ? b : a;
    int passed = 0, bothDialled = 0, retries = 0, failed = 0;
    for (int round = 0; round < rounds && retries < 10 * rounds;) {
        if (!waitUntil(std::chrono::seconds(10),
                       [&] { return a.state() == "idle" && b.state() == "idle"; })) {
            std::fprintf(stderr, "round %d: not idle before the round\n", round);
            return 1;
        }
        {
            const Hold held(relay);
            a.callAsync(nameB);
            b.callAsync(nameA);
            if (!waitUntil(std::chrono::seconds(10), [&] {
                    a.pump();
                    b.pump();
                    return a.replied() && b.replied();
                })) {
                std::fprintf(stderr, "round %d: no reply to Call\n", round);
                return 1;
            }
        }
        if (a.reply() == "RateLimited" || b.reply() == "RateLimited") {
            ++retries;
            (void)a.call("Hangup");
            (void)b.call("Hangup");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        // Both dialled: the relay's rule decides, the smaller name's call
        // rings. One was already ringing when its Call came (InvalidState):
        // the other's call rings. Either way exactly one call rings.
        const bool both = a.reply().empty() && b.reply().empty();
        bothDialled += both ? 1 : 0;
        Daemon& winner = both || small.reply().empty() ? small : big;
        Daemon& loser = &winner == &small ? big : small;
        const bool one = waitUntil(std::chrono::seconds(5), [&] {
            return winner.state() == "calling" && loser.state() == "ringing";
        });
        if (one) {
            ++passed;
        } else {
            ++failed;
            std::fprintf(
                stderr, "round %d: replies '%s' '%s', states %s %s (no single ringing call)\n",
                round, a.reply().c_str(), b.reply().c_str(), a.state().c_str(), b.state().c_str());
        }
        (void)small.call("Hangup");
        (void)big.call("Hangup");
        ++round;
    }
    std::printf("rounds=%d calls=%d both_dialled=%d no_call=%d rate_limited_retries=%d "
                "unregistered=%d\n",
                passed + failed, passed, bothDialled, failed, retries,
                a.unregistered + b.unregistered);
    return failed == 0 && passed == rounds && a.unregistered + b.unregistered == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        if (args.size() == 5 && args[0] == "flood") {
            return flood(args[1], args[2], args[3], std::stoi(args[4]));
        }
        if ((args.size() == 6 || args.size() == 7) && args[0] == "glare") {
            return glare(args[1], args[2], args[3], args[4], std::stoi(args[5]),
                         args.size() == 7 ? pid_t(std::stoi(args[6])) : 0);
        }
        std::fprintf(stderr, "usage: voice_driver flood BUS PEER PEER_BUS PAIRS\n"
                             "       voice_driver glare BUS_A NAME_A BUS_B NAME_B ROUNDS "
                             "[RELAY_PID]\n");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "voice_driver: %s\n", e.what());
        return 1;
    }
}
