// SPDX-License-Identifier: MIT
// voice-relayd: parses the command line, loads the configuration and runs the RelayServer.
#include "core/log.h"
#include "relay/relay_config.h"
#include "relay/relay_server.h"
#include "voice_config.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <sys/resource.h>

namespace {

constexpr const char* kUsage =
    "Usage: voice-relayd [OPTIONS]\n"
    "Relay for voiced: registers clients by name, matches calls, forwards sealed media.\n"
    "\n"
    "  --config PATH        configuration file (default /etc/voice-relayd/voice-relayd.conf;\n"
    "                       a missing default file means built-in defaults)\n"
    "  --listen HOST:PORT   TCP (TLS control) and UDP (media) address, e.g. [::]:7000\n"
    "  --state-dir DIR      relay key, certificate and name bindings (default "
    "/var/lib/voice-relayd)\n"
    "  --metrics HOST:PORT  serve Prometheus metrics over HTTP there (off by default)\n"
    "  --log-level LEVEL    error, warning, notice, info or debug\n"
    "  --version            print the version and exit\n"
    "  --help               print this help and exit\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the configuration and allowlist.\n";

struct Overrides {
    std::optional<std::string> listen, stateDir, metrics, logLevel;
};

voice::Result<voice::RelayConfig> loadConfig(const std::string& path, bool explicitPath,
                                             const Overrides& o) {
    auto config = voice::RelayConfig::load(path, !explicitPath);
    if (!config.ok()) {
        return config.status();
    }
    if (o.listen) {
        auto hp = voice::HostPort::parse(*o.listen, true);
        if (!hp.ok()) {
            return voice::Status(voice::Errc::InvalidArgument, "--listen: " + hp.status().detail());
        }
        config->listen = *hp;
    }
    if (o.stateDir) {
        config->stateDir = *o.stateDir;
    }
    if (o.metrics) {
        auto hp = voice::HostPort::parse(*o.metrics, true);
        if (!hp.ok()) {
            return voice::Status(voice::Errc::InvalidArgument,
                                 "--metrics: " + hp.status().detail());
        }
        config->metrics = *hp;
    }
    if (o.logLevel && !voice::parseLogLevel(*o.logLevel, config->logLevel)) {
        return voice::Status(voice::Errc::InvalidArgument,
                             "--log-level: expected error, warning, notice, info or debug");
    }
    return config;
}

} // namespace

int main(int argc, char** argv) {
    std::string configPath = voice::RelayConfig::kDefaultPath;
    bool explicitPath = false;
    Overrides o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool hasValue = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg.resize(eq);
            hasValue = true;
        }
        auto take = [&](std::optional<std::string>& slot) {
            if (!hasValue) {
                if (i + 1 >= argc) {
                    std::fprintf(stderr, "voice-relayd: %s needs a value\n", arg.c_str());
                    return false;
                }
                value = argv[++i];
            }
            slot = value;
            return true;
        };
        std::optional<std::string> path;
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "--version") {
            std::printf("voice-relayd %s\n", VOICE_VERSION);
            return 0;
        } else if (arg == "--config") {
            if (!take(path)) {
                return 2;
            }
            configPath = *path;
            explicitPath = true;
        } else if (arg == "--listen") {
            if (!take(o.listen)) {
                return 2;
            }
        } else if (arg == "--state-dir") {
            if (!take(o.stateDir)) {
                return 2;
            }
        } else if (arg == "--metrics") {
            if (!take(o.metrics)) {
                return 2;
            }
        } else if (arg == "--log-level") {
            if (!take(o.logLevel)) {
                return 2;
            }
        } else {
            std::fprintf(stderr, "voice-relayd: unknown argument '%s' (try --help)\n", arg.c_str());
            return 2;
        }
    }

    // One descriptor per client: take the hard limit (systemd's default
    // soft limit of 1024 would cap the relay far below max_clients).
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &files);
    }
    auto config = loadConfig(configPath, explicitPath, o);
    if (!config.ok()) {
        std::fprintf(stderr, "voice-relayd: %s\n", config.status().toString().c_str());
        return 1;
    }
    auto server = voice::RelayServer::create(
        *config, [=] { return loadConfig(configPath, explicitPath, o); });
    if (!server.ok()) {
        std::fprintf(stderr, "voice-relayd: %s\n", server.status().toString().c_str());
        return 1;
    }
    voice::Status st = (*server)->run();
    if (!st.ok()) {
        LOG_ERROR("%s", st.toString().c_str());
        return 1;
    }
    LOG_NOTICE("stopped");
    return 0;
}
