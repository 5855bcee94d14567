// SPDX-License-Identifier: MIT
#include "dsp/resampler.h"

#include <speex/speex_resampler.h>

namespace voice {

Result<std::unique_ptr<Resampler>> Resampler::make(uint32_t inRate, uint32_t outRate,
                                                   size_t maxIn) {
    if (inRate < 8000 || inRate > 192000 || outRate < 8000 || outRate > 192000 || maxIn == 0 ||
        maxIn > 65536) {
        return Status(Errc::InvalidArgument, "resampler rates or block size out of range");
    }
    int err = RESAMPLER_ERR_SUCCESS;
    // Quality 5 (SPEEX_RESAMPLER_QUALITY_DESKTOP): a 0.6 ms filter at
    // 48 kHz, well under the period it adds to.
    SpeexResamplerState* state =
        speex_resampler_init(1, inRate, outRate, SPEEX_RESAMPLER_QUALITY_DESKTOP, &err);
    if (state == nullptr || err != RESAMPLER_ERR_SUCCESS) {
        return Status(Errc::Unsupported,
                      std::string("speex_resampler_init failed: ") + speex_resampler_strerror(err));
    }
    return std::unique_ptr<Resampler>(new Resampler(state, inRate, outRate, maxIn));
}

Resampler::Resampler(SpeexResamplerState_* state, uint32_t inRate, uint32_t outRate, size_t maxIn)
    : state_(state), inRate_(inRate), outRate_(outRate), maxIn_(maxIn),
      maxOut_(maxIn * outRate / inRate + 2) {
    // No leading zeros: the output starts with the first input sample's
    // neighbourhood, and the delay is the filter's half length.
    speex_resampler_skip_zeros(state_);
    delayNs_ = int64_t{speex_resampler_get_input_latency(state_)} * 1'000'000'000 / inRate_;
}

Resampler::~Resampler() {
    speex_resampler_destroy(state_);
}

size_t Resampler::process(std::span<const int16_t> in, std::span<int16_t> out) {
    if (in.size() > maxIn_) {
        in = in.first(maxIn_);
    }
    size_t written = 0;
    while (!in.empty() && written < out.size()) {
        spx_uint32_t inLen = static_cast<spx_uint32_t>(in.size());
        spx_uint32_t outLen = static_cast<spx_uint32_t>(out.size() - written);
        if (speex_resampler_process_int(state_, 0, in.data(), &inLen, out.data() + written,
                                        &outLen) != RESAMPLER_ERR_SUCCESS ||
            (inLen == 0 && outLen == 0)) {
            break;
        }
        in = in.subspan(inLen);
        written += outLen;
    }
    return written;
}

} // namespace voice
