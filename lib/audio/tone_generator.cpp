// SPDX-License-Identifier: MIT
// ToneGenerator: call-progress tones.
#include "audio/tone_generator.h"

#include <cmath>

namespace voice {

namespace {

/// Peak level of the tone: about -12 dBFS, well below the call's voice.
constexpr double kAmplitude = 0.25 * 32767;

} // namespace

std::string_view toneKindName(ToneKind kind) {
    switch (kind) {
    case ToneKind::Ring:
        return "ring";
    case ToneKind::Ringback:
        return "ringback";
    case ToneKind::Busy:
        return "busy";
    }
    return "tone";
}

ToneGenerator::ToneGenerator(ToneKind kind, uint32_t rate, uint32_t channels)
    : rate_(rate == 0 ? 48000 : rate), channels_(channels == 0 ? 1 : channels) {
    double onS = 1, offS = 1;
    switch (kind) {
    case ToneKind::Ring:
        f1_ = 1000;
        f2_ = 1250;
        onS = 1.5;
        offS = 1.0;
        break;
    case ToneKind::Ringback:
        f1_ = 425;
        onS = 1.0;
        offS = 4.0;
        break;
    case ToneKind::Busy:
        f1_ = 425;
        onS = 0.5;
        offS = 0.5;
        break;
    }
    onFrames_ = static_cast<uint64_t>(onS * rate_);
    periodFrames_ = onFrames_ + static_cast<uint64_t>(offS * rate_);
    const double pi = std::acos(-1.0);
    dc1_ = std::cos(2 * pi * f1_ / rate_);
    ds1_ = std::sin(2 * pi * f1_ / rate_);
    dc2_ = std::cos(2 * pi * f2_ / rate_);
    ds2_ = std::sin(2 * pi * f2_ / rate_);
}

void ToneGenerator::fill(std::span<int16_t> out) noexcept {
    const double scale = f2_ > 0 ? kAmplitude / 2 : kAmplitude;
    const size_t frames = out.size() / channels_;
    for (size_t i = 0; i < frames; ++i) {
        int16_t v = 0;
        if (position_ < onFrames_) {
            const double x = f2_ > 0 ? s1_ + s2_ : s1_;
            v = static_cast<int16_t>(std::lround(x * scale));
            // Rotate the phasors one frame on.
            const double c1 = c1_ * dc1_ - s1_ * ds1_;
            s1_ = s1_ * dc1_ + c1_ * ds1_;
            c1_ = c1;
            const double c2 = c2_ * dc2_ - s2_ * ds2_;
            s2_ = s2_ * dc2_ + c2_ * ds2_;
            c2_ = c2;
        } else if (position_ == onFrames_) {
            // Each burst starts at phase 0, and the phasors' length drift
            // (rounding) is reset once a cadence.
            c1_ = c2_ = 1;
            s1_ = s2_ = 0;
        }
        for (uint32_t c = 0; c < channels_; ++c) {
            out[i * channels_ + c] = v;
        }
        if (++position_ >= periodFrames_) {
            position_ = 0;
        }
    }
}

} // namespace voice
