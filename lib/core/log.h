// SPDX-License-Identifier: MIT
// Logging: journal under systemd, stderr otherwise; levels follow syslog.
//
// These functions lock and allocate: call them from control and worker
// threads only. Real-time audio threads use DeferredLog (deferred_log.h).
#pragma once

#include <functional>
#include <string_view>

namespace voice {

/// Levels carry the syslog priority numbers the journal expects.
enum class LogLevel : int {
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
};

std::string_view logLevelName(LogLevel level);
/// Parses "error", "warning", "notice", "info" or "debug".
bool parseLogLevel(std::string_view text, LogLevel& level);

/// Messages less severe than level are discarded. Default: Info.
void setLogLevel(LogLevel level);
LogLevel logLevel();
bool logEnabled(LogLevel level);

/// Where messages go. The default sink writes to the journal when stderr is
/// connected to it (JOURNAL_STREAM matches stderr), else to stderr.
using LogSink = std::function<void(LogLevel, std::string_view)>;
/// Replaces the sink (tests capture messages this way); nullptr restores the default.
void setLogSink(LogSink sink);

/// Writes one message if its level is enabled. Thread-safe; not real-time safe.
void logMessage(LogLevel level, std::string_view text);
/// printf-style front end for logMessage().
void logf(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

/// True when stderr is the journal stream systemd gave us (JOURNAL_STREAM).
bool stderrIsJournal();

} // namespace voice

#define VOICE_LOG(level, ...)                                                                      \
    do {                                                                                           \
        if (::voice::logEnabled(level))                                                            \
            ::voice::logf(level, __VA_ARGS__);                                                     \
    } while (0)
#define LOG_ERROR(...) VOICE_LOG(::voice::LogLevel::Error, __VA_ARGS__)
#define LOG_WARNING(...) VOICE_LOG(::voice::LogLevel::Warning, __VA_ARGS__)
#define LOG_NOTICE(...) VOICE_LOG(::voice::LogLevel::Notice, __VA_ARGS__)
#define LOG_INFO(...) VOICE_LOG(::voice::LogLevel::Info, __VA_ARGS__)
#define LOG_DEBUG(...) VOICE_LOG(::voice::LogLevel::Debug, __VA_ARGS__)
