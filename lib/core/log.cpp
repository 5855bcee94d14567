// SPDX-License-Identifier: MIT
// Logging back ends: the journal's native protocol or a line on stderr.
#include "core/log.h"

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

namespace voice {
namespace {

std::atomic<int> currentLevel{static_cast<int>(LogLevel::Info)};

std::mutex sinkMutex;
LogSink customSink; // guarded by sinkMutex

void writeStderr(LogLevel level, std::string_view text) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    tm local{};
    localtime_r(&now.tv_sec, &local);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%H:%M:%S", &local);
    std::string line;
    line.reserve(text.size() + 48);
    line += stamp;
    char millis[24];
    snprintf(millis, sizeof(millis), ".%03ld ", now.tv_nsec / 1000000);
    line += millis;
    line += program_invocation_short_name;
    line += ' ';
    line += logLevelName(level);
    line += ": ";
    line += text;
    line += '\n';
    // One write per message so lines from several threads do not interleave.
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

void writeJournal(LogLevel level, std::string_view text) {
    sd_journal_send("MESSAGE=%.*s", static_cast<int>(text.size()), text.data(), "PRIORITY=%d",
                    static_cast<int>(level), "SYSLOG_IDENTIFIER=%s", program_invocation_short_name,
                    nullptr);
}

} // namespace

std::string_view logLevelName(LogLevel level) {
    switch (level) {
    case LogLevel::Error:
        return "error";
    case LogLevel::Warning:
        return "warning";
    case LogLevel::Notice:
        return "notice";
    case LogLevel::Info:
        return "info";
    case LogLevel::Debug:
        return "debug";
    }
    return "unknown";
}

bool parseLogLevel(std::string_view text, LogLevel& level) {
    for (LogLevel candidate :
         {LogLevel::Error, LogLevel::Warning, LogLevel::Notice, LogLevel::Info, LogLevel::Debug}) {
        if (text == logLevelName(candidate)) {
            level = candidate;
            return true;
        }
    }
    return false;
}

void setLogLevel(LogLevel level) {
    currentLevel.store(static_cast<int>(level));
}

LogLevel logLevel() {
    return static_cast<LogLevel>(currentLevel.load());
}

bool logEnabled(LogLevel level) {
    return static_cast<int>(level) <= currentLevel.load(std::memory_order_relaxed);
}

void setLogSink(LogSink sink) {
    std::lock_guard lock(sinkMutex);
    customSink = std::move(sink);
}

bool stderrIsJournal() {
    // systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected
    // to stderr; a child that redirected stderr elsewhere must not use it.
    const char* env = getenv("JOURNAL_STREAM");
    if (env == nullptr) {
        return false;
    }
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    if (sscanf(env, "%llu:%llu", &dev, &ino) != 2) {
        return false;
    }
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    return st.st_dev == dev && st.st_ino == ino;
}

void logMessage(LogLevel level, std::string_view text) {
    if (!logEnabled(level)) {
        return;
    }
    {
        std::lock_guard lock(sinkMutex);
        if (customSink) {
            customSink(level, text);
            return;
        }
    }
    static const bool toJournal = stderrIsJournal();
    if (toJournal) {
        writeJournal(level, text);
    } else {
        writeStderr(level, text);
    }
}

void logf(LogLevel level, const char* format, ...) {
    if (!logEnabled(level)) {
        return;
    }
    char small[512];
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    const int needed = vsnprintf(small, sizeof(small), format, args);
    va_end(args);
    if (needed < 0) {
        va_end(copy);
        return;
    }
    if (static_cast<size_t>(needed) < sizeof(small)) {
        va_end(copy);
        logMessage(level, std::string_view(small, static_cast<size_t>(needed)));
        return;
    }
    std::string big(static_cast<size_t>(needed) + 1, '\0');
    vsnprintf(big.data(), big.size(), format, copy);
    va_end(copy);
    big.resize(static_cast<size_t>(needed));
    logMessage(level, big);
}

} // namespace voice
