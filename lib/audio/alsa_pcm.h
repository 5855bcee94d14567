// SPDX-License-Identifier: MIT
// AlsaPcm: the real Pcm over an alsa-lib snd_pcm_t, and the opener that
// configures it (S16_LE, interleaved, exact rate, period size and count).
#pragma once

#include "audio/pcm.h"

#include <string>

typedef struct _snd_pcm snd_pcm_t;

namespace voice {

/// An open, configured snd_pcm_t (non-blocking). Closed on destruction.
class AlsaPcm final : public Pcm {
public:
    AlsaPcm(snd_pcm_t* pcm, PcmParams params) : pcm_(pcm), params_(params) {}
    ~AlsaPcm() override;
    AlsaPcm(const AlsaPcm&) = delete;
    AlsaPcm& operator=(const AlsaPcm&) = delete;

    ssize_t readi(int16_t* samples, size_t frames) override;
    ssize_t writei(const int16_t* samples, size_t frames) override;
    int wait(int timeoutMs) override;
    int prepare() override;
    int start() override;
    int resume() override;
    ssize_t avail() override;
    int delay(long* frames) override;
    const PcmParams& params() const override { return params_; }

private:
    snd_pcm_t* pcm_;
    PcmParams params_;
};

/// Opens AlsaPcm handles by ALSA name.
class AlsaPcmOpener final : public PcmOpener {
public:
    AlsaPcmOpener() = default;
    /// `extraConfig` is ALSA configuration text (asoundrc syntax) merged over
    /// the global configuration for every open, e.g. to define
    /// `pcm.x { type file slave.pcm "null" ... }` without touching files.
    explicit AlsaPcmOpener(std::string extraConfig) : extraConfig_(std::move(extraConfig)) {}

    /// Control or worker thread. Opens non-blocking, sets S16_LE interleaved
    /// at exactly the configured rate and channels, the period size and count
    /// nearest to the request, avail_min = one period, and for playback a
    /// start threshold of a full buffer. Leaves the PCM prepared.
    Result<std::unique_ptr<Pcm>> open(const PcmConfig& config, PcmStream stream) override;

private:
    std::string extraConfig_;
};

} // namespace voice
