// SPDX-License-Identifier: MIT
// systemd integration against a stand-in notify socket and socket activation in a child process.
#include "net/socket.h"
#include "net/systemd.h"

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace voice;

namespace {

// Plays systemd's part: a datagram socket whose path goes into NOTIFY_SOCKET.
class FakeNotifySocket {
public:
    FakeNotifySocket() {
        char tmpl[] = "/tmp/voice-notify.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path_ = dir_ + "/notify";
        fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path_.c_str());
        EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    }
    ~FakeNotifySocket() {
        ::unsetenv("NOTIFY_SOCKET");
        std::filesystem::remove_all(dir_);
    }
    // The next message, or "" after a generous deadline.
    std::string receive() {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 10000) != 1) {
            return "";
        }
        char buf[512];
        const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    }

private:
    std::string dir_, path_;
    UniqueFd fd_;
};

} // namespace

TEST(ASystemdNotifier, SendsReadyStatusWatchdogAndStopping) {
    FakeNotifySocket systemd;
    EXPECT_TRUE(notifySocketPresent());
    ASSERT_TRUE(notifyReady().ok());
    EXPECT_EQ(systemd.receive(), "READY=1");
    ASSERT_TRUE(notifyStatus("registered as alice\nat relay").ok());
    EXPECT_EQ(systemd.receive(), "STATUS=registered as alice at relay");
    ASSERT_TRUE(notifyWatchdog().ok());
    EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
    ASSERT_TRUE(notifyReloading().ok());
    EXPECT_EQ(systemd.receive(), "RELOADING=1");
    ASSERT_TRUE(notifyStopping().ok());
    EXPECT_EQ(systemd.receive(), "STOPPING=1");
}

TEST(ASystemdNotifier, CutsLongStatusLines) {
    FakeNotifySocket systemd;
    ASSERT_TRUE(notifyStatus(std::string(1000, 'x')).ok());
    EXPECT_EQ(systemd.receive(), "STATUS=" + std::string(200, 'x'));
}

TEST(ASystemdNotifier, DoesNothingOutsideSystemd) {
    ::unsetenv("NOTIFY_SOCKET");
    EXPECT_FALSE(notifySocketPresent());
    EXPECT_TRUE(notifyReady().ok());
}

TEST(ASystemdWatchdog, ReadsTheIntervalFromTheEnvironment) {
    ::unsetenv("WATCHDOG_PID");
    ::setenv("WATCHDOG_USEC", "2500000", 1);
    auto interval = watchdogInterval();
    ASSERT_TRUE(interval.has_value());
    EXPECT_EQ(*interval, std::chrono::seconds(2) + std::chrono::milliseconds(500));
    // Meant for another process.
    ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
    EXPECT_FALSE(watchdogInterval().has_value());
    ::unsetenv("WATCHDOG_PID");
    ::unsetenv("WATCHDOG_USEC");
    EXPECT_FALSE(watchdogInterval().has_value());
}

namespace {

// Runs body in a child whose fds 3.. are the given sockets, as systemd
// passes them; returns the child's exit code.
int inActivatedChild(std::vector<int> fds, const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        // Move the sockets out of the way first, then into place at 3, 4...
        std::vector<int> high;
        for (int fd : fds) {
            high.push_back(::fcntl(fd, F_DUPFD, 100));
        }
        for (size_t i = 0; i < high.size(); ++i) {
            ::dup2(high[i], 3 + static_cast<int>(i));
        }
        ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
        ::setenv("LISTEN_FDS", std::to_string(fds.size()).c_str(), 1);
        ::_exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

} // namespace

TEST(ASocketActivation, SortsTcpListenersAndUdpSockets) {
    auto tcp = tcpListen(SocketAddress::loopbackV4(0));
    auto udp = udpBind(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(tcp.ok() && udp.ok());
    const int code = inActivatedChild({tcp->get(), udp->get()}, [] {
        auto s = takeActivatedSockets();
        if (!s.ok()) {
            return 1;
        }
        if (s->tcpListeners.size() != 1 || s->udp.size() != 1) {
            return 2;
        }
        if (s->tcpListeners[0].get() != 3 || s->udp[0].get() != 4) {
            return 3;
        }
        if (std::getenv("LISTEN_FDS") != nullptr) {
            return 4; // must be unset for children
        }
        if ((::fcntl(3, F_GETFL) & O_NONBLOCK) == 0) {
            return 5;
        }
        return 0;
    });
    EXPECT_EQ(code, 0);
}

TEST(ASocketActivation, RefusesASocketOfTheWrongType) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    const int code = inActivatedChild({pair[0]}, [] {
        auto s = takeActivatedSockets();
        if (s.ok() || s.status().code() != Errc::InvalidArgument) {
            return 1;
        }
        return ::fcntl(3, F_GETFD) == -1 ? 0 : 2; // closed
    });
    EXPECT_EQ(code, 0);
    ::close(pair[0]);
    ::close(pair[1]);
}

TEST(ASocketActivation, IsEmptyWhenNotActivated) {
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_PID");
    auto s = takeActivatedSockets();
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s->empty());
}
