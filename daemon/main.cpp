// SPDX-License-Identifier: MIT
// voiced: the per-user call daemon; parses the command line and runs a VoiceDaemon.
#include "core/log.h"
#include "daemon_config.h"
#include "voice_config.h"
#include "voice_daemon.h"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    using namespace voice;
    auto cmd = parseCommandLine(argc, argv);
    if (!cmd.ok()) {
        std::fprintf(stderr, "voiced: %s\n", cmd.status().detail().c_str());
        return 2;
    }
    if (cmd->help) {
        std::fputs(commandLineHelp().c_str(), stdout);
        return 0;
    }
    if (cmd->version) {
        std::printf("voiced %s\n", VOICE_VERSION);
        return 0;
    }
    auto config = loadDaemonConfig(*cmd);
    if (!config.ok()) {
        std::fprintf(stderr, "voiced: %s\n", config.status().detail().c_str());
        return 2;
    }
    setLogLevel(config->logLevel);
    try {
        auto daemon = VoiceDaemon::create(std::move(*config));
        if (!daemon.ok()) {
            std::fprintf(stderr, "voiced: %s\n", daemon.status().toString().c_str());
            return 1;
        }
        return (*daemon)->run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "voiced: %s\n", e.what());
        return 1;
    }
}
