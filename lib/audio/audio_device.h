// SPDX-License-Identifier: MIT
// AudioDevice: what capture and playback share — the one error check, the one
// recover function, counters, and reopening a lost device in the background.
//
// Threads. A device has three kinds of caller:
//  - the control thread constructs it, calls open() and close() (and the
//    destructor) while no audio thread is using it;
//  - ONE audio thread (the recorder for capture, the player for playback)
//    calls read()/write(). That path is real-time safe: no locks, no
//    allocation, no synchronous logging (messages go through RT_LOG);
//  - any thread reads the counters (stats(), xruns(), ...): relaxed atomics.
// Each device also owns a worker thread that opens replacement handles.
//
// Errors on the audio path. classifyPcmError() sorts every negative ALSA
// return into: try again, xrun, suspend, or lost. recover() handles the first
// three in place (xrun: snd_pcm_prepare, then restart; suspend:
// snd_pcm_resume until it stops saying -EAGAIN, bounded in time, and
// snd_pcm_prepare if the resume fails) and counts them. Anything else — the
// device vanished (-ENODEV, -EBADFD, -EIO, ...), a prepare failed, or no
// progress for stallTimeout once it has run — makes the device "lost": the audio thread hands
// the handle to the worker and carries on at once; meanwhile capture delivers
// silence and playback discards, both paced in real time by the monotonic
// clock so the caller's loop keeps its rhythm. The worker closes the old
// handle and tries to open a new one after 50 ms, 100 ms, 200 ms, ... (capped
// at 2 s by default); the audio thread picks up a new handle with a single
// atomic exchange on its next call. The audio thread never opens, closes or
// waits for the worker.
//
// Starting. A handle just taken into use (the first one or a reopened one)
// may not run at once: a sound server started by the first client (socket
// activation) or an idle PulseAudio null sink, whose first block after
// resuming is up to 2 s long, leave capture with nothing to read and
// playback with no room for that long. Blocking the audio thread meanwhile
// (and, past stallTimeout, reopening again and again) starves the peer of
// packets (its media path falls back to the tunnel) and piles the peer's
// audio up in the jitter buffer, a delay that outlasts the start by tens of
// seconds. So until a handle is first seen ready, read()/write() do not
// wait for it: they substitute silence/discard for what it cannot take,
// paced in real time as while lost, and look again on the next call. A
// handle not ready within startTimeout is lost as above.
//
// Use (the recorder; the player is the same with PlaybackDevice::write):
//
//   CaptureDevice mic(config);                       // control thread
//   if (Status s = mic.open(); !s) { ... }
//   std::thread recorder([&] {
//       (void)makeThreadRealtime();                  // audio/realtime.h
//       std::vector<int16_t> period(mic.params().periodFrames * channels);
//       while (running) { mic.read(period); ring.write(period); }
//   });
//   ... recorder.join(); mic.close();               // control thread
#pragma once

#include "audio/pcm.h"
#include "core/status.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace voice {

/// What a negative return of an ALSA PCM call means for the caller.
enum class PcmErrorKind {
    None,    ///< not an error (>= 0)
    Again,   ///< -EAGAIN / -EINTR: nothing to do yet, wait and retry
    Xrun,    ///< -EPIPE: overrun (capture) or underrun (playback)
    Suspend, ///< -ESTRPIPE: the system suspended the device
    Lost,    ///< anything else: the handle is unusable, reopen the device
};

/// The one check helper: sorts an ALSA return code. Any thread; pure.
PcmErrorKind classifyPcmError(long err);

struct AudioDeviceOptions {
    /// First delay before reopening a lost device; doubles up to reopenMax.
    std::chrono::milliseconds reopenInitial{50};
    std::chrono::milliseconds reopenMax{2000};
    /// A device that makes no progress for this long is treated as lost.
    std::chrono::milliseconds stallTimeout{500};
    /// How long recover() keeps retrying snd_pcm_resume() after a suspend.
    std::chrono::milliseconds resumeTimeout{20};
    /// How long a handle just taken into use may take to become ready
    /// before it is lost (see "Starting" above); until then the device
    /// substitutes instead of waiting.
    std::chrono::milliseconds startTimeout{5000};
};

/// Counters of one device. Any thread; each value is a relaxed snapshot.
struct AudioDeviceStats {
    uint64_t xruns = 0;           ///< overruns/underruns recovered in place
    uint64_t suspends = 0;        ///< suspends recovered in place
    uint64_t losses = 0;          ///< times the device was lost (closed for reopening)
    uint64_t reopens = 0;         ///< replacement handles taken into use
    uint64_t reopenFailures = 0;  ///< failed reopen attempts
    uint64_t framesWhileLost = 0; ///< capture: silence delivered; playback: frames discarded
                                  ///< (while lost, or while a handle was starting)
    uint64_t slowStarts = 0;      ///< handles that were not ready at their first wait
    uint64_t framesDropped = 0;   ///< capture: stale audio discarded (held beyond the
                                  ///< buffer: also an xrun; or captured while substituted)
    bool connected = false;       ///< a working handle is in use (or ready to be)
    long delayFrames = 0;         ///< last snd_pcm_delay() of the audio thread
};

class AudioDevice {
public:
    virtual ~AudioDevice();
    AudioDevice(const AudioDevice&) = delete;
    AudioDevice& operator=(const AudioDevice&) = delete;

    enum class OpenMode {
        /// open() fails when the device cannot be opened now.
        RequireDevice,
        /// When the device cannot be opened now (a headset not plugged in
        /// yet), open() still succeeds: the device starts lost, the worker
        /// keeps trying with back-off, and read()/write() substitute
        /// silence/discard until it appears. Bad settings still fail.
        AllowMissing,
    };

    /// Control thread, before the audio thread starts. Opens and configures
    /// the device (the capture stream starts on the first read) and starts
    /// the reopen worker.
    Status open(OpenMode mode = OpenMode::RequireDevice);
    /// Control thread, after the audio thread has stopped using the device.
    /// Stops the worker and closes every handle. Idempotent; the destructor
    /// calls it.
    void close();

    const PcmConfig& config() const { return config_; }
    PcmStream stream() const { return stream_; }
    /// What the device accepted at open(). Valid after a successful open();
    /// what was asked for when it started missing (OpenMode::AllowMissing).
    const PcmParams& params() const { return params_; }

    /// Any thread. Lock-free.
    AudioDeviceStats stats() const;
    uint64_t xruns() const { return xruns_.load(std::memory_order_relaxed); }
    bool connected() const { return connected_.load(std::memory_order_relaxed); }
    /// Device latency in frames as snd_pcm_delay() last reported it on the
    /// audio thread (0 before the first read/write or while lost).
    long delayFrames() const { return delayFrames_.load(std::memory_order_relaxed); }
    std::chrono::nanoseconds delay() const;

protected:
    /// opener nullptr means the real ALSA opener (AlsaPcmOpener).
    AudioDevice(PcmStream stream, PcmConfig config, AudioDeviceOptions options,
                std::unique_ptr<PcmOpener> opener);

    /// Audio thread. The handle to use now, or nullptr while the device is
    /// lost. Takes a freshly opened handle into use (and restarts it).
    Pcm* active();
    /// Audio thread. The one recover function: handles `err` (a negative
    /// return of a call on `pcm`). True when the handle is usable again,
    /// false when the device was lost and handed to the worker.
    bool recover(Pcm& pcm, long err);
    enum class Wait {
        Ready,      ///< the handle can read/write now
        Lost,       ///< the device was lost (handed to the worker)
        NotStarted, ///< a starting handle is not ready yet: substitute, come back later
    };
    /// Audio thread. Waits for `pcm` to be ready after it returned -EAGAIN
    /// (or 0 frames). `since` is when this read/write last made progress
    /// (the zero time_point on the first wait): a device that makes no
    /// progress for stallTimeout — even one whose poll keeps saying "ready" —
    /// is lost. A handle that has not been ready yet is only polled (see
    /// "Starting" above): NotStarted means the caller substitutes for the
    /// rest of its call, `frames`, paced by paceWhileLost().
    Wait waitReady(Pcm& pcm, std::chrono::steady_clock::time_point& since, size_t frames);
    /// Audio thread. The handle in use has not run yet (see "Starting"):
    /// read()/write() substitute for it on the clock of paceWhileLost().
    bool starting() const { return startingSince_ != std::chrono::steady_clock::time_point{}; }
    /// Audio thread. The handle in use is starting and frames were
    /// substituted for it already.
    bool substituting() const { return starting() && substituted_; }
    /// Audio thread. The handle in use read or wrote frames: a starting one
    /// has run (playback: once it took audio after its buffer was full).
    void noteProgress();
    /// Audio thread. Records snd_pcm_delay() of the handle in use for delayFrames().
    void updateDelay();
    /// Audio thread. Capture discarded `frames` of stale audio: held beyond
    /// its buffer (an overrun a sound server hid; counted as an xrun too),
    /// or captured while silence was substituted for a starting handle.
    void noteFramesDropped(size_t frames, bool overrun);
    /// Audio thread. While lost or starting: counts `frames` as substituted
    /// and sleeps until they would have been played or captured.
    void paceWhileLost(size_t frames);

    /// Audio thread. Brings a prepared handle back to running: capture
    /// starts it; playback primes it with silence unless `first`.
    virtual int restart(Pcm& pcm, bool first) = 0;

private:
    void lose(long err);
    void worker(bool openFirst);
    void wakeWorker();

    const PcmStream stream_;
    const PcmConfig config_;
    const AudioDeviceOptions options_;
    std::unique_ptr<PcmOpener> opener_;
    PcmParams params_;
    const char* name_; // "capture" or "playback", for messages

    // Owned by the audio thread.
    Pcm* current_ = nullptr;
    bool started_ = false; // a handle has been taken into use before
    std::chrono::steady_clock::time_point paceDeadline_{};
    // The handle in use was taken then and has not been ready yet (zero once it has).
    std::chrono::steady_clock::time_point startingSince_{};
    bool substituted_ = false;         // frames were substituted while it was starting
    bool waitedWhileStarting_ = false; // waitReady() saw it starting

    // Hand-over between the audio thread and the worker. Each holds at most
    // one handle; the worker fills fresh_ only once the audio thread has
    // given up its handle, so they never hold the same one.
    std::atomic<Pcm*> fresh_{nullptr};          // worker -> audio thread
    std::atomic<Pcm*> retired_{nullptr};        // audio thread -> worker
    alignas(64) std::atomic<uint32_t> wake_{0}; // futex word, bumped to wake the worker
    std::atomic<bool> stopping_{false};
    std::thread worker_;

    alignas(64) std::atomic<uint64_t> xruns_{0};
    std::atomic<uint64_t> suspends_{0};
    std::atomic<uint64_t> losses_{0};
    std::atomic<uint64_t> reopens_{0};
    std::atomic<uint64_t> reopenFailures_{0};
    std::atomic<uint64_t> framesWhileLost_{0};
    std::atomic<uint64_t> slowStarts_{0};
    std::atomic<uint64_t> framesDropped_{0};
    std::atomic<bool> connected_{false};
    std::atomic<long> delayFrames_{0};
};

} // namespace voice
