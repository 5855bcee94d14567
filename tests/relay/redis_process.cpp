// SPDX-License-Identifier: MIT
// RedisProcess: a private redis-server for a test.
#include "redis_process.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <hiredis/hiredis.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace voice::test {

namespace {

std::string replyText(const redisReply* r) {
    if (!r) {
        return "ERR no reply";
    }
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        return std::string(r->str, r->len);
    case REDIS_REPLY_ERROR:
        return "ERR " + std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
        return "(nil)";
    case REDIS_REPLY_ARRAY: {
        std::string out;
        for (size_t i = 0; i < r->elements; ++i) {
            out += (i ? "\n" : "") + replyText(r->element[i]);
        }
        return out;
    }
    default:
        return "ERR unknown reply";
    }
}

} // namespace

RedisProcess::RedisProcess() {
    char tmpl[] = "/tmp/redis-test-XXXXXX";
    char* d = ::mkdtemp(tmpl);
    dir_ = d ? d : "";
    socket_ = dir_ + "/redis.sock";
}

RedisProcess::~RedisProcess() {
    kill();
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

bool RedisProcess::start(bool appendOnly) {
    if (dir_.empty()) {
        error_ = "mkdtemp failed";
        return false;
    }
    const char* env = std::getenv("REDIS_SERVER");
    std::string binary = env ? env : "redis-server";
    std::vector<std::string> args = {binary,
                                     "--port",
                                     "0",
                                     "--unixsocket",
                                     socket_,
                                     "--unixsocketperm",
                                     "700",
                                     "--dir",
                                     dir_,
                                     "--save",
                                     "",
                                     "--appendonly",
                                     appendOnly ? "yes" : "no",
                                     "--loglevel",
                                     "warning",
                                     "--logfile",
                                     dir_ + "/redis.log"};
    pid_ = ::fork();
    if (pid_ == 0) {
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    if (pid_ < 0) {
        error_ = "fork failed";
        return false;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) {
            error_ = binary + " exited at once (is redis-server installed? scripts/install-deps)";
            return false;
        }
        if (command({"PING"}) == "PONG") {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    error_ = binary + " did not answer PING within 10 s";
    return false;
}

void RedisProcess::kill() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
}

bool RedisProcess::running() {
    if (pid_ <= 0) {
        return false;
    }
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

std::string RedisProcess::command(const std::vector<std::string>& args) {
    timeval timeout{2, 0};
    redisContext* c = redisConnectUnixWithTimeout(socket_.c_str(), timeout);
    if (!c || c->err) {
        std::string e = c ? c->errstr : "no memory";
        if (c) {
            redisFree(c);
        }
        return "ERR " + e;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    auto* r =
        static_cast<redisReply*>(redisCommandArgv(c, int(argv.size()), argv.data(), lens.data()));
    std::string text = replyText(r);
    if (r) {
        freeReplyObject(r);
    }
    redisFree(c);
    return text;
}

} // namespace voice::test
