// SPDX-License-Identifier: MIT
// CallManager, the media half: the end-to-end handshake, the audio pipeline
// and its transport, tunnelled media, and the live statistics of a call.
#include "call_manager.h"
#include "core/log.h"
#include "dbus_service.h"

#include <cmath>

namespace voice {

namespace {

/// Probes keep the relay's view of our UDP address fresh and, in tunnel mode,
/// tell it when UDP works again; well under UdpTransport::kUdpSilence.
constexpr std::chrono::milliseconds kProbeInterval{250};
/// Tunnelled media beyond this much unsent control output is dropped (UDP-like).
constexpr size_t kMaxTunnelBacklog = 64 * 1024;

} // namespace

void CallManager::handleHandshake(const msg::E2eHandshake& m) {
    // The handshake runs while the call rings (the caller starts it on
    // Ringing), so both sides know the SAS before anyone answers; the media
    // waits for CallStarted.
    if (!sameCall(m.callId) || call_->keys || call_->pipeline) {
        return; // not ours, or already finished (takeResult() leaves done() false)
    }
    if (call_->caller) {
        if (!call_->handshake || call_->handshake->done()) {
            return;
        }
        auto confirm = call_->handshake->onPeerHello(m.bytes);
        if (!confirm.ok()) {
            failCall("handshake: " + confirm.status().toString());
            return;
        }
        msg::E2eHandshake out;
        out.callId = call_->id;
        out.bytes = std::move(*confirm);
        relay_.send(out);
        call_->sas = call_->handshake->sas();
        finishHandshake();
        return;
    }
    if (!call_->handshake) {
        auto hs = Handshake::create(
            HandshakeRole::Callee, identity_, call_->id,
            {config_.cipher, CipherSuite::Aes256Gcm, CipherSuite::Aes256CbcHmacSha256},
            ownMediaFormat());
        if (!hs.ok()) {
            failCall(hs.status().toString());
            return;
        }
        call_->handshake.emplace(std::move(*hs));
        auto reply = call_->handshake->onPeerHello(m.bytes);
        if (!reply.ok()) {
            failCall("handshake: " + reply.status().toString());
            return;
        }
        msg::E2eHandshake out;
        out.callId = call_->id;
        out.bytes = std::move(*reply);
        relay_.send(out);
        call_->sas = call_->handshake->sas();
        announceIncoming();
        return;
    }
    if (call_->handshake->done()) {
        return;
    }
    if (Status s = call_->handshake->onConfirm(m.bytes); !s.ok()) {
        failCall("handshake: " + s.toString());
        return;
    }
    finishHandshake();
}

void CallManager::finishHandshake() {
    auto result = call_->handshake->takeResult();
    if (!result.ok()) {
        failCall("handshake: " + result.status().toString());
        return;
    }
    // The key proven in the handshake must be the one the relay announced
    // (and that we pinned); otherwise someone in the middle swapped it.
    if (result->peerFingerprint != call_->peerFingerprint) {
        LOG_ERROR("%s proved key %s in the handshake, not the announced %s",
                  machine_.peer().c_str(), result->peerFingerprint.c_str(),
                  call_->peerFingerprint.c_str());
        endCall(EndReason::Untrusted, HangupReason::Untrusted);
        return;
    }
    auto codec = codecIdFromWire(result->media.codec);
    if (!codec.ok()) { // the caller checked it; a callee chose it itself
        failCall("handshake: unknown codec chosen");
        return;
    }
    call_->codec = *codec;
    LOG_INFO("end-to-end keys agreed with %s (%s, SAS %s); audio %s %.1f kHz, %.1f ms frames%s",
             machine_.peer().c_str(), std::string(cipherSuiteName(result->suite)).c_str(),
             result->sas.c_str(), std::string(codecName(*codec)).c_str(),
             result->media.sampleRate / 1000.0, result->media.frameUs / 1000.0,
             result->media == ownMediaFormat() ? "" : " (the peer's settings differ)");
    call_->keys.emplace(std::move(*result));
    if (service_ != nullptr) {
        service_->propertiesChanged(); // Sas
    }
    maybeStartMedia();
}

MediaFormat CallManager::ownMediaFormat() const {
    MediaFormat f;
    f.codec = static_cast<uint8_t>(config_.codec);
    f.sampleRate = config_.codecRate();
    f.frameUs = static_cast<uint32_t>(config_.frameDuration.count());
    return f;
}

void CallManager::maybeStartMedia() {
    if (!call_ || !call_->started || !call_->keys || call_->pipeline) {
        return;
    }
    HandshakeResult keys = std::move(*call_->keys);
    call_->keys.reset();
    if (Status s = startMedia(std::move(keys)); !s.ok()) {
        failCall("audio: " + s.toString());
    }
}

Status CallManager::startMedia(HandshakeResult result) {
    SocketAddress media = relay_.mediaAddress();
    if (config_.mediaRelay) {
        media = *config_.mediaRelay; // media_relay: a UDP forwarder in front of the relay
    }
    if (config_.forceTunnel) {
        media.setPort(0); // no UDP socket at all: the relay then tunnels to us too
    }
    auto transport = UdpTransport::create(media, call_->sessionId);
    if (!transport.ok()) {
        return transport.status();
    }
    AudioPipelineConfig pc;
    pc.capture.device = config_.captureDevice;
    pc.playback.device = config_.playbackDevice;
    pc.playback.periods = 8;
    pc.cpu = chooseAudioCpu(config_.audioCpu);
    // rate = 44100|48000: both devices run at it; PCM codes at it, Opus at
    // 48 kHz (the pipeline resamples between the two).
    auto format = AudioFormat::make(config_.sampleRate, 1);
    if (!format.ok()) {
        return format.status();
    }
    pc.capture.format = *format;
    pc.playback.format = *format;
    // The handshake's choice: ours, or Opus 48 kHz when the peer's differs.
    pc.codec.codec = call_->codec.value_or(config_.codec);
    pc.codec.sampleRate = result.media.sampleRate;
    pc.codec.frameDuration = std::chrono::microseconds(result.media.frameUs);
    pc.codec.bitrate = config_.bitrate;
    pc.fecMode = config_.fec;
    pc.echoCancel = config_.echoCancel;
    pc.noiseSuppression = config_.noiseSuppression;
    pc.autoGain = config_.autoGain;
    pc.sessionId = call_->sessionId;
    pc.sendDirection =
        call_->caller ? MediaDirection::CallerToCallee : MediaDirection::CalleeToCaller;
    pc.openMode = AudioDevice::OpenMode::AllowMissing;
    // A small fixed margin over the measured transit: the jitter buffer grows
    // by itself when arrivals jitter, so a large floor only adds latency
    // (15 ms measured 40 ms one-way in scripts/demo, 5 ms about 30 ms, with
    // the same concealment). 2 ms, the jitter buffer's default, once the
    // peak transit is held through a sound server's capture sawtooth and the
    // player no longer pulls ahead of its clock (bench/e2e_call_bench.sh,
    // 60 s calls: Opus 20 ms p50 27.5 ms in both directions, 28.2 / 30.5 at
    // 5 ms before those fixes, with no more concealment).
    pc.jitter.margin = std::chrono::milliseconds(2);
    auto pipeline =
        AudioPipeline::make(pc, **transport, std::move(result.sealer), std::move(result.opener));
    if (!pipeline.ok()) {
        return pipeline.status();
    }
    call_->cipher = std::string(cipherSuiteName(result.suite));
    call_->transport = std::move(*transport);
    call_->pipeline = std::move(*pipeline);
    call_->pipeline->setMuted(muted_);
    UdpTransport* t = call_->transport.get();
    if (!call_->routeKey.empty()) {
        t->setRouteKey(call_->routeKey.span());
    }
    Status watched = loop_.addFd(t->outgoingFd(), EventLoop::kReadable, [this, t](uint32_t) {
        while (auto p = t->takeOutgoing()) {
            if (relay_.pendingOutput() > kMaxTunnelBacklog) {
                continue; // the relay link is congested: drop like UDP would
            }
            msg::MediaTunnel m;
            m.packet.assign(p->bytes, p->bytes + p->size);
            relay_.send(m);
        }
    });
    if (!watched.ok()) {
        return watched;
    }
    t->sendProbe();
    probeTimer_ = loop_.addRepeatingTimer(kProbeInterval, [t] {
        t->sendProbe();
        // The transmitter notes path switches; they are logged here, off the audio threads.
        // "switched N ms ago" lets a reader date the switch itself from the log line.
        if (auto c = t->takePathChange()) {
            const long long ago = static_cast<long long>(UdpTransport::steadyMs() - c->atMs);
            if (c->tunnel) {
                LOG_INFO("media: nothing over UDP for %lld ms: sending through the relay "
                         "connection (switched %lld ms ago)",
                         static_cast<long long>(c->udpSilenceMs), ago);
            } else {
                LOG_INFO("media: UDP works again: back to UDP (switched %lld ms ago)", ago);
            }
        }
    });
    if (Status s = call_->pipeline->start(); !s.ok()) {
        return s;
    }
    LOG_INFO("media flowing (session via relay %s)", media.toString().c_str());
    updateStats();
    return {};
}

void CallManager::handleTunnel(const msg::MediaTunnel& m) {
    if (call_ && call_->transport) {
        call_->transport->deliverTunnelled(m.packet);
    }
}

void CallManager::stopMedia() {
    if (probeTimer_ != 0) {
        loop_.cancelTimer(probeTimer_);
        probeTimer_ = 0;
    }
    if (statsTimer_ != 0) {
        loop_.cancelTimer(statsTimer_);
        statsTimer_ = 0;
    }
    if (!call_) {
        return;
    }
    if (call_->pipeline) {
        call_->pipeline->stop();
        call_->pipeline.reset();
    }
    if (call_->transport) {
        LOG_INFO("media: %llu packets sent, %llu received; %llu tunnelled out, %llu tunnelled in",
                 static_cast<unsigned long long>(call_->transport->stats().packetsSent),
                 static_cast<unsigned long long>(call_->transport->stats().packetsReceived),
                 static_cast<unsigned long long>(call_->transport->packetsTunnelledOut()),
                 static_cast<unsigned long long>(call_->transport->packetsTunnelledIn()));
        loop_.removeFd(call_->transport->outgoingFd());
        call_->transport->shutdown();
        call_->transport.reset();
    }
}

void CallManager::updateStats() {
    if (!call_) {
        return;
    }
    CallStats s;
    s.codec = std::string(codecName(call_->codec.value_or(config_.codec)));
    s.cipher = call_->cipher;
    if (call_->answered) {
        s.durationS =
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::steady_clock::now() - call_->answeredAt)
                                      .count());
    }
    if (call_->pipeline) {
        const AudioPipelineStats p = call_->pipeline->stats();
        s.latencyMs = std::chrono::duration<double, std::milli>(p.latency.p50).count();
        s.jitterMs = std::chrono::duration<double, std::milli>(p.jitter.jitter).count();
        // Loss as RTP counts it (RFC 3550 6.4.1): packets that never came.
        // One that came too late to play is received, and counted apart;
        // its frame was concealed like a lost one's (concealed_frames).
        const uint64_t lost = p.jitter.packetsNeverArrived();
        const double expected = double(p.jitter.packetsReceived + lost);
        s.lossPercent = expected > 0 ? 100.0 * double(lost) / expected : 0.0;
        s.concealedFrames = p.jitter.framesConcealed;
        s.concealedQuietFrames = p.jitter.framesConcealedQuiet;
        s.fecRecoveredFrames = p.jitter.framesFecRecovered;
        s.fecActive = p.fecActive;
        s.peerLossPercent = p.peerLossPercent;
        s.latencyP50Ms = s.latencyMs;
        s.latencyP99Ms = std::chrono::duration<double, std::milli>(p.latency.p99).count();
        s.packetsRejected = p.packetsDropped;
        s.framesPlayed = p.framesPlayed;
        s.packetsReceived = p.packetsReceived;
        s.packetsLost = lost;
        s.packetsLate = p.jitter.packetsLate;
        s.playoutStalls = p.jitter.stalls;
        s.bufferDelayMs = std::chrono::duration<double, std::milli>(p.jitter.currentDelay).count();
        s.bufferTargetMs = std::chrono::duration<double, std::milli>(p.jitter.targetDelay).count();
        s.xruns = p.capture.xruns + p.playback.xruns;
        s.echoCancel = p.echoCancelActive;
        s.noiseSuppression = p.noiseSuppressionActive;
        s.autoGain = p.autoGainActive;
        s.echoAttenuationDb = std::round(p.echoAttenuationDb * 10.0) / 10.0;
        s.echoRealigns = p.echoRealigns;
        if (p.echoRealigns > (stats_ ? stats_->echoRealigns : 0)) {
            // Control thread, once a second at most: the audio threads only count.
            LOG_INFO(
                "echo canceller restarted: its far-end reference moved by %.1f ms (%llu so far)",
                double(p.echoLastRealignUs) / 1000.0,
                static_cast<unsigned long long>(p.echoRealigns));
        }
        s.recorderPriority = p.recorderPriority;
        s.transmitterPriority = p.transmitterPriority;
        s.receiverPriority = p.receiverPriority;
        s.playerPriority = p.playerPriority;
        s.schedRtkit = p.realtimeViaRtkit;
    }
    if (call_->transport) {
        s.mediaPath = call_->transport->tunnelling() ? "tunnel" : "udp";
        s.packetsTunnelledIn = call_->transport->packetsTunnelledIn();
        s.packetsTunnelledOut = call_->transport->packetsTunnelledOut();
        s.tunnelSwitches = call_->transport->switchesToTunnel();
    }
    stats_ = s;
    if (service_ != nullptr) {
        service_->statsUpdated();
    }
}

bool CallManager::audioHealthy() {
    if (!call_ || !call_->pipeline) {
        return true;
    }
    // Both real-time threads must move: a recorder stuck in a capture read
    // (the peer hears nothing) is as much a hang as a stuck player.
    const AudioPipelineStats p = call_->pipeline->stats();
    const bool moved = p.framesCaptured != lastCaptured_ && p.framesPlayed != lastPlayed_;
    lastCaptured_ = p.framesCaptured;
    lastPlayed_ = p.framesPlayed;
    return moved;
}

} // namespace voice
