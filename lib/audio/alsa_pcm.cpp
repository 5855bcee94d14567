// SPDX-License-Identifier: MIT
// AlsaPcm: thin forwarding to alsa-lib, and hardware/software parameter setup.
#include "audio/alsa_pcm.h"

#include <alsa/asoundlib.h>
#include <string>

namespace voice {

AlsaPcm::~AlsaPcm() {
    if (pcm_ != nullptr) {
        snd_pcm_close(pcm_);
    }
}

ssize_t AlsaPcm::readi(int16_t* samples, size_t frames) {
    return snd_pcm_readi(pcm_, samples, frames);
}

ssize_t AlsaPcm::writei(const int16_t* samples, size_t frames) {
    return snd_pcm_writei(pcm_, samples, frames);
}

int AlsaPcm::wait(int timeoutMs) {
    return snd_pcm_wait(pcm_, timeoutMs);
}
int AlsaPcm::prepare() {
    return snd_pcm_prepare(pcm_);
}
int AlsaPcm::start() {
    return snd_pcm_start(pcm_);
}
int AlsaPcm::resume() {
    return snd_pcm_resume(pcm_);
}

ssize_t AlsaPcm::avail() {
    return snd_pcm_avail_update(pcm_);
}

int AlsaPcm::delay(long* frames) {
    snd_pcm_sframes_t d = 0;
    const int err = snd_pcm_delay(pcm_, &d);
    if (err == 0) {
        *frames = d;
    }
    return err;
}

namespace {

// Owns the snd_* allocations of one open() call.
struct PcmCloser {
    void operator()(snd_pcm_t* p) const { snd_pcm_close(p); }
};
struct HwParamsFree {
    void operator()(snd_pcm_hw_params_t* p) const { snd_pcm_hw_params_free(p); }
};
struct SwParamsFree {
    void operator()(snd_pcm_sw_params_t* p) const { snd_pcm_sw_params_free(p); }
};
struct ConfigUnref {
    void operator()(snd_config_t* c) const { snd_config_unref(c); }
};
struct ConfigDelete {
    void operator()(snd_config_t* c) const { snd_config_delete(c); }
};

std::string describe(const PcmConfig& config, PcmStream stream, const char* what) {
    std::string s = stream == PcmStream::Capture ? "capture " : "playback ";
    s += '"';
    s += config.device;
    s += "\": ";
    s += what;
    return s;
}

// The global configuration with extraConfig loaded on top, or nullptr for
// plain snd_pcm_open().
Result<std::unique_ptr<snd_config_t, ConfigDelete>> buildConfig(const std::string& extraConfig) {
    snd_config_t* top = nullptr;
    int err = snd_config_update_ref(&top);
    if (err < 0) {
        return Status::fromAlsa(err, "reading the ALSA configuration");
    }
    std::unique_ptr<snd_config_t, ConfigUnref> topRef(top);
    snd_config_t* copy = nullptr;
    err = snd_config_copy(&copy, top);
    if (err < 0) {
        return Status::fromAlsa(err, "copying the ALSA configuration");
    }
    std::unique_ptr<snd_config_t, ConfigDelete> config(copy);
    snd_input_t* input = nullptr;
    err =
        snd_input_buffer_open(&input, extraConfig.data(), static_cast<ssize_t>(extraConfig.size()));
    if (err < 0) {
        return Status::fromAlsa(err, "reading the extra ALSA configuration");
    }
    err = snd_config_load(config.get(), input);
    snd_input_close(input);
    if (err < 0) {
        return Status::fromAlsa(err, "parsing the extra ALSA configuration");
    }
    return config;
}

} // namespace

Result<std::unique_ptr<Pcm>> AlsaPcmOpener::open(const PcmConfig& config, PcmStream stream) {
    if (Status valid = config.validate(); !valid) {
        return valid;
    }
    const snd_pcm_stream_t dir =
        stream == PcmStream::Capture ? SND_PCM_STREAM_CAPTURE : SND_PCM_STREAM_PLAYBACK;

    snd_pcm_t* raw = nullptr;
    int err = 0;
    if (extraConfig_.empty()) {
        err = snd_pcm_open(&raw, config.device.c_str(), dir, SND_PCM_NONBLOCK);
    } else {
        auto lconf = buildConfig(extraConfig_);
        if (!lconf) {
            return lconf.status();
        }
        err = snd_pcm_open_lconf(&raw, config.device.c_str(), dir, SND_PCM_NONBLOCK, lconf->get());
    }
    if (err < 0) {
        Status s = Status::fromAlsa(err, describe(config, stream, "open"));
        // A missing device is NotFound so callers can tell it from a bad setting.
        return err == -ENOENT || err == -ENODEV ? Status(Errc::NotFound, s.detail()) : s;
    }
    std::unique_ptr<snd_pcm_t, PcmCloser> pcm(raw);

    snd_pcm_hw_params_t* hwRaw = nullptr;
    if ((err = snd_pcm_hw_params_malloc(&hwRaw)) < 0) {
        return Status::fromAlsa(err, "snd_pcm_hw_params_malloc");
    }
    std::unique_ptr<snd_pcm_hw_params_t, HwParamsFree> hw(hwRaw);
    const unsigned rate = config.format.rate();
    const unsigned channels = config.format.channels();
    if ((err = snd_pcm_hw_params_any(pcm.get(), hw.get())) < 0) {
        return Status::fromAlsa(err, describe(config, stream, "no configurations"));
    }
    if ((err = snd_pcm_hw_params_set_access(pcm.get(), hw.get(), SND_PCM_ACCESS_RW_INTERLEAVED)) <
        0) {
        return Status::fromAlsa(err, describe(config, stream, "interleaved access"));
    }
    if ((err = snd_pcm_hw_params_set_format(pcm.get(), hw.get(), SND_PCM_FORMAT_S16_LE)) < 0) {
        return Status::fromAlsa(err, describe(config, stream, "format S16_LE"));
    }
    if ((err = snd_pcm_hw_params_set_channels(pcm.get(), hw.get(), channels)) < 0) {
        return Status::fromAlsa(err, describe(config, stream, "channel count"));
    }
    if ((err = snd_pcm_hw_params_set_rate(pcm.get(), hw.get(), rate, 0)) < 0) {
        return Status(Errc::Unsupported,
                      Status::fromAlsa(err, describe(config, stream, "rate")).detail() + " (" +
                          std::to_string(rate) + " Hz)");
    }
    snd_pcm_uframes_t period = config.effectivePeriodFrames();
    int subdir = 0;
    if ((err = snd_pcm_hw_params_set_period_size_near(pcm.get(), hw.get(), &period, &subdir)) < 0) {
        return Status::fromAlsa(err, describe(config, stream, "period size"));
    }
    snd_pcm_uframes_t buffer = period * config.periods;
    if ((err = snd_pcm_hw_params_set_buffer_size_near(pcm.get(), hw.get(), &buffer)) < 0) {
        return Status::fromAlsa(err, describe(config, stream, "buffer size"));
    }
    if ((err = snd_pcm_hw_params(pcm.get(), hw.get())) < 0) {
        return Status::fromAlsa(err, describe(config, stream, "hardware parameters"));
    }
    snd_pcm_hw_params_get_period_size(hw.get(), &period, &subdir);
    snd_pcm_hw_params_get_buffer_size(hw.get(), &buffer);

    snd_pcm_sw_params_t* swRaw = nullptr;
    if ((err = snd_pcm_sw_params_malloc(&swRaw)) < 0) {
        return Status::fromAlsa(err, "snd_pcm_sw_params_malloc");
    }
    std::unique_ptr<snd_pcm_sw_params_t, SwParamsFree> sw(swRaw);
    if ((err = snd_pcm_sw_params_current(pcm.get(), sw.get())) < 0) {
        return Status::fromAlsa(err, describe(config, stream, "software parameters"));
    }
    const uint32_t wake =
        config.effectiveWakeFrames(static_cast<uint32_t>(period), static_cast<uint32_t>(buffer));
    snd_pcm_sw_params_set_avail_min(pcm.get(), sw.get(), wake);
    // Playback starts once the buffer is full, so the first periods are not
    // played the instant they arrive and then underrun. Capture is started
    // explicitly by CaptureDevice.
    if (stream == PcmStream::Playback) {
        snd_pcm_sw_params_set_start_threshold(pcm.get(), sw.get(), buffer);
    }
    if ((err = snd_pcm_sw_params(pcm.get(), sw.get())) < 0) {
        return Status::fromAlsa(err, describe(config, stream, "software parameters"));
    }

    PcmParams params;
    params.format = config.format;
    params.periodFrames = static_cast<uint32_t>(period);
    params.bufferFrames = static_cast<uint32_t>(buffer);
    params.wakeFrames = wake;
    return std::unique_ptr<Pcm>(std::make_unique<AlsaPcm>(pcm.release(), params));
}

} // namespace voice
