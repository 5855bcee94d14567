// SPDX-License-Identifier: MIT
// The fixture of the D-Bus layer tests: the real DBusService adaptor on a
// private bus (a BusThread), serving a ScriptedCallControl double, and the
// real voicectl binary (found through $VOICECTL) run as a child process.
// Shared by dbus_service_test.cpp (voicectl) and dbus_wire_test.cpp (bad
// input straight at the adaptor).
#pragma once

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

namespace voice::test {

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

// Generous: the machine is shared and slow under sanitizers. Nothing here
// asserts a duration; deadlines only stop a broken test from hanging.
constexpr auto kDeadline = 30s;

inline std::string voicectlPath() {
    const char* path = std::getenv("VOICECTL");
    return path ? path : "";
}

inline bool waitUntil(const std::function<bool()>& condition,
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

inline CtlRun voicectl(const std::vector<std::string>& args,
                       const std::vector<std::string>& env = {}) {
    Voicectl p(args, env);
    const int code = p.wait();
    return {code, p.out, p.err};
}

/// Errors are exactly one line on stderr, prefixed with the program name.
inline void expectOneErrorLine(const CtlRun& r) {
    EXPECT_EQ(r.err.rfind("voicectl: ", 0), 0u) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
}

inline Json parseJson(const std::string& text) {
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

} // namespace voice::test
