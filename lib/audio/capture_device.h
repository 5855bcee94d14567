// SPDX-License-Identifier: MIT
// CaptureDevice: reads S16 frames from an ALSA capture PCM for the recorder thread.
#pragma once

#include "audio/audio_device.h"

#include <span>
#include <vector>

namespace voice {

/// A capture PCM that always delivers: live audio while the device works,
/// silence (paced in real time) while it is lost and being reopened.
/// See AudioDevice for the threads and the recovery rules.
class CaptureDevice final : public AudioDevice {
public:
    /// Control thread. opener nullptr means real ALSA.
    explicit CaptureDevice(PcmConfig config, AudioDeviceOptions options = {},
                           std::unique_ptr<PcmOpener> opener = nullptr);
    ~CaptureDevice() override { close(); }

    /// Audio (recorder) thread. Real-time safe. Fills `out` completely
    /// (out.size() / channels whole frames), waiting for the device as a
    /// blocking read would. Returns how many frames came from the device;
    /// the rest are silence, delivered because the device was lost. The
    /// stream starts on the first call after open().
    size_t read(std::span<int16_t> out);
    /// Audio (recorder) thread. Real-time safe. Reads at least `minFrames`
    /// frames and takes everything else the device has ready, so a sound
    /// server's blocks are never left half read: `out` must hold
    /// `minFrames` and the device's buffer (params().bufferFrames) for
    /// that. Sleeps until `minFrames` should have come in rather than
    /// waking for every period the device signals, then waits on the
    /// device for the rest. Returns the frames stored in `out`, silence
    /// included while the device is lost (see read()).
    size_t readAtLeast(std::span<int16_t> out, size_t minFrames);
    /// Frames the device held after the last read(), captured after the
    /// last frame read: the smaller of snd_pcm_delay() and what was ready
    /// to read (see read()). The recorder dates its frames with this.
    long heldFrames() const { return heldFrames_.load(std::memory_order_relaxed); }

private:
    int restart(Pcm& pcm, bool first) override;
    /// What the device holds after a read: see heldFrames().
    void noteHeldFrames();
    /// Audio thread. A device whose delay exceeds its buffer holds audio
    /// the buffer cannot: a sound server's stream keeps what a hardware
    /// buffer would have overrun on (ALSA's pulse plugin: up to 4 MB, shown
    /// a buffer at a time), e.g. the first block of a server that started
    /// on this open, or of an idle sink resuming, delivered after the
    /// device started late. Read in full it would reach the peer as a burst
    /// of stale audio whose dates bunch up, and the peer's jitter buffer
    /// would hold the lot for seconds. Discards the oldest audio down to the
    /// buffer less a period, as a hardware overrun would, and counts it.
    void dropBacklog(Pcm& pcm);
    /// Audio thread. When a starting handle for which silence was already
    /// substituted first has audio: what it holds beyond `need` was
    /// captured while the silence stood in for it (a server that started
    /// on this open, or an idle sink resuming, hands over its first block
    /// late and whole). Read as well, it would put the stream that much
    /// ahead of the clock for good; the oldest is discarded instead.
    void dropStartOverlap(Pcm& pcm, size_t need);
    /// Reads and discards up to `frames` of what the handle has ready.
    size_t discard(Pcm& pcm, size_t frames);

    std::atomic<long> heldFrames_{0};
    std::vector<int16_t> scratch_; // what dropBacklog() reads into
};

} // namespace voice
