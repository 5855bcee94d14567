// SPDX-License-Identifier: MIT
// RelayConfig: every setting of voice-relayd, with defaults, read from voice-relayd.conf.
#pragma once

#include "config/config_file.h"
#include "core/log.h"
#include "core/result.h"
#include "net/socket.h"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace voice {

/// A cluster relay id: 1-32 of [a-z0-9-].
bool isValidRelayId(std::string_view id);

/// voice-relayd's settings. Defaults are safe for a small public relay;
/// every limit is bounded so no setting can make the relay unbounded.
struct RelayConfig {
    static constexpr const char* kDefaultPath = "/etc/voice-relayd/voice-relayd.conf";
    static constexpr const char* kDefaultStateDir = "/var/lib/voice-relayd";

    /// TCP (TLS control) and UDP (media) on the same port. "[::]" is dual-stack.
    HostPort listen{"::", 7000};
    std::string stateDir = kDefaultStateDir;
    /// Prometheus text endpoint; off when unset. Only numeric addresses.
    std::optional<HostPort> metrics;
    LogLevel logLevel = LogLevel::Info;
    /// When set, only names listed in this file (name hex-key per line) may register.
    std::optional<std::string> allowlist;

    std::chrono::milliseconds ringTimeout{30000};
    std::chrono::milliseconds registrationTimeout{10000};
    /// Told to clients in Registered; a client silent for idleTimeout is dropped.
    std::chrono::milliseconds keepaliveInterval{15000};
    std::chrono::milliseconds idleTimeout{45000};
    /// A UDP address not heard from for this long is not used to deliver media
    /// (the peer's packets go through its control connection instead).
    std::chrono::milliseconds udpFreshness{5000};
    /// How long an answered call waits for a party whose control connection
    /// broke (or for both, after a relay restart) to come back with Resume
    /// before it ends with peer-lost for the other.
    std::chrono::milliseconds resumeGrace{10000};

    size_t maxClients = 10000;
    size_t maxConnectionsPerAddress = 16;
    double messagesPerSecond = 100;
    double messageBurst = 200;
    /// New names (first-key bindings) one source address may claim per
    /// minute, so nobody can fill the bindings file quickly.
    size_t newNamesPerMinute = 30;
    size_t outputBufferBytes = 256 * 1024;
    /// Media forwarding threads; 0 = one per core.
    size_t mediaThreads = 0;

    // Cluster (issue 19; all unset: single-relay mode). With `redis` set,
    // relayId, advertise and clusterKeyFile are required.
    /// "unix:/path" or "host:port".
    std::optional<std::string> redis;
    /// This relay's name in the cluster: 1-32 of [a-z0-9-].
    std::string relayId;
    /// The UDP trunk address other relays reach this one at (port 0: the bound port).
    std::optional<HostPort> advertise;
    /// 64 hex digits (32 bytes) shared by the cluster's relays.
    std::optional<std::string> clusterKeyFile;

    /// Reads the [relay] keys (all optional) over the defaults. Unknown keys
    /// and bad values are errors naming the file and line.
    static Result<RelayConfig> fromFile(const ConfigFile& file);
    /// fromFile(ConfigFile::parse(text, name)).
    static Result<RelayConfig> parse(std::string_view text, std::string name);
    /// Loads path; a missing file gives the defaults when allowMissing.
    static Result<RelayConfig> load(const std::string& path, bool allowMissing);
};

} // namespace voice
