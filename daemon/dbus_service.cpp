// SPDX-License-Identifier: MIT
// DBusService: the org.voiced.Voice1 object on the session bus.
#include "dbus_service.h"

#include "contacts.h"
#include "core/log.h"
#include "peer_names.h"

#include <exception>
#include <utility>
#include <vector>

namespace voice {

namespace {

sdbus::Error namedError(CallError error, const std::string& message) {
    return sdbus::Error(
        std::string(DBusService::kErrorPrefix) + std::string(callErrorDbusName(error)), message);
}

// Runs a handler body. sdbus::Error passes through; anything else would abort
// the process inside sdbus-c++ 1.2.0, so it becomes Error.Failed here.
template <typename F>
auto guarded(const char* member, F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const sdbus::Error&) {
        throw;
    } catch (const std::exception& e) {
        LOG_ERROR("D-Bus %s failed: %s", member, e.what());
        throw namedError(CallError::Failed, std::string(member) + " failed: " + e.what());
    } catch (...) {
        LOG_ERROR("D-Bus %s failed: unknown exception", member);
        throw namedError(CallError::Failed, std::string(member) + " failed");
    }
}

void throwIfFailed(const CallResult& result) {
    if (!result.ok()) {
        throw DBusService::toDbusError(result);
    }
}

void requireValidPeer(const std::string& peer) {
    if (!isValidPeerName(peer)) {
        throw namedError(CallError::InvalidArgument,
                         "invalid peer name " + quoteForMessage(peer) +
                             ": use 1 to 32 characters from a-z, 0-9, '.', '_' and '-'");
    }
}

} // namespace

std::map<std::string, sdbus::Variant> statsToDbus(const std::optional<CallStats>& stats) {
    std::map<std::string, sdbus::Variant> out;
    if (!stats) {
        return out;
    }
    out["latency_ms"] = sdbus::Variant(stats->latencyMs);
    out["jitter_ms"] = sdbus::Variant(stats->jitterMs);
    out["loss_percent"] = sdbus::Variant(stats->lossPercent);
    out["concealed_frames"] = sdbus::Variant(stats->concealedFrames);
    out["concealed_quiet_frames"] = sdbus::Variant(stats->concealedQuietFrames);
    out["fec_recovered_frames"] = sdbus::Variant(stats->fecRecoveredFrames);
    out["fec_active"] = sdbus::Variant(stats->fecActive);
    out["peer_loss_percent"] = sdbus::Variant(stats->peerLossPercent);
    out["codec"] = sdbus::Variant(stats->codec);
    out["cipher"] = sdbus::Variant(stats->cipher);
    out["duration_s"] = sdbus::Variant(stats->durationS);
    out["latency_p50_ms"] = sdbus::Variant(stats->latencyP50Ms);
    out["latency_p99_ms"] = sdbus::Variant(stats->latencyP99Ms);
    out["packets_rejected"] = sdbus::Variant(stats->packetsRejected);
    out["frames_played"] = sdbus::Variant(stats->framesPlayed);
    out["packets_received"] = sdbus::Variant(stats->packetsReceived);
    out["packets_lost"] = sdbus::Variant(stats->packetsLost);
    out["packets_late"] = sdbus::Variant(stats->packetsLate);
    out["playout_stalls"] = sdbus::Variant(stats->playoutStalls);
    out["buffer_delay_ms"] = sdbus::Variant(stats->bufferDelayMs);
    out["buffer_target_ms"] = sdbus::Variant(stats->bufferTargetMs);
    out["xruns"] = sdbus::Variant(stats->xruns);
    out["media_path"] = sdbus::Variant(stats->mediaPath);
    out["tunnelled_in"] = sdbus::Variant(stats->packetsTunnelledIn);
    out["tunnelled_out"] = sdbus::Variant(stats->packetsTunnelledOut);
    out["tunnel_switches"] = sdbus::Variant(stats->tunnelSwitches);
    out["echo_cancel"] = sdbus::Variant(stats->echoCancel);
    out["noise_suppression"] = sdbus::Variant(stats->noiseSuppression);
    out["auto_gain"] = sdbus::Variant(stats->autoGain);
    out["echo_attenuation_db"] = sdbus::Variant(stats->echoAttenuationDb);
    out["echo_realigns"] = sdbus::Variant(stats->echoRealigns);
    out["sched_recorder"] = sdbus::Variant(stats->recorderPriority);
    out["sched_transmitter"] = sdbus::Variant(stats->transmitterPriority);
    out["sched_receiver"] = sdbus::Variant(stats->receiverPriority);
    out["sched_player"] = sdbus::Variant(stats->playerPriority);
    out["sched_rtkit"] = sdbus::Variant(stats->schedRtkit);
    return out;
}

DBusService::DBusService(sdbus::IConnection& connection, CallControl& control)
    : AdaptorInterfaces(connection, kObjectPath), control_(control) {
    published_ = control_.snapshot();
    registerAdaptor();
}

DBusService::~DBusService() {
    unregisterAdaptor();
}

sdbus::Error DBusService::toDbusError(const CallResult& result) {
    const CallError error = result.ok() ? CallError::Failed : result.error();
    std::string message = result.detail();
    if (message.empty()) {
        message = std::string(callErrorName(error));
    }
    return namedError(error, message);
}

CallSnapshot DBusService::snapshot() {
    return control_.snapshot();
}

void DBusService::Call(const std::string& peer) {
    guarded("Call", [&] {
        requireValidPeer(peer);
        throwIfFailed(control_.call(peer));
    });
}

void DBusService::Answer() {
    guarded("Answer", [&] { throwIfFailed(control_.answer()); });
}

void DBusService::Reject() {
    guarded("Reject", [&] { throwIfFailed(control_.reject()); });
}

void DBusService::Hangup() {
    guarded("Hangup", [&] { throwIfFailed(control_.hangup()); });
}

void DBusService::Register() {
    guarded("Register", [&] { throwIfFailed(control_.reregister()); });
}

std::map<std::string, sdbus::Variant> DBusService::Status() {
    return guarded("Status", [&] {
        const CallSnapshot s = snapshot();
        std::map<std::string, sdbus::Variant> out;
        out["state"] = sdbus::Variant(std::string(callStateName(s.state)));
        out["peer"] = sdbus::Variant(s.peer);
        out["registered"] = sdbus::Variant(s.registered);
        out["registration"] = sdbus::Variant(s.registration);
        out["registration_detail"] = sdbus::Variant(s.registrationDetail);
        out["muted"] = sdbus::Variant(s.muted);
        out["name"] = sdbus::Variant(s.name);
        out["fingerprint"] = sdbus::Variant(s.fingerprint);
        out["stats"] = sdbus::Variant(statsToDbus(s.stats));
        out["sas"] = sdbus::Variant(s.sas);
        return out;
    });
}

void DBusService::SetMuted(const bool& muted) {
    guarded("SetMuted", [&] { throwIfFailed(control_.setMuted(muted)); });
}

void DBusService::Trust(const std::string& peer, const std::string& fingerprint) {
    guarded("Trust", [&] {
        requireValidPeer(peer);
        std::string canonical;
        if (!fingerprint.empty()) {
            auto normalized = normalizeFingerprint(fingerprint);
            if (!normalized) {
                throw namedError(CallError::InvalidArgument,
                                 "invalid fingerprint " + quoteForMessage(fingerprint) +
                                     ": expected 32 hex digits, optionally grouped");
            }
            canonical = std::move(*normalized);
        }
        throwIfFailed(control_.trust(peer, canonical));
    });
}

std::tuple<std::string, std::string> DBusService::Whoami() {
    return guarded("Whoami", [&] {
        CallSnapshot s = snapshot();
        return std::make_tuple(std::move(s.name), std::move(s.fingerprint));
    });
}

std::vector<std::map<std::string, sdbus::Variant>> DBusService::History(const uint32_t& limit) {
    return guarded("History", [&] {
        std::vector<std::map<std::string, sdbus::Variant>> out;
        if (history_ == nullptr) {
            return out;
        }
        // 0 means all; the history holds at most CallHistory::kMaxEntries anyway.
        for (const HistoryEntry& e : history_->newest(limit)) {
            out.push_back({{"peer", sdbus::Variant(e.peer)},
                           {"direction", sdbus::Variant(std::string(e.outgoing ? "out" : "in"))},
                           {"start", sdbus::Variant(static_cast<int64_t>(e.start))},
                           {"duration", sdbus::Variant(static_cast<uint64_t>(e.durationS))},
                           {"outcome", sdbus::Variant(e.outcome)},
                           {"reason", sdbus::Variant(e.reason)}});
        }
        return out;
    });
}

std::vector<std::map<std::string, sdbus::Variant>> DBusService::Contacts() {
    return guarded("Contacts", [&] {
        std::vector<std::map<std::string, sdbus::Variant>> out;
        if (peers_ == nullptr) {
            return out;
        }
        for (const Contact& c : listContacts(*peers_, history_)) {
            out.push_back({{"name", sdbus::Variant(c.name)},
                           {"fingerprint", sdbus::Variant(c.fingerprint)},
                           {"verified", sdbus::Variant(c.verified)},
                           {"last_call", sdbus::Variant(static_cast<int64_t>(c.lastCall))}});
        }
        return out;
    });
}

std::string DBusService::State() {
    return guarded("State", [&] { return std::string(callStateName(snapshot().state)); });
}

std::string DBusService::Peer() {
    return guarded("Peer", [&] { return snapshot().peer; });
}

bool DBusService::Registered() {
    return guarded("Registered", [&] { return snapshot().registered; });
}

std::string DBusService::Registration() {
    return guarded("Registration", [&] { return snapshot().registration; });
}

std::string DBusService::RegistrationDetail() {
    return guarded("RegistrationDetail", [&] { return snapshot().registrationDetail; });
}

bool DBusService::Muted() {
    return guarded("Muted", [&] { return snapshot().muted; });
}

std::string DBusService::Name() {
    return guarded("Name", [&] { return snapshot().name; });
}

std::string DBusService::Fingerprint() {
    return guarded("Fingerprint", [&] { return snapshot().fingerprint; });
}

std::string DBusService::Sas() {
    return guarded("Sas", [&] { return snapshot().sas; });
}

std::map<std::string, sdbus::Variant> DBusService::Stats() {
    return guarded("Stats", [&] { return statsToDbus(snapshot().stats); });
}

void DBusService::publish() {
    try {
        const CallSnapshot now = snapshot();
        const bool stateMoved = now.state != published_.state || now.peer != published_.peer;
        std::vector<std::string> changed;
        if (now.state != published_.state) {
            changed.emplace_back("State");
        }
        if (now.peer != published_.peer) {
            changed.emplace_back("Peer");
        }
        if (now.registered != published_.registered) {
            changed.emplace_back("Registered");
        }
        if (now.registration != published_.registration) {
            changed.emplace_back("Registration");
        }
        if (now.registrationDetail != published_.registrationDetail) {
            changed.emplace_back("RegistrationDetail");
        }
        if (now.muted != published_.muted) {
            changed.emplace_back("Muted");
        }
        if (now.name != published_.name) {
            changed.emplace_back("Name");
        }
        if (now.fingerprint != published_.fingerprint) {
            changed.emplace_back("Fingerprint");
        }
        if (now.sas != published_.sas) {
            changed.emplace_back("Sas");
        }
        if (now.stats != published_.stats) {
            changed.emplace_back("Stats");
        }
        published_ = now;
        if (stateMoved) {
            emitStateChanged(std::string(callStateName(now.state)), now.peer);
        }
        if (!changed.empty()) {
            // Qualified: Properties_adaptor has its own INTERFACE_NAME.
            emitPropertiesChangedSignal(org::voiced::Voice1_adaptor::INTERFACE_NAME, changed);
        }
    } catch (const std::exception& e) {
        LOG_WARNING("D-Bus: could not publish a change: %s", e.what());
    }
}

void DBusService::stateChanged() {
    publish();
}

void DBusService::statsUpdated() {
    publish();
}

void DBusService::propertiesChanged() {
    publish();
}

void DBusService::incomingCall(const std::string& peer, const std::string& fingerprint,
                               const std::string& sas) {
    try {
        emitIncomingCall(peer, fingerprint, sas);
    } catch (const std::exception& e) {
        LOG_WARNING("D-Bus: could not announce an incoming call: %s", e.what());
    }
}

void DBusService::callEnded(const std::string& peer, EndReason reason) {
    try {
        emitCallEnded(peer, std::string(endReasonName(reason)));
    } catch (const std::exception& e) {
        LOG_WARNING("D-Bus: could not announce the end of a call: %s", e.what());
    }
    publish();
}

} // namespace voice
