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
/// an underrun or a reopen it is primed with (buffer - period) frames of
/// silence so the player's next period starts it without a burst of writes.
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

    std::vector<int16_t> silence_; // allocated once, for priming
};

} // namespace voice
