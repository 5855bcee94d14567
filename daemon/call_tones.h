// SPDX-License-Identifier: MIT
// CallTones: what the user hears before a call is answered: the ring tone while a call rings us,
// ringback while the peer's phone rings, a busy tone when the peer is busy (ring = on|off).
//
// Each tone opens the playback device only while it plays (TonePlayer). A
// stopped tone falls silent within one period, but the control thread never
// waits for it: a tone thread stuck in a slow device open (a sound server
// that starts on first use) would stall D-Bus and the relay connection for
// as long. Stopped players retire and are joined once their thread has ended;
// a call whose device is still held by a retiring tone reopens it with the
// pipeline's usual back-off. Control thread only (CallObserver callbacks).
#pragma once

#include "audio/pcm.h"
#include "call_observer.h"
#include "daemon_config.h"
#include "pipeline/tone_player.h"

#include <chrono>
#include <memory>
#include <vector>

namespace voice {

class CallTones final : public CallObserver {
public:
    /// How long the busy tone plays.
    static constexpr std::chrono::milliseconds kBusyLength{3000};

    /// config must outlive this object. Loads ring_file (a file that cannot
    /// be used is logged and the generated ring plays instead).
    explicit CallTones(const DaemonConfig& config);
    ~CallTones() override;

    void incomingRinging(const std::string& peer, const std::string& fingerprint, PinState pin,
                         const std::string& sas) override;
    void outgoingRinging(const std::string& peer) override;
    void answered(const std::string& peer) override;
    void ended(const CallRecord& record) override;

    /// The tone playing now, if any (for tests and logs).
    const TonePlayer* playing() const { return player_.get(); }

private:
    void play(ToneKind kind, std::chrono::milliseconds length);
    void stop();
    /// Joins the retired players whose threads have ended.
    void reap();

    const DaemonConfig& config_;
    /// ring_file's samples, loaded once; null: the generated ring.
    std::shared_ptr<const std::vector<int16_t>> ringClip_;
    std::unique_ptr<TonePlayer> player_;
    /// Stopped players whose threads may still be closing (or opening) their device.
    std::vector<std::unique_ptr<TonePlayer>> retiring_;
    /// Past this many retiring players (each stuck in a device open), no new
    /// tone starts until one ends: the threads stay bounded.
    static constexpr size_t kMaxRetiring = 4;
};

} // namespace voice
