// SPDX-License-Identifier: MIT
// Measures for tests/e2e/echo_path_test.sh, on raw S16LE mono 48 kHz files:
//   echo_analyze power FILE FROM_BYTE TO_BYTE
//       mean power of the byte range in dBFS
//   echo_analyze corr REF FILE FROM_BYTE TO_BYTE
//       the normalized correlation of REF (the clean near end) with the
//       byte range: the lag that puts REF inside it from a coarse search at
//       8 kHz, then 0.5 s pieces each at its best lag within 10 ms of it,
//       weighted by energy (the receiver's playout alignment moves the lag)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::vector<double> load(const char* path, long from = 0, long to = -1) {
    std::ifstream f(path, std::ios::binary);
    std::vector<double> out;
    int16_t v;
    long at = 0;
    while (f.read(reinterpret_cast<char*>(&v), 2)) {
        if (at >= from && (to < 0 || at < to))
            out.push_back(v / 32768.0);
        at += 2;
    }
    return out;
}

double corrAt(const std::vector<double>& ref, const std::vector<double>& s, long lag) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const long j = lag + long(i);
        if (j < 0 || j >= long(s.size()))
            continue;
        xy += ref[i] * s[size_t(j)];
        xx += ref[i] * ref[i];
        yy += s[size_t(j)] * s[size_t(j)];
    }
    return xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0.0;
}

std::vector<double> decimate(const std::vector<double>& s, size_t k) {
    std::vector<double> out(s.size() / k);
    for (size_t i = 0; i < out.size(); ++i) {
        double a = 0;
        for (size_t j = 0; j < k; ++j)
            a += s[i * k + j];
        out[i] = a / double(k);
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "power" && argc == 5) {
        const auto s = load(argv[2], std::atol(argv[3]), std::atol(argv[4]));
        double e = 0;
        for (double v : s)
            e += v * v;
        std::printf("%.2f\n", 10 * std::log10(e / double(std::max<size_t>(1, s.size())) + 1e-15));
        return 0;
    }
    if (mode == "corr" && argc == 6) {
        const auto ref = load(argv[2]);
        const auto s = load(argv[3], std::atol(argv[4]), std::atol(argv[5]));
        if (ref.empty() || s.size() < ref.size() / 2) {
            std::fprintf(stderr, "echo_analyze: not enough audio\n");
            return 2;
        }
        constexpr size_t k = 6;
        const auto rd = decimate(ref, k), sd = decimate(s, k);
        long best = 0;
        double bestC = -2;
        for (long lag = 0; lag + long(rd.size()) <= long(sd.size()); ++lag) {
            const double c = corrAt(rd, sd, lag);
            if (c > bestC)
                bestC = c, best = lag;
        }
        // The receiver's playout alignment splices the stream now and then
        // (and concealment stretches it), so the lag drifts by a few ms over
        // seconds: correlate 0.5 s pieces, each at its own lag near the
        // coarse one, and weight them by the near end's energy.
        const long base = best * long(k);
        constexpr size_t piece = 24000;
        constexpr long search = 480;
        double sum = 0, weights = 0;
        for (size_t at = 0; at + piece <= ref.size(); at += piece) {
            const std::vector<double> r(ref.begin() + long(at), ref.begin() + long(at + piece));
            double e = 0;
            for (double v : r)
                e += v * v;
            if (e / piece < 1e-5)
                continue; // a pause of the near end
            double c = -1;
            for (long lag = base + long(at) - search; lag <= base + long(at) + search; ++lag)
                c = std::max(c, corrAt(r, s, lag));
            sum += e * c;
            weights += e;
        }
        std::printf("%.3f\n", weights > 0 ? sum / weights : 0.0);
        return 0;
    }
    std::fprintf(stderr, "usage: echo_analyze power FILE FROM TO | corr REF FILE FROM TO\n");
    return 2;
}
