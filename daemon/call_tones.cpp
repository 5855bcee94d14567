// SPDX-License-Identifier: MIT
// CallTones: ring, ringback and busy tones around a call.
#include "call_tones.h"

#include "core/log.h"

namespace voice {

CallTones::CallTones(const DaemonConfig& config) : config_(config) {}

CallTones::~CallTones() {
    stop();
}

void CallTones::play(ToneKind kind, std::chrono::milliseconds length) {
    stop();
    PcmConfig pcm;
    pcm.device = config_.playbackDevice;
    LOG_DEBUG("%s tone on %s", std::string(toneKindName(kind)).c_str(), pcm.device.c_str());
    player_ = TonePlayer::start(std::move(pcm), kind, length);
}

void CallTones::stop() {
    if (player_) {
        player_->stop(); // returns with the device closed
        player_.reset();
    }
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
