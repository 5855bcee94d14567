// SPDX-License-Identifier: MIT
// CallTones: ring, ringback and busy tones around a call.
#include "call_tones.h"

#include "audio/wav_file.h"
#include "core/log.h"

namespace voice {

CallTones::CallTones(const DaemonConfig& config) : config_(config) {
    if (config_.ringFile.empty()) {
        return;
    }
    auto clip = loadWav(config_.ringFile, PcmConfig{}.format.rate());
    if (!clip.ok()) {
        LOG_WARNING("ring_file: %s; playing the generated ring instead",
                    clip.status().detail().c_str());
        return;
    }
    ringClip_ = std::make_shared<const std::vector<int16_t>>(std::move(*clip));
    LOG_INFO("ring tone from %s (%zu samples)", config_.ringFile.c_str(), ringClip_->size());
}

CallTones::~CallTones() {
    stop();
}

void CallTones::play(ToneKind kind, std::chrono::milliseconds length) {
    stop();
    if (retiring_.size() >= kMaxRetiring) {
        LOG_DEBUG("%s tone skipped: %zu earlier tones still closing their device",
                  std::string(toneKindName(kind)).c_str(), retiring_.size());
        return;
    }
    PcmConfig pcm;
    pcm.device = config_.playbackDevice;
    LOG_DEBUG("%s tone on %s", std::string(toneKindName(kind)).c_str(), pcm.device.c_str());
    player_ = TonePlayer::start(std::move(pcm), kind, length,
                                kind == ToneKind::Ring ? ringClip_ : nullptr);
}

void CallTones::stop() {
    if (player_) {
        player_->requestStop(); // silent within one period; never waited for here
        retiring_.push_back(std::move(player_));
    }
    reap();
}

void CallTones::reap() {
    std::erase_if(retiring_, [](const std::unique_ptr<TonePlayer>& p) { return p->finished(); });
}

void CallTones::incomingRinging(const std::string& peer, const std::string&, PinState,
                                const std::string&) {
    if (config_.autoAnswers(peer)) {
        return; // answered at once: no ring to hear
    }
    play(ToneKind::Ring, std::chrono::milliseconds(0));
}

void CallTones::outgoingRinging(const std::string&) {
    play(ToneKind::Ringback, std::chrono::milliseconds(0));
}

void CallTones::answered(const std::string&) {
    stop();
}

void CallTones::ended(const CallRecord& record) {
    stop();
    if (record.outgoing && record.reason == EndReason::Busy && !record.answered) {
        play(ToneKind::Busy, kBusyLength);
    }
}

} // namespace voice
