// SPDX-License-Identifier: MIT
// PlayoutAligner: pitch-synchronous splice with a linear crossfade.
#include "pipeline/playout_aligner.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace voice {

PlayoutAligner::PlayoutAligner(size_t frameSamples, uint32_t sampleRate)
    : maxDrop_(std::min<size_t>(frameSamples / 4, size_t{sampleRate} / 400)) {}

size_t PlayoutAligner::shorten(std::span<const int16_t> in, size_t drop,
                               std::span<int16_t> out) const {
    const size_t n = in.size();
    drop = std::min(drop, maxDrop_);
    // The crossfade is as long as the largest lag, and the splice sits in
    // the middle of the frame: both ends of the frame are kept.
    const size_t fade = maxDrop_;
    if (drop == 0 || fade == 0 || n < 2 * fade + drop || out.size() < n) {
        std::copy(in.begin(), in.end(), out.begin());
        return n;
    }
    const size_t start = (n - fade - drop) / 2;
    // The lag in [drop/2, drop] whose shifted signal matches the original
    // best over the crossfade (normalised cross-correlation): splicing a
    // whole number of pitch periods leaves the waveform continuous.
    size_t best = drop;
    double bestScore = -2;
    for (size_t lag = std::max<size_t>(1, drop / 2); lag <= drop; ++lag) {
        double xy = 0, xx = 0, yy = 0;
        for (size_t k = 0; k < fade; ++k) {
            const double x = in[start + k];
            const double y = in[start + lag + k];
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        const double score = (xx > 0 && yy > 0) ? xy / std::sqrt(xx * yy) : 0;
        // Ties (silence) go to the longest lag: converge as fast as allowed.
        if (score > bestScore || (score == bestScore && lag > best)) {
            bestScore = score;
            best = lag;
        }
    }
    const size_t lag = best;
    std::copy_n(in.begin(), start, out.begin());
    for (size_t k = 0; k < fade; ++k) {
        // Fade from the original into the signal `lag` samples later.
        const double w = (static_cast<double>(k) + 0.5) / static_cast<double>(fade);
        const double v = (1 - w) * in[start + k] + w * in[start + lag + k];
        out[start + k] = static_cast<int16_t>(std::lround(std::clamp(v, -32768.0, 32767.0)));
    }
    std::copy(in.begin() + static_cast<ptrdiff_t>(start + lag + fade), in.end(),
              out.begin() + static_cast<ptrdiff_t>(start + fade));
    return n - lag;
}

} // namespace voice
