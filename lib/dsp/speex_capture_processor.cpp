// SPDX-License-Identifier: MIT
#include "dsp/speex_capture_processor.h"

#include <algorithm>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <vector>

namespace voice {
namespace {

double power(std::span<const int16_t> s) {
    double sum = 0;
    for (int16_t v : s)
        sum += double(v) * double(v);
    return s.empty() ? 0.0 : sum / (double(s.size()) * 32768.0 * 32768.0);
}

class SpeexCaptureProcessor final : public CaptureProcessor {
public:
    explicit SpeexCaptureProcessor(const CaptureProcessorConfig& config)
        : CaptureProcessor(config), block_(config.rate / 100), out_(block_) {}

    ~SpeexCaptureProcessor() override {
        if (pre_)
            speex_preprocess_state_destroy(pre_);
        if (echo_)
            speex_echo_state_destroy(echo_);
    }

    Status init() {
        const int n = static_cast<int>(block_);
        int rate = static_cast<int>(config_.rate);
        if (config_.echoCancel) {
            echo_ = speex_echo_state_init(n, rate * config_.echoTailMs / 1000);
            if (!echo_)
                return Status(Errc::Internal, "speex_echo_state_init failed");
            speex_echo_ctl(echo_, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
        }
        pre_ = speex_preprocess_state_init(n, rate);
        if (!pre_)
            return Status(Errc::Internal, "speex_preprocess_state_init failed");
        int on = config_.noiseSuppression ? 1 : 0;
        speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_DENOISE, &on);
        if (config_.noiseSuppression) {
            int db = -30; // the default -15 dB leaves a fan clearly audible
            speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &db);
        }
        int agc = config_.autoGain ? 1 : 0;
        speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_AGC, &agc);
        if (config_.autoGain) {
            float level = 8000; // about -12 dBFS speech
            speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level);
            int maxGain = 20; // dB; more lifts the residual noise floor
            speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, &maxGain);
        }
        int dereverb = 0;
        speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_DEREVERB, &dereverb);
        if (echo_) {
            // Residual echo suppression in the preprocessor, driven by the canceller.
            speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_ECHO_STATE, echo_);
        }
        preActive_ = config_.noiseSuppression || config_.autoGain || echo_ != nullptr;
        return {};
    }

    size_t blockSamples() const override { return block_; }

    void process(std::span<int16_t> near, std::span<const int16_t> far) override {
        if (near.size() != block_)
            return;
        if (echo_ && far.size() == block_) {
            const double in = power(near);
            speex_echo_cancellation(echo_, near.data(), far.data(), out_.data());
            const double out = power(out_);
            noteEchoBlock(in, out, power(far));
            std::copy(out_.begin(), out_.end(), near.begin());
        }
        if (preActive_)
            speex_preprocess_run(pre_, near.data());
    }

    void resetEcho() override {
        if (echo_)
            speex_echo_state_reset(echo_);
    }

    std::string_view name() const override { return "speexdsp"; }

private:
    size_t block_;
    std::vector<int16_t> out_;
    SpeexEchoState* echo_ = nullptr;
    SpeexPreprocessState* pre_ = nullptr;
    bool preActive_ = false;
};

} // namespace

Result<std::unique_ptr<CaptureProcessor>>
makeSpeexCaptureProcessor(const CaptureProcessorConfig& config) {
    auto p = std::make_unique<SpeexCaptureProcessor>(config);
    if (Status s = p->init(); !s)
        return s;
    return std::unique_ptr<CaptureProcessor>(std::move(p));
}

} // namespace voice
