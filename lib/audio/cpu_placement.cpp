// SPDX-License-Identifier: MIT
// CPU placement: parsing audio_cpu, choosing the CPU, pinning threads.
#include "audio/cpu_placement.h"

#include "core/log.h"

#include <charconv>
#include <pthread.h>
#include <string>

namespace voice {

namespace {

bool allowedCpus(cpu_set_t& set) {
    CPU_ZERO(&set);
    return pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

} // namespace

Result<AudioCpuSetting> parseAudioCpu(const std::string& text) {
    AudioCpuSetting s;
    if (text == "auto") {
        s.mode = AudioCpuSetting::Mode::Auto;
        return s;
    }
    if (text == "off") {
        s.mode = AudioCpuSetting::Mode::Off;
        return s;
    }
    int cpu = -1;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, cpu);
    if (text.empty() || ec != std::errc() || ptr != end || cpu < 0 ||
        cpu > AudioCpuSetting::kMaxCpu) {
        return Status(Errc::InvalidArgument, "expected auto, off or a CPU number 0.." +
                                                 std::to_string(AudioCpuSetting::kMaxCpu));
    }
    s.mode = AudioCpuSetting::Mode::Fixed;
    s.cpu = cpu;
    return s;
}

std::optional<int> chooseAudioCpu(const AudioCpuSetting& setting) {
    if (setting.mode == AudioCpuSetting::Mode::Off) {
        return std::nullopt;
    }
    cpu_set_t allowed;
    if (!allowedCpus(allowed)) {
        return std::nullopt;
    }
    if (setting.mode == AudioCpuSetting::Mode::Fixed) {
        if (setting.cpu >= 0 && setting.cpu < CPU_SETSIZE && CPU_ISSET(setting.cpu, &allowed)) {
            return setting.cpu;
        }
        LOG_WARNING("audio_cpu %d is not among the CPUs voiced may use: the call's audio "
                    "threads run where the scheduler puts them",
                    setting.cpu);
        return std::nullopt;
    }
    // Auto: where this thread runs now. Its mask may have changed since it
    // was last scheduled, so check, and fall back to the first allowed CPU.
    const int current = sched_getcpu();
    if (current >= 0 && current < CPU_SETSIZE && CPU_ISSET(current, &allowed)) {
        return current;
    }
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &allowed)) {
            return cpu;
        }
    }
    return std::nullopt;
}

Status pinThisThread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        return Status(Errc::InvalidArgument, "CPU " + std::to_string(cpu) + " is out of range");
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    // pthread_* returns the error rather than setting errno.
    if (const int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); err != 0) {
        return Status::fromErrno(Errc::Io, err, "pinning a thread to CPU " + std::to_string(cpu));
    }
    return {};
}

ScopedCpuPin::ScopedCpuPin(int cpu) {
    if (allowedCpus(saved_)) {
        restore_ = pinThisThread(cpu).ok();
    }
}

ScopedCpuPin::~ScopedCpuPin() {
    if (restore_) {
        (void)pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
    }
}

Result<std::unique_ptr<Pcm>> PinnedPcmOpener::open(const PcmConfig& config, PcmStream stream) {
    const ScopedCpuPin pin(cpu_);
    return inner_->open(config, stream);
}

} // namespace voice
