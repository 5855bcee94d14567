// SPDX-License-Identifier: MIT
#include "dsp/webrtc_capture_processor.h"

// The library's headers are found with -I (its .pc), so their warnings are ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>
#pragma GCC diagnostic pop

#include <algorithm>

namespace voice {
namespace {

double power(const int16_t* s, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i)
        sum += double(s[i]) * double(s[i]);
    return n == 0 ? 0.0 : sum / (double(n) * 32768.0 * 32768.0);
}

class WebrtcCaptureProcessor final : public CaptureProcessor {
public:
    explicit WebrtcCaptureProcessor(const CaptureProcessorConfig& config)
        : CaptureProcessor(config), block_(config.rate / 100),
          nearFrame_(std::make_unique<webrtc::AudioFrame>()),
          farFrame_(std::make_unique<webrtc::AudioFrame>()) {}

    Status init() {
        webrtc::Config cfg;
        cfg.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
        cfg.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
        apm_.reset(webrtc::AudioProcessing::Create(cfg));
        if (!apm_)
            return Status(Errc::Internal, "webrtc AudioProcessing::Create failed");
        apm_->echo_cancellation()->Enable(config_.echoCancel);
        if (config_.echoCancel) {
            apm_->echo_cancellation()->set_suppression_level(
                webrtc::EchoCancellation::kLowSuppression);
            apm_->echo_cancellation()->enable_drift_compensation(false);
        }
        apm_->noise_suppression()->Enable(config_.noiseSuppression);
        if (config_.noiseSuppression)
            apm_->noise_suppression()->set_level(webrtc::NoiseSuppression::kHigh);
        apm_->gain_control()->Enable(config_.autoGain);
        if (config_.autoGain) {
            apm_->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
            apm_->gain_control()->set_target_level_dbfs(12);
            apm_->gain_control()->set_compression_gain_db(20);
            apm_->gain_control()->enable_limiter(true);
        }
        apm_->high_pass_filter()->Enable(false);
        for (auto* f : {nearFrame_.get(), farFrame_.get()}) {
            f->samples_per_channel_ = block_;
            f->sample_rate_hz_ = static_cast<int>(config_.rate);
            f->num_channels_ = 1;
        }
        return {};
    }

    size_t blockSamples() const override { return block_; }

    void process(std::span<int16_t> near, std::span<const int16_t> far) override {
        if (near.size() != block_)
            return;
        double farP = 0;
        if (config_.echoCancel && far.size() == block_) {
            std::copy(far.begin(), far.end(), farFrame_->data_);
            farFrame_->samples_per_channel_ = block_;
            apm_->ProcessReverseStream(farFrame_.get());
            farP = power(far.data(), far.size());
        }
        std::copy(near.begin(), near.end(), nearFrame_->data_);
        nearFrame_->samples_per_channel_ = block_;
        const double in = power(nearFrame_->data_, block_);
        // The reference is aligned by the caller; what is left is the
        // acoustic path, which the delay-agnostic estimator finds.
        apm_->set_stream_delay_ms(0);
        apm_->ProcessStream(nearFrame_.get());
        std::copy(nearFrame_->data_, nearFrame_->data_ + block_, near.begin());
        if (config_.echoCancel)
            noteEchoBlock(in, power(near.data(), block_), farP);
    }

    void resetEcho() override {
        // 0.3 has no reset of the AEC alone; re-enabling it restarts it.
        if (config_.echoCancel) {
            apm_->echo_cancellation()->Enable(false);
            apm_->echo_cancellation()->Enable(true);
        }
    }

    std::string_view name() const override { return "webrtc"; }

private:
    size_t block_;
    std::unique_ptr<webrtc::AudioProcessing> apm_;
    std::unique_ptr<webrtc::AudioFrame> nearFrame_, farFrame_;
};

} // namespace

Result<std::unique_ptr<CaptureProcessor>>
makeWebrtcCaptureProcessor(const CaptureProcessorConfig& config) {
    auto p = std::make_unique<WebrtcCaptureProcessor>(config);
    if (Status s = p->init(); !s)
        return s;
    return std::unique_ptr<CaptureProcessor>(std::move(p));
}

} // namespace voice
