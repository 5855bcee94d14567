// SPDX-License-Identifier: MIT
// PlaybackDevice: writes S16 frames to an ALSA playback PCM for the player thread.
#pragma once

#include "audio/audio_device.h"

#include <span>
#include <vector>

namespace voice {

/// A playback PCM that always accepts: frames go to the device while it
/// works and are discarded (paced in real time) while it is lost and being
/// reopened; the player keeps running and plays concealment meanwhile.
/// The stream starts when the buffer is first full (start threshold); after
/// an underrun or a reopen it is primed with (buffer - wake-up size) frames
/// of silence so the player's next write starts it without a burst of writes.
/// See AudioDevice for the threads and the recovery rules.
class PlaybackDevice final : public AudioDevice {
public:
    /// Control thread. opener nullptr means real ALSA.
    explicit PlaybackDevice(PcmConfig config, AudioDeviceOptions options = {},
                            std::unique_ptr<PcmOpener> opener = nullptr);
    ~PlaybackDevice() override { close(); }

    /// Audio (player) thread. Real-time safe. Writes all of `in`
    /// (in.size() / channels whole frames), waiting for room as a blocking
    /// write would. Returns how many frames went to the device; the rest
    /// were discarded because the device was lost.
    size_t write(std::span<const int16_t> in);

private:
    int restart(Pcm& pcm, bool first) override;
    /// Sleeps until the device should have room for `frames` (at most its
    /// wake-up size), reckoned from its avail and rate; returns at once when
    /// it has, or on an error (the write reports it). The device's own wait
    /// would do, but ALSA's pulse plugin says "ready" as soon as a period is
    /// free whatever avail_min asks: waking once per codec frame takes this
    /// timer. Not needed, and skipped, when the wake-up size is a period: a
    /// sound server then makes room in whole periods, later than the rate
    /// predicts, and the timer would only add a wake-up before the wait.
    void sleepUntilRoom(Pcm& pcm, size_t frames);

    std::vector<int16_t> silence_; // allocated once, for priming
};

} // namespace voice
