// SPDX-License-Identifier: MIT
// Pcm: the few ALSA PCM calls the audio devices use, behind an interface so
// the recovery logic can be tested against a fake.
#pragma once

#include "core/audio_format.h"
#include "core/result.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>

namespace voice {

enum class PcmStream { Capture, Playback };

/// What to open. The defaults give about 5 ms periods, four of them:
///   48 kHz:   240 frames x 4 = 960 frames = 20.0 ms of device buffer;
///   44.1 kHz: 220 frames x 4 = 880 frames = 19.95 ms (5 ms is not a whole
///             number of frames at 44.1 kHz, so the period is rounded down).
/// The resulting device latency (snd_pcm_delay, see AudioDevice::delay()) is,
/// in steady state, about one period for capture (audio waits in the buffer
/// until a whole period is there to read) and about the whole buffer for
/// playback (the player keeps it full): ~5 ms in and ~20 ms out with the
/// defaults. Measured through ALSA's pulse plugin on PulseAudio null
/// devices (tests/audio/alsa_pulse_test.cpp), mean/max over 3 s:
///   48 kHz:   capture 4.9 / 7-11 ms, playback 24.5 / 25.0 ms;
///   44.1 kHz: capture 5.2 / 7-11 ms, playback 19.9 / 20.3 ms
/// (the pulse plugin's delay includes what the server holds, here ~4.5 ms
/// beyond the 20 ms ALSA buffer at 48 kHz; a hw: device reports the buffer).
/// Smaller periods lower the latency and raise the wake-up rate and the
/// risk of xruns on a loaded machine.
struct PcmConfig {
    /// ALSA PCM name ("default", "hw:1,0", "pulse:a_spk", a name from asoundrc).
    std::string device = "default";
    /// 48 kHz mono by default; 44.1 kHz is the other supported rate.
    AudioFormat format;
    /// Frames per period; 0 means "5 ms at the rate" (240 at 48 kHz, 220 at 44.1 kHz).
    uint32_t periodFrames = 0;
    /// Periods in the device buffer (>= 2).
    uint32_t periods = 4;
    /// Frames a wait() waits for: ready to read (capture) or free to write
    /// (playback), ALSA's avail_min. 0 means one period. A caller that moves
    /// audio in larger blocks (the pipeline: one codec frame) wakes once per
    /// block instead of once per period; the device still delivers in
    /// periods, so this adds no latency when the block is whole periods.
    /// Kept within one period .. the buffer less one period (a wait for a
    /// full capture buffer would end in an overrun).
    uint32_t wakeFrames = 0;

    /// periodFrames with 0 resolved to 5 ms at the rate.
    uint32_t effectivePeriodFrames() const;
    /// Checks the limits (settings come from a config file): a device name
    /// of 1..255 characters, periods 2..32, periodFrames and wakeFrames 0 or
    /// 16..8192.
    Status validate() const;
    /// wakeFrames for the period and buffer the device accepted, within the
    /// limits above (0 resolved to the period).
    uint32_t effectiveWakeFrames(uint32_t period, uint32_t buffer) const;
};

/// What the device actually accepted (it may round the period and buffer).
struct PcmParams {
    AudioFormat format;
    uint32_t periodFrames = 0;
    uint32_t bufferFrames = 0;
    /// What wait() waits for (avail_min); 0 means one period.
    uint32_t wakeFrames = 0;

    uint32_t effectiveWakeFrames() const { return wakeFrames != 0 ? wakeFrames : periodFrames; }
};

/// One open PCM handle, as the subset of snd_pcm_* the devices need. Every
/// call returns what the ALSA function returns: a count, or a negative errno.
/// The handle is opened non-blocking: readi/writei return -EAGAIN instead of
/// waiting, and wait() does the waiting.
///
/// A Pcm is used by one thread at a time (alsa-lib handles are not
/// thread-safe); ownership moves between the audio thread and the reopen
/// worker by atomic hand-over in AudioDevice.
class Pcm {
public:
    virtual ~Pcm() = default;

    /// snd_pcm_readi: frames read (>= 0) or a negative errno.
    virtual ssize_t readi(int16_t* samples, size_t frames) = 0;
    /// snd_pcm_writei: frames written (>= 0) or a negative errno.
    virtual ssize_t writei(const int16_t* samples, size_t frames) = 0;
    /// snd_pcm_wait: 1 when ready, 0 on timeout, or a negative errno.
    virtual int wait(int timeoutMs) = 0;
    virtual int prepare() = 0;
    virtual int start() = 0;
    /// snd_pcm_resume: 0, -EAGAIN while the device is still waking, -ENOSYS
    /// when it cannot resume (prepare instead).
    virtual int resume() = 0;
    /// snd_pcm_avail_update: frames ready to read (capture) or free to
    /// write (playback), or a negative errno (-EPIPE after an xrun).
    virtual ssize_t avail() = 0;
    /// snd_pcm_delay: frames between the application pointer and the
    /// converter (how long a sample written now takes to be heard, or how
    /// long ago a sample read now was captured).
    virtual int delay(long* frames) = 0;

    virtual const PcmParams& params() const = 0;
};

/// Opens Pcm handles. Called from control and worker threads only (opening
/// allocates, loads plugins and may talk to servers).
class PcmOpener {
public:
    virtual ~PcmOpener() = default;
    virtual Result<std::unique_ptr<Pcm>> open(const PcmConfig& config, PcmStream stream) = 0;
};

} // namespace voice
