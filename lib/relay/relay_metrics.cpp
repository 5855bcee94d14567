// SPDX-License-Identifier: MIT
// RelayServer::renderMetrics: the Prometheus text the MetricsEndpoint serves.
#include "relay/redis_registry.h"
#include "relay/relay_server.h"
#include "relay/relay_server_internal.h"

#include <cstdio>

namespace voice {

std::string RelayServer::renderMetrics() const {
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, uint64_t value) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
               name + " " + std::to_string(value) + "\n";
    };
    size_t registered = 0;
    for (auto& [id, c] : connections_) {
        registered += c->state == Connection::State::Registered;
    }
    size_t active = 0;
    for (auto& [id, call] : calls_) {
        active += call->active;
    }
    metric("voice_relayd_connections", "gauge", "Open control connections.", connections_.size());
    metric("voice_relayd_clients", "gauge", "Registered clients.", registered);
    metric("voice_relayd_calls_ringing", "gauge", "Calls ringing now.", calls_.size() - active);
    metric("voice_relayd_calls_active", "gauge", "Calls answered and not ended.", active);
    metric("voice_relayd_calls_total", "counter", "Calls rung.", callsTotal_);
    metric("voice_relayd_calls_answered_total", "counter", "Calls answered.", callsAnswered_);
    metric("voice_relayd_calls_rejected_busy_total", "counter", "Calls refused: callee busy.",
           rejectedBusy_);
    metric("voice_relayd_calls_rejected_offline_total", "counter",
           "Calls refused: callee not registered.", rejectedOffline_);
    metric("voice_relayd_ring_timeouts_total", "counter", "Calls and registrations that timed out.",
           timeouts_);
    metric("voice_relayd_resumes_total", "counter",
           "Resume requests accepted (after a lost connection or a relay restart).", resumes_);
    metric("voice_relayd_resumes_refused_total", "counter",
           "Resume requests refused (bad, foreign or expired token, ended call).", resumesRefused_);
    metric("voice_relayd_registrations_total", "counter", "Accepted registrations.",
           registrations_);
    metric("voice_relayd_registrations_refused_total", "counter", "Refused registrations.",
           registrationsRefused_);
    metric("voice_relayd_connections_refused_total", "counter",
           "Connections closed at accept by a limit.", connectionsRefused_);
    metric("voice_relayd_connections_evicted_total", "counter",
           "Unregistered connections closed to make room for a newer one from the same address.",
           connectionsEvicted_);
    metric("voice_relayd_protocol_errors_total", "counter", "Connections closed for bad frames.",
           protocolErrors_);
    metric("voice_relayd_slow_readers_dropped_total", "counter",
           "Connections dropped for a full output buffer.", slowReadersDropped_);
    metric("voice_relayd_packets_forwarded_total", "counter", "Media packets forwarded.",
           router_->forwardedPackets.load());
    metric("voice_relayd_bytes_forwarded_total", "counter", "Media bytes forwarded.",
           router_->forwardedBytes.load());
    metric("voice_relayd_packets_tunnelled_total", "counter",
           "Media packets received over control connections.", router_->tunnelledPackets.load());
    metric("voice_relayd_packets_dropped_total", "counter",
           "Media packets dropped (unknown session, bad header, full buffer).",
           router_->droppedPackets.load());
    metric("voice_relayd_probes_total", "counter",
           "Valid UDP probes (they set their sender's address).", router_->probes.load());
    metric("voice_relayd_probes_echoed_total", "counter",
           "Probes echoed to a tunnelling client so it hears UDP works again.",
           router_->probesEchoed.load());
    uint64_t junkUnread = 0, junkLimits = 0;
    for (auto& m : mediaThreads_) {
        junkUnread += m->junkDroppedUnread.load(std::memory_order_relaxed);
        junkLimits += m->junkLimits.load(std::memory_order_relaxed);
    }
    metric("voice_relayd_junk_sources_limited_total", "counter",
           "Times a source sent junk datagrams over its budget and was limited.", junkLimits);
    metric("voice_relayd_junk_dropped_unread_total", "counter",
           "Datagrams dropped unread from a limited source.", junkUnread);
    metric(
        "voice_relayd_packets_rejected_total", "counter",
        "Datagrams with a bad header or an unknown session, refused probes, stray sources (junk).",
        router_->rejectedPackets.load());
    metric("voice_relayd_address_changes_total", "counter",
           "Sessions that moved to a new UDP address.", router_->addressChanges.load());
    metric("voice_relayd_probes_refused_total", "counter",
           "UDP probes refused (bad MAC or size, replayed or old counter, no route key).",
           router_->probesRefused.load());
    metric("voice_relayd_probe_requests_total", "counter",
           "ProbeRequests sent: a side's media came from a new address (NAT rebinding?).",
           router_->probeRequests.load());
    metric("voice_relayd_stray_packets_total", "counter",
           "Media of a live session from an address that is not its current one (dropped).",
           router_->strayPackets.load());
    if (cluster_) {
        metric("voice_relayd_cluster_redis_up", "gauge", "1 while the Redis connection is up.",
               cluster_->redisUp());
        metric("voice_relayd_calls_rejected_unavailable_total", "counter",
               "Calls refused: the callee's state could not be read from Redis.",
               rejectedUnavailable_);
        metric("voice_relayd_cluster_relays", "gauge",
               "Relays of the cluster seen alive in Redis (this one included).",
               cluster_->peerRelays());
        metric("voice_relayd_cluster_redis_roundtrip_microseconds", "gauge",
               "Round trip of the last answered Redis command.",
               uint64_t(cluster_->roundTrip().count()));
        metric("voice_relayd_cluster_redis_commands_total", "counter", "Redis commands sent.",
               cluster_->commands());
        metric("voice_relayd_trunk_packets_sent_total", "counter",
               "Media packets sent to other relays over the trunk.", router_->trunkSent.load());
        metric("voice_relayd_trunk_packets_received_total", "counter",
               "Media packets received from other relays' trunks.", router_->trunkReceived.load());
        metric("voice_relayd_trunk_packets_rejected_total", "counter",
               "Trunk datagrams dropped: bad MAC, or not from that call's relay.",
               router_->trunkRejected.load());
        metric("voice_relayd_trunk_packets_replayed_total", "counter",
               "Trunk datagrams dropped as duplicates of one already accepted (replays).",
               trunkReplay_->duplicates.load());
        metric("voice_relayd_trunk_packets_too_old_total", "counter",
               "Trunk datagrams dropped as older than their sender's replay window.",
               trunkReplay_->tooOld.load());
        metric("voice_relayd_trunk_senders", "gauge",
               "Sending relay processes (epochs) with a replay window here.",
               uint64_t(trunkReplay_->senders()));
        metric("voice_relayd_trunk_senders_forgotten_total", "counter",
               "Replay windows handed to a newer sender epoch (table full).",
               trunkReplay_->sendersForgotten.load());
        metric("voice_relayd_cluster_redis_failures_total", "counter",
               "Redis commands that failed (timeout, no connection, error reply).",
               cluster_->commandsFailed());
    }
    // Per active call, labelled by the relay's call serial (never a session id: those are secrets).
    out += "# HELP voice_relayd_call_packets_lost Packets lost per direction of an active call.\n"
           "# TYPE voice_relayd_call_packets_lost gauge\n";
    std::string jitter = "# HELP voice_relayd_call_jitter_seconds RFC 3550 jitter per direction.\n"
                         "# TYPE voice_relayd_call_jitter_seconds gauge\n";
    char line[160];
    for (auto& [serial, call] : calls_) {
        if (!call->routed) {
            continue;
        }
        for (int side = 0; side < 2; ++side) {
            auto st = router_->stats(side == 0 ? call->callerSession : call->calleeSession);
            const char* from = side == 0 ? "caller" : "callee";
            std::snprintf(line, sizeof line,
                          "voice_relayd_call_packets_lost{call=\"%llu\",from=\"%s\"} %llu\n",
                          (unsigned long long)serial, from, (unsigned long long)st.lost);
            out += line;
            std::snprintf(line, sizeof line,
                          "voice_relayd_call_jitter_seconds{call=\"%llu\",from=\"%s\"} %.6f\n",
                          (unsigned long long)serial, from, st.jitterUs / 1e6);
            jitter += line;
        }
    }
    out += jitter;
    return out;
}

} // namespace voice
