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
#include <cmath>

namespace voice {
namespace {

double power(const int16_t* s, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i)
        sum += double(s[i]) * double(s[i]);
    return n == 0 ? 0.0 : sum / (double(n) * 32768.0 * 32768.0);
}

/// Far-end activity: a reference block above -50 dBFS, and the echo tail
/// after it (room reverberation, alignment lead).
constexpr double kFarActivePower = 1e-5;
constexpr int kFarHangoverBlocks = 30; // 300 ms

/// Near-end voice: the hangover keeps the AGC's gain over the gaps between
/// words.
constexpr int kNearVoiceHangoverBlocks = 30; // 300 ms

/// Two AudioProcessing instances: AEC and NS in the first; the AGC alone in
/// the second, so its gain can be held at unity while the far end talks. A
/// residual echo is speech to the AGC: fed straight through, its adaptive
/// digital gain lifted a real echo path's residual by 17 dB (28.5 dB of
/// ERLE without AGC, 11.3 dB with it, tests/e2e/echo_path_test.sh). Nor is
/// its output used while its voice detector hears no near-end voice: its
/// compression gain lifted steady noise by 6.6 dB (capture_processor_test),
/// and with it what noise suppression left of a fan.
/// The AGC still sees every block (its level estimate keeps up); only its
/// output is not used then, with a short ramp between the two gains so the
/// switch does not click.
class WebrtcCaptureProcessor final : public CaptureProcessor {
public:
    explicit WebrtcCaptureProcessor(const CaptureProcessorConfig& config)
        : CaptureProcessor(config), block_(config.rate / 100),
          nearFrame_(std::make_unique<webrtc::AudioFrame>()),
          farFrame_(std::make_unique<webrtc::AudioFrame>()),
          agcFrame_(std::make_unique<webrtc::AudioFrame>()) {}

    Status init() {
        webrtc::Config cfg;
        cfg.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
        cfg.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(false));
        apm_.reset(webrtc::AudioProcessing::Create(cfg));
        if (!apm_)
            return Status(Errc::Internal, "webrtc AudioProcessing::Create failed");
        apm_->echo_cancellation()->Enable(config_.echoCancel);
        if (config_.echoCancel) {
            // Low: higher levels duck the near end in double talk
            // (correlation 0.80 low, 0.72 moderate, 0.64 high in bench/echo_bench).
            apm_->echo_cancellation()->set_suppression_level(
                webrtc::EchoCancellation::kLowSuppression);
            apm_->echo_cancellation()->enable_drift_compensation(false);
        }
        apm_->noise_suppression()->Enable(config_.noiseSuppression);
        if (config_.noiseSuppression)
            apm_->noise_suppression()->set_level(webrtc::NoiseSuppression::kHigh);
        apm_->gain_control()->Enable(false);
        apm_->high_pass_filter()->Enable(false);
        if (config_.autoGain) {
            agc_.reset(webrtc::AudioProcessing::Create());
            if (!agc_)
                return Status(Errc::Internal, "webrtc AudioProcessing::Create failed");
            agc_->high_pass_filter()->Enable(false);
            agc_->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
            agc_->gain_control()->set_target_level_dbfs(6);
            agc_->gain_control()->set_compression_gain_db(12);
            agc_->gain_control()->enable_limiter(true);
            agc_->gain_control()->Enable(true);
            agc_->voice_detection()->Enable(true);
            agc_->voice_detection()->set_likelihood(webrtc::VoiceDetection::kVeryLowLikelihood);
        }
        for (auto* f : {nearFrame_.get(), farFrame_.get(), agcFrame_.get()}) {
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
        farHangover_ = farP > kFarActivePower ? kFarHangoverBlocks : std::max(0, farHangover_ - 1);
        std::copy(near.begin(), near.end(), nearFrame_->data_);
        nearFrame_->samples_per_channel_ = block_;
        const double in = power(nearFrame_->data_, block_);
        if (config_.echoCancel || config_.noiseSuppression) {
            // The reference is aligned by the caller; what is left is the
            // acoustic path, which the delay-agnostic estimator finds.
            apm_->set_stream_delay_ms(0);
            apm_->ProcessStream(nearFrame_.get());
        }
        if (config_.echoCancel)
            noteEchoBlock(in, power(nearFrame_->data_, block_), farP);
        if (agc_) {
            std::copy(nearFrame_->data_, nearFrame_->data_ + block_, agcFrame_->data_);
            agcFrame_->samples_per_channel_ = block_;
            agc_->gain_control()->set_stream_analog_level(analogLevel_);
            agc_->ProcessStream(agcFrame_.get());
            analogLevel_ = agc_->gain_control()->stream_analog_level();
            nearVoiceHangover_ = agc_->voice_detection()->stream_has_voice()
                                     ? kNearVoiceHangoverBlocks
                                     : std::max(0, nearVoiceHangover_ - 1);
            // Ramp from the last block's weight of the AGC's output to this one's.
            const double target = farHangover_ == 0 && nearVoiceHangover_ > 0 ? 1.0 : 0.0;
            for (size_t i = 0; i < block_; ++i) {
                const double w =
                    agcWeight_ + (target - agcWeight_) * double(i + 1) / double(block_);
                const double v = w * agcFrame_->data_[i] + (1.0 - w) * nearFrame_->data_[i];
                near[i] = static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
            }
            agcWeight_ = target;
        } else {
            std::copy(nearFrame_->data_, nearFrame_->data_ + block_, near.begin());
        }
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
    std::unique_ptr<webrtc::AudioProcessing> apm_; // AEC, NS
    std::unique_ptr<webrtc::AudioProcessing> agc_; // AGC only
    std::unique_ptr<webrtc::AudioFrame> nearFrame_, farFrame_, agcFrame_;
    int farHangover_ = 0;
    int nearVoiceHangover_ = 0;
    double agcWeight_ = 0.0;
    int analogLevel_ = 127;
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
