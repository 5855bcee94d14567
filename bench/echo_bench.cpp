// SPDX-License-Identifier: MIT
// Offline capture-processing bench: feeds far-end speech through a simulated
// room (delay + decaying reflections), adds near-end speech or steady noise,
// and runs every available CaptureProcessor backend (speexdsp, webrtc) over
// it, with processing on and off, printing one table:
//   ERLE after 2 s and 10 s (far end only; 10 log10 of the echo power going
//   into the microphone over what would be sent, over the 1 s ending then),
//   ERLE 2 s after the echo delay jumps by 20 ms (the device reopened),
//   double-talk correlation of what is sent with the clean near end,
//   noise reduction (steady fan noise alone, in over out, after 4 s) and the
//   correlation of speech-plus-noise with the clean speech, and CPU per call
//   in % of one core (all five scenarios' processing over their audio time).
// The signals come from bench/echo_bench.sh (espeak-ng speech via sox).
//
// usage: echo_bench FAR.raw NEAR.raw [RATE]   (s16le mono at RATE, default 48000)
#include "dsp/capture_processor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace voice;

namespace {

std::vector<float> readRaw(const char* path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<float> out;
    int16_t v;
    while (f.read(reinterpret_cast<char*>(&v), 2))
        out.push_back(v / 32768.0f);
    return out;
}

std::vector<float> loopTo(const std::vector<float>& s, size_t n) {
    std::vector<float> out(n);
    for (size_t i = 0; i < n; ++i)
        out[i] = s.empty() ? 0.f : s[i % s.size()];
    return out;
}

/// A room: direct path after `delay` samples at -6 dB, then reflections
/// decaying with a 15 ms time constant over 60 ms (ERL about 5 dB).
std::vector<float> roomResponse(uint32_t rate, size_t delay, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.f, 1.f);
    const size_t tail = rate * 60 / 1000;
    std::vector<float> h(delay + tail, 0.f);
    h[delay] = 0.5f;
    for (size_t i = 1; i < tail; ++i)
        h[delay + i] = 0.01f * g(rng) * std::exp(-float(i) / (0.015f * rate));
    return h;
}

std::vector<float> convolve(const std::vector<float>& x, const std::vector<float>& h) {
    std::vector<float> y(x.size(), 0.f);
    std::vector<size_t> taps;
    for (size_t k = 0; k < h.size(); ++k)
        if (h[k] != 0.f)
            taps.push_back(k);
    for (size_t n = 0; n < x.size(); ++n) {
        float acc = 0;
        for (size_t k : taps)
            if (k <= n)
                acc += h[k] * x[n - k];
        y[n] = acc;
    }
    return y;
}

/// Steady "fan" noise: low-passed white noise plus a 120 Hz hum, about -40 dBFS.
std::vector<float> fanNoise(size_t n, uint32_t rate) {
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.f, 1.f);
    std::vector<float> out(n);
    float lp = 0;
    for (size_t i = 0; i < n; ++i) {
        lp += 0.15f * (g(rng) - lp);
        out[i] = 0.02f * lp + 0.004f * std::sin(2 * float(M_PI) * 120.f * float(i) / float(rate));
    }
    return out;
}

double energy(const std::vector<float>& s, size_t from, size_t to) {
    double e = 0;
    for (size_t i = from; i < std::min(to, s.size()); ++i)
        e += double(s[i]) * s[i];
    return e;
}

/// Best normalized correlation of y with x over lags 0..maxLag of y behind x.
double correlation(const std::vector<float>& x, const std::vector<float>& y, size_t from, size_t to,
                   size_t maxLag) {
    double best = 0;
    for (size_t lag = 0; lag <= maxLag; lag += 8) {
        double xy = 0, xx = 0, yy = 0;
        for (size_t i = from; i + lag < std::min(to, y.size()); ++i) {
            xy += double(x[i]) * y[i + lag];
            xx += double(x[i]) * x[i];
            yy += double(y[i + lag]) * y[i + lag];
        }
        if (xx > 0 && yy > 0)
            best = std::max(best, xy / std::sqrt(xx * yy));
    }
    return best;
}

struct Run {
    std::vector<float> out;
    double cpuSeconds = 0;
};

double cpuNow() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + ts.tv_nsec / 1e9;
}

int16_t toS16(float v) {
    return int16_t(std::lround(std::clamp(v, -1.f, 32767.f / 32768.f) * 32768.f));
}

/// Runs mic (with far as the reference) through a processor, or copies it when p is null.
Run process(CaptureProcessor* p, const std::vector<float>& mic, const std::vector<float>& far,
            size_t block, size_t resetAt = SIZE_MAX) {
    Run r;
    r.out.resize(mic.size());
    std::vector<int16_t> n(block), f(block);
    const double t0 = cpuNow();
    for (size_t at = 0; at + block <= mic.size(); at += block) {
        for (size_t i = 0; i < block; ++i) {
            n[i] = toS16(mic[at + i]);
            f[i] = toS16(far[at + i]);
        }
        if (p) {
            if (at == resetAt)
                p->resetEcho();
            p->process(n, f);
        }
        for (size_t i = 0; i < block; ++i)
            r.out[at + i] = n[i] / 32768.f;
    }
    r.cpuSeconds = cpuNow() - t0;
    return r;
}

double db(double num, double den) {
    return 10.0 * std::log10((num + 1e-20) / (den + 1e-20));
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: echo_bench FAR.raw NEAR.raw [RATE]\n");
        return 2;
    }
    const uint32_t rate = argc > 3 ? uint32_t(std::stoul(argv[3])) : 48000;
    const size_t block = rate / 100;
    const auto farSpeech = readRaw(argv[1]);
    const auto nearSpeech = readRaw(argv[2]);
    if (farSpeech.empty() || nearSpeech.empty()) {
        std::fprintf(stderr, "echo_bench: empty input\n");
        return 2;
    }
    const size_t len = 14 * rate; // 14 s per scenario
    const auto far = loopTo(farSpeech, len);
    const auto h1 = roomResponse(rate, rate * 40 / 1000, 1);
    const auto h2 = roomResponse(rate, rate * 60 / 1000, 1);
    const auto echo = convolve(far, h1);
    // The same far end, with the echo delay 20 ms longer from 10 s on.
    auto echoJump = echo;
    {
        const auto e2 = convolve(far, h2);
        std::copy(e2.begin() + 10 * rate, e2.end(), echoJump.begin() + 10 * rate);
    }
    // Near end alone from 10 s (double talk after convergence).
    std::vector<float> nearDt(len, 0.f);
    for (size_t i = 10 * rate, j = 0; i < len && j < nearSpeech.size(); ++i, ++j)
        nearDt[i] = 0.7f * nearSpeech[j];
    std::vector<float> micFar(len), micDt(len), micNoise(len);
    const auto noise = fanNoise(len, rate);
    const auto nearLoop = loopTo(nearSpeech, len);
    for (size_t i = 0; i < len; ++i) {
        micFar[i] = echo[i];
        micDt[i] = echo[i] + nearDt[i];
        micNoise[i] = 0.7f * nearLoop[i] + noise[i];
    }
    const std::vector<float> silence(len, 0.f);
    std::printf("rate %u Hz, block %zu, echo path 40 ms (+20 ms at 10 s in the jump scenario), ERL "
                "%.1f dB\n",
                rate, block, db(energy(far, 0, len), energy(echo, 0, len)));
    std::printf("%-24s %9s %9s %9s %9s %9s %9s %8s\n", "backend/config", "ERLE@2s", "ERLE@10s",
                "jump+2s", "DT corr", "NR dB", "NS corr", "CPU %");
    struct Cfg {
        const char* label;
        bool aec, ns, agc;
    };
    const Cfg cfgs[] = {{"off", false, false, false},
                        {"ns", false, true, false},
                        {"aec", true, false, false},
                        {"aec+ns", true, true, false},
                        {"aec+ns+agc", true, true, true}};
    for (DspLibrary lib : {DspLibrary::Speex, DspLibrary::Webrtc}) {
        if (!dspLibraryAvailable(lib)) {
            std::printf("%s: not in this build\n", std::string(dspLibraryName(lib)).c_str());
            continue;
        }
        for (const Cfg& c : cfgs) {
            auto make = [&]() -> std::unique_ptr<CaptureProcessor> {
                if (!c.aec && !c.ns && !c.agc)
                    return nullptr;
                CaptureProcessorConfig pc;
                pc.rate = rate;
                pc.echoCancel = c.aec;
                pc.noiseSuppression = c.ns;
                pc.autoGain = c.agc;
                auto p = makeCaptureProcessor(pc, lib);
                if (!p) {
                    std::fprintf(stderr, "%s\n", p.status().toString().c_str());
                    std::exit(1);
                }
                return std::move(*p);
            };
            auto p1 = make();
            const Run farOnly = process(p1.get(), micFar, far, block);
            auto p2 = make();
            const Run jump = process(p2.get(), echoJump, far, block);
            auto p3 = make();
            const Run dt = process(p3.get(), micDt, far, block);
            auto p4 = make();
            const Run ns = process(p4.get(), micNoise, silence, block);
            const double erle2 =
                db(energy(micFar, rate, 2 * rate), energy(farOnly.out, rate, 2 * rate));
            const double erle10 =
                db(energy(micFar, 9 * rate, 10 * rate), energy(farOnly.out, 9 * rate, 10 * rate));
            const double jump2 =
                db(energy(echoJump, 11 * rate, 12 * rate), energy(jump.out, 11 * rate, 12 * rate));
            const double dtCorr = correlation(nearDt, dt.out, 10 * rate, len, block * 2);
            auto p5 = make();
            const Run noiseOnly = process(p5.get(), noise, silence, block);
            const double nr =
                db(energy(noise, 4 * rate, len), energy(noiseOnly.out, 4 * rate, len));
            std::vector<float> nearScaled(len);
            for (size_t i = 0; i < len; ++i)
                nearScaled[i] = 0.7f * nearLoop[i];
            const double nsCorr = correlation(nearScaled, ns.out, 4 * rate, len, block * 2);
            const double audioSeconds = 5.0 * double(len) / rate;
            const double cpu = 100.0 *
                               (farOnly.cpuSeconds + jump.cpuSeconds + dt.cpuSeconds +
                                ns.cpuSeconds + noiseOnly.cpuSeconds) /
                               audioSeconds;
            const std::string label = std::string(dspLibraryName(lib)) + "/" + c.label;
            std::printf("%-24s %9.1f %9.1f %9.1f %9.3f %9.1f %9.3f %8.2f\n", label.c_str(), erle2,
                        erle10, jump2, dtCorr, nr, nsCorr, cpu);
        }
    }
    return 0;
}
