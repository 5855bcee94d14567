// SPDX-License-Identifier: MIT
// CPU placement: keeps a call's audio work on one CPU (voiced.conf `audio_cpu`).
//
// Why: every frame is handed from thread to thread (the sound server's
// client thread to the recorder, the recorder to the transmitter; the
// player to the playback client thread). Threads left to the scheduler sit
// on different CPUs, and each hand-over is then an inter-processor
// interrupt that wakes an idle CPU (a VM exit on a virtual machine) rather
// than a switch on the CPU already awake. A call takes a few percent of
// one core, so spreading it buys nothing. Pinning all of it to one CPU cut
// a daemon's CPU by about 15 % in bench/e2e_call_bench.sh (the same call
// with and without, alice pinned and bob not, in one run). PipeWire gets
// the same locality by running its whole graph in one data thread.
#pragma once

#include "audio/pcm.h"
#include "core/result.h"

#include <memory>
#include <optional>
#include <sched.h>
#include <string>

namespace voice {

/// voiced.conf `audio_cpu`: where a call's audio threads run.
struct AudioCpuSetting {
    enum class Mode : uint8_t {
        Off,   ///< leave them to the kernel's scheduler
        Auto,  ///< one CPU, the one the call starts on
        Fixed, ///< one CPU, `cpu`
    };
    Mode mode = Mode::Auto;
    int cpu = -1; ///< Fixed only: 0 .. kMaxCpu

    static constexpr int kMaxCpu = CPU_SETSIZE - 1;
};

/// Parses "auto", "off" or a CPU number 0..kMaxCpu. InvalidArgument otherwise.
Result<AudioCpuSetting> parseAudioCpu(const std::string& text);

/// The CPU for a call's audio threads, or none. Control thread. Auto: the
/// CPU the caller runs on. Fixed: that CPU if this thread may run there;
/// otherwise (a cpuset or CPUAffinity= that leaves it out) none, with a
/// warning, so the call runs where the kernel puts it.
std::optional<int> chooseAudioCpu(const AudioCpuSetting& setting);

/// Restricts the calling thread to `cpu`. Threads it creates inherit that.
Status pinThisThread(int cpu);

/// Pins the calling thread to one CPU for its lifetime and then puts back
/// the CPUs it had. Does nothing if the thread's CPUs cannot be read.
class ScopedCpuPin {
public:
    explicit ScopedCpuPin(int cpu);
    ~ScopedCpuPin();
    ScopedCpuPin(const ScopedCpuPin&) = delete;
    ScopedCpuPin& operator=(const ScopedCpuPin&) = delete;

private:
    cpu_set_t saved_{};
    bool restore_ = false;
};

/// Opens devices with the opening thread pinned to `cpu`: a sound server's
/// client library starts its own thread inside snd_pcm_open (ALSA's pulse
/// plugin), and that thread then runs on `cpu` with the audio threads it
/// trades every period with, whichever thread opens or reopens the device.
class PinnedPcmOpener final : public PcmOpener {
public:
    PinnedPcmOpener(int cpu, std::unique_ptr<PcmOpener> inner)
        : cpu_(cpu), inner_(std::move(inner)) {}
    Result<std::unique_ptr<Pcm>> open(const PcmConfig& config, PcmStream stream) override;

private:
    int cpu_;
    std::unique_ptr<PcmOpener> inner_;
};

} // namespace voice
