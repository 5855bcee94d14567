// SPDX-License-Identifier: MIT
// RelayServer's Hello and Register: the challenge, the signature, the name
// check (the local registry, or the cluster's in Redis), the device switch.
// Moved as is from relay_server.cpp (it passed 800 lines with issue 19).
#include "crypto/identity.h"
#include "relay/redis_registry.h"
#include "relay/relay_server_internal.h"
#include "voice_config.h"
#include "wire/validate.h"

#include <algorithm>

namespace voice {

void RelayServer::handleHello(Connection& c, const msg::Hello& m) {
    if (m.protocolVersion != kProtocolVersion) {
        refuse(c, RefuseReason::UnsupportedVersion,
               "protocol version " + std::to_string(m.protocolVersion) +
                   " is not served (this relay speaks " + std::to_string(kProtocolVersion) + ")");
        return;
    }
    msg::Hello hello;
    hello.software = std::string("voice-relayd ") + VOICE_VERSION;
    msg::RegisterChallenge challenge;
    randomBytes(c.nonce);
    challenge.nonce = c.nonce;
    c.state = Connection::State::AwaitRegister;
    if (send(c, hello)) {
        send(c, challenge);
    }
}

void RelayServer::handleRegister(Connection& c, const msg::Register& m) {
    if (!isValidName(m.name)) {
        refuse(c, RefuseReason::BadName, "invalid name");
        return;
    }
    const auto signedBytes = registerSignedBytes(c.nonce, m.name);
    if (!Identity::verify(m.identityKey, signedBytes, m.signature)) {
        refuse(c, RefuseReason::BadSignature, "the signature over the challenge does not verify");
        return;
    }
    const Registry::NameCheck check = registry_->checkName(m.name, m.identityKey);
    if (check == Registry::NameCheck::Free && cluster_) {
        claimInCluster(c, m.name, m.identityKey, false);
        return;
    }
    switch (check) {
    case Registry::NameCheck::NotAllowed:
        refuse(c, RefuseReason::NotAllowed, "'" + m.name + "' is not on this relay's allowlist");
        return;
    case Registry::NameCheck::AllowlistedToOther:
        refuse(c, RefuseReason::NameTaken,
               "'" + m.name + "' is bound to another identity key by the allowlist");
        return;
    case Registry::NameCheck::Taken:
        refuse(c, RefuseReason::NameTaken,
               "'" + m.name + "' is registered with another identity key");
        return;
    case Registry::NameCheck::Free:
        if (!newNames_->tryTake(c.peer)) {
            refuse(c, RefuseReason::RateLimited, "too many new names from this address; try later");
            return;
        }
        if (!registry_->bindName(m.name, m.identityKey)) {
            refuse(c, RefuseReason::ServerFull, "no room for another name");
            return;
        }
        break;
    case Registry::NameCheck::Owned:
        break;
    }
    completeRegister(c, m.name, m.identityKey);
}

// Cluster mode: the name is settled in Redis (RedisRegistry::claim), first
// without binding; a free name costs a new-name token and is then bound
// atomically (a concurrent claim through another relay may still win).
void RelayServer::claimInCluster(Connection& c, const std::string& name, const IdentityKey& key,
                                 bool bind) {
    c.claiming = true;
    const uint64_t id = c.id;
    cluster_->claim(name, key, bind, [this, id, name, key](RedisRegistry::Claim claim) {
        Connection* conn = find(id);
        if (!conn || conn->state != Connection::State::AwaitRegister) {
            return; // gone (closed, timed out) meanwhile
        }
        conn->claiming = false;
        switch (claim) {
        case RedisRegistry::Claim::Owned:
        case RedisRegistry::Claim::Bound:
            completeRegister(*conn, name, key);
            return;
        case RedisRegistry::Claim::Taken:
            refuse(*conn, RefuseReason::NameTaken,
                   "'" + name + "' is registered with another identity key");
            return;
        case RedisRegistry::Claim::Free:
            if (!newNames_->tryTake(conn->peer)) {
                refuse(*conn, RefuseReason::RateLimited,
                       "too many new names from this address; try later");
                return;
            }
            claimInCluster(*conn, name, key, true);
            return;
        case RedisRegistry::Claim::Unavailable:
            refuse(*conn, RefuseReason::ServerFull,
                   "the cluster's name registry is unavailable; try later");
            return;
        }
    });
}

void RelayServer::completeRegister(Connection& c, const std::string& name, const IdentityKey& key) {
    // Device switch: the newest proven connection owns the name.
    auto existing = registry_->connectionOf(name);
    if (existing && *existing != c.id) {
        if (Connection* old = find(*existing)) {
            LOG_INFO("'%s' registered again from %s; closing the old connection", name.c_str(),
                     describe(c.peer).c_str());
            // Replaced, not bad-state: the old client (another device with
            // the same key) must stop, not reconnect and take the name back.
            sendErrorAndClose(*old, ErrorCode::Replaced,
                              "'" + name + "' was registered again from another connection");
        }
        registry_->setOffline(name, *existing);
    }
    c.name = name;
    c.key = key;
    c.state = Connection::State::Registered;
    if (c.pending) {
        c.pending = false;
        pending_->remove(c.peer, c.id); // from now on only max_clients bounds it
    }
    registry_->setOnline(c.name, c.id);
    ++registrations_;
    msg::Registered r;
    r.name = c.name;
    r.udpPort = port_;
    r.keepaliveSeconds = uint16_t(std::clamp<int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(config_.keepaliveInterval).count(), 1,
        3600));
    LOG_INFO("'%s' registered from %s", c.name.c_str(), describe(c.peer).c_str());
    send(c, r);
}

} // namespace voice
