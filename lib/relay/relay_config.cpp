// SPDX-License-Identifier: MIT
// RelayConfig: every setting of voice-relayd, with defaults, read from voice-relayd.conf.
#include "relay/relay_config.h"

#include "relay/redis_client.h"

namespace voice {

bool isValidRelayId(std::string_view id) {
    if (id.empty() || id.size() > 32) {
        return false;
    }
    for (char ch : id) {
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            return false;
        }
    }
    return true;
}

using std::chrono::milliseconds;

Result<RelayConfig> RelayConfig::fromFile(const ConfigFile& file) {
    Status keys = file.checkKeys({"listen",
                                  "state_dir",
                                  "metrics",
                                  "log_level",
                                  "allowlist",
                                  "ring_timeout",
                                  "registration_timeout",
                                  "keepalive_interval",
                                  "idle_timeout",
                                  "udp_freshness",
                                  "resume_grace",
                                  "max_clients",
                                  "max_connections_per_address",
                                  "messages_per_second",
                                  "message_burst",
                                  "new_names_per_minute",
                                  "output_buffer_bytes",
                                  "media_threads",
                                  "redis",
                                  "relay_id",
                                  "advertise",
                                  "cluster_key_file"});
    if (!keys.ok()) {
        return keys;
    }
    RelayConfig c;
#define VOICE_TAKE(field, expr)                                                                    \
    do {                                                                                           \
        auto r = (expr);                                                                           \
        if (!r.ok()) {                                                                             \
            return r.status();                                                                     \
        }                                                                                          \
        field = *r;                                                                                \
    } while (0)
    // Port 0 (any free port, reported to systemd as STATUS) is for tests.
    auto hostPort = [&](std::string_view key) -> Result<HostPort> {
        auto text = file.getString(key, std::nullopt, 300);
        if (!text.ok()) {
            return text.status();
        }
        auto hp = HostPort::parse(*text, true);
        if (!hp.ok()) {
            return Status(Errc::InvalidArgument, file.name() + ": key '" + std::string(key) +
                                                     "': " + hp.status().detail());
        }
        return hp;
    };
    if (file.has("listen")) {
        VOICE_TAKE(c.listen, hostPort("listen"));
    }
    VOICE_TAKE(c.stateDir, file.getString("state_dir", c.stateDir, 512));
    if (file.has("metrics")) {
        VOICE_TAKE(c.metrics, hostPort("metrics"));
    }
    if (file.has("allowlist")) {
        VOICE_TAKE(c.allowlist, file.getString("allowlist", std::nullopt, 512));
    }
    std::string level;
    VOICE_TAKE(level, file.getChoice("log_level", {"error", "warning", "notice", "info", "debug"},
                                     std::string("info")));
    parseLogLevel(level, c.logLevel);
    const milliseconds ms1(1), hour(3600 * 1000);
    VOICE_TAKE(c.ringTimeout, file.getDuration("ring_timeout", ms1, hour, c.ringTimeout));
    VOICE_TAKE(c.registrationTimeout,
               file.getDuration("registration_timeout", ms1, hour, c.registrationTimeout));
    VOICE_TAKE(c.keepaliveInterval, file.getDuration("keepalive_interval", milliseconds(1000), hour,
                                                     c.keepaliveInterval));
    VOICE_TAKE(c.idleTimeout, file.getDuration("idle_timeout", ms1, 3 * hour, c.idleTimeout));
    VOICE_TAKE(c.udpFreshness, file.getDuration("udp_freshness", ms1, hour, c.udpFreshness));
    VOICE_TAKE(c.resumeGrace, file.getDuration("resume_grace", ms1, hour, c.resumeGrace));
    VOICE_TAKE(c.maxClients, file.getInt("max_clients", 1, 1000000, int64_t(c.maxClients)));
    VOICE_TAKE(c.maxConnectionsPerAddress, file.getInt("max_connections_per_address", 1, 1000000,
                                                       int64_t(c.maxConnectionsPerAddress)));
    int64_t rate = 0;
    VOICE_TAKE(rate, file.getInt("messages_per_second", 1, 1000000, int64_t(c.messagesPerSecond)));
    c.messagesPerSecond = double(rate);
    VOICE_TAKE(rate, file.getInt("message_burst", 1, 1000000, int64_t(c.messageBurst)));
    c.messageBurst = double(rate);
    VOICE_TAKE(c.newNamesPerMinute,
               file.getInt("new_names_per_minute", 1, 1000000, int64_t(c.newNamesPerMinute)));
    VOICE_TAKE(c.outputBufferBytes, file.getInt("output_buffer_bytes", 4096, 64 * 1024 * 1024,
                                                int64_t(c.outputBufferBytes)));
    VOICE_TAKE(c.mediaThreads, file.getInt("media_threads", 0, 256, int64_t(c.mediaThreads)));
    if (file.has("redis")) {
        VOICE_TAKE(c.redis, file.getString("redis", std::nullopt, 300));
        RedisEndpoint endpoint;
        std::string error;
        if (!RedisEndpoint::parse(*c.redis, endpoint, error)) {
            return Status(Errc::InvalidArgument, file.name() + ": key 'redis': " + error);
        }
    }
    if (file.has("relay_id")) {
        VOICE_TAKE(c.relayId, file.getString("relay_id", std::nullopt, 64));
    }
    if (file.has("advertise")) {
        VOICE_TAKE(c.advertise, hostPort("advertise"));
    }
    if (file.has("cluster_key_file")) {
        VOICE_TAKE(c.clusterKeyFile, file.getString("cluster_key_file", std::nullopt, 512));
    }
#undef VOICE_TAKE
    if (c.redis) {
        auto missing = [&](const char* key) {
            return Status(Errc::InvalidArgument, file.name() + ": 'redis' is set, so '" +
                                                     std::string(key) + "' is required too");
        };
        if (c.relayId.empty()) {
            return missing("relay_id");
        }
        if (!c.advertise) {
            return missing("advertise");
        }
        if (!c.clusterKeyFile) {
            return missing("cluster_key_file");
        }
    } else if (!c.relayId.empty() || c.advertise || c.clusterKeyFile) {
        return Status(Errc::InvalidArgument,
                      file.name() + ": relay_id, advertise and cluster_key_file need 'redis'");
    }
    if (!c.relayId.empty() && !isValidRelayId(c.relayId)) {
        return Status(Errc::InvalidArgument,
                      file.name() + ": key 'relay_id': 1 to 32 of a-z, 0-9 and '-'");
    }
    if (c.idleTimeout <= c.keepaliveInterval) {
        return Status(Errc::InvalidArgument,
                      file.name() + ": idle_timeout must be longer than keepalive_interval");
    }
    return c;
}

Result<RelayConfig> RelayConfig::parse(std::string_view text, std::string name) {
    auto file = ConfigFile::parse(text, std::move(name));
    if (!file.ok()) {
        return file.status();
    }
    return fromFile(*file);
}

Result<RelayConfig> RelayConfig::load(const std::string& path, bool allowMissing) {
    auto file = ConfigFile::load(path);
    if (!file.ok()) {
        if (allowMissing && file.status().code() == Errc::NotFound) {
            return RelayConfig{};
        }
        return file.status();
    }
    return fromFile(*file);
}

} // namespace voice
