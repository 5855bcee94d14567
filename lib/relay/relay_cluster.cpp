// SPDX-License-Identifier: MIT
// RelayServer in cluster mode (issue 19): the cluster key and the Redis registry.
#include "core/hex.h"
#include "relay/cluster_matcher.h"
#include "relay/cluster_signals.h"
#include "relay/redis_registry.h"
#include "relay/relay_server_internal.h"
#include "relay/trunk.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace voice {

/// cluster_key_file: 64 hex digits (32 bytes), optionally followed by
/// whitespace. Read through a bounded buffer that is wiped afterwards.
Status loadClusterKey(const std::string& path, ClusterKey& out) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        return Status(Errc::NotFound, "cluster_key_file " + path + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && (st.st_mode & S_IROTH)) {
        LOG_WARNING("cluster_key_file %s is readable by everyone; chmod o-r it", path.c_str());
    }
    char buf[130];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    Status result;
    size_t end = n > 0 ? size_t(n) : 0;
    while (end > 64 && (buf[end - 1] == '\n' || buf[end - 1] == ' ' || buf[end - 1] == '\r' ||
                        buf[end - 1] == '\t')) {
        --end;
    }
    if (n < 0 || end != 64) {
        result = Status(Errc::InvalidArgument,
                        "cluster_key_file " + path + ": expected 64 hex digits (32 bytes)");
    } else {
        for (size_t i = 0; i < 32; ++i) {
            int hi = hexDigitValue(buf[2 * i]), lo = hexDigitValue(buf[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                result = Status(Errc::InvalidArgument,
                                "cluster_key_file " + path + ": expected 64 hex digits (32 bytes)");
                break;
            }
            out[i] = uint8_t(hi << 4 | lo);
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (!result.ok()) {
        OPENSSL_cleanse(out.data(), out.size());
    }
    return result;
}

Status RelayServer::joinCluster(std::optional<NameBindings> allowlist) {
    Status key = loadClusterKey(*config_.clusterKeyFile, clusterKey_);
    if (!key.ok()) {
        return key;
    }
    RedisEndpoint endpoint;
    std::string error;
    if (!RedisEndpoint::parse(*config_.redis, endpoint, error)) {
        return Status(Errc::InvalidArgument, "redis: " + error);
    }
    // The advertised trunk address; port 0 stands for the bound port (tests).
    HostPort advertised = *config_.advertise;
    if (advertised.port == 0) {
        advertised.port = port_;
    }
    std::string advertise = advertised.toString();
    auto trunkAddress = SocketAddress::fromHostPort(advertised);
    if (!trunkAddress.ok()) {
        return Status(Errc::InvalidArgument,
                      "advertise: a numeric address is needed (" + advertise + ")");
    }
    advertised_ = *trunkAddress;
    auto trunkEpoch = trunk::randomEpoch();
    if (!trunkEpoch.ok()) {
        return trunkEpoch.status();
    }
    trunkKey_ = trunk::deriveKey(clusterKey_);
    trunkMac_ = std::make_unique<trunk::Mac>(*trunkKey_);
    if (!trunkMac_->ok()) {
        return Status(Errc::Crypto, "HMAC-SHA256 unavailable: no trunk MAC");
    }
    // Tokens any relay of the cluster can verify: a client whose relay died
    // resumes its call at another one (relay_cluster_resume.cpp).
    auto tokens = ResumeTokens::fromClusterKey(clusterKey_);
    if (!tokens.ok()) {
        return tokens.status();
    }
    resumeTokens_.emplace(std::move(*tokens));
    trunkSender_ = std::make_unique<trunk::Sender>(*trunkEpoch);
    trunkReplay_ = std::make_unique<trunk::ReplayGuard>();
    auto registry = std::make_unique<RedisRegistry>(*loop_, endpoint, config_.relayId, advertise,
                                                    std::move(allowlist));
    cluster_ = registry.get();
    registry_ = std::move(registry);
    matcher_ = std::make_unique<ClusterMatcher>(cluster_->redis(),
                                                config_.ringTimeout + std::chrono::seconds(5));
    signals_ =
        std::make_unique<ClusterSignals>(*loop_, cluster_->redis(), endpoint, config_.relayId,
                                         [this](const ClusterSignal& s) { onClusterSignal(s); });
    cluster_->onMovedHere([this](const std::string& name, const std::string& relay, uint64_t epoch,
                                 uint64_t connection) {
        ClusterSignal s;
        s.kind = ClusterSignal::Kind::Replaced;
        s.callee = name;
        s.callerSession = connection;
        s.calleeSession = epoch;
        signals_->send(relay, std::move(s));
    });
    cluster_->start();
    signals_->start();
    LOG_NOTICE("cluster mode: relay '%s', redis %s", config_.relayId.c_str(),
               endpoint.toString().c_str());
    return Status();
}

} // namespace voice
