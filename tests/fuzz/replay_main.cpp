// SPDX-License-Identifier: MIT
// Runs a fuzz target without libFuzzer: every file of the given corpus
// folders, then seeded random and mutated inputs. A crash, a sanitizer report
// or an abort() from the target's own checks fails the test.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run(const std::vector<uint8_t>& input) {
    // Copy into an exact-size heap buffer so AddressSanitizer sees overreads.
    std::vector<uint8_t> exact(input);
    LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::vector<uint8_t>> corpus;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path root(argv[i]);
        if (std::filesystem::is_directory(root)) {
            for (const auto& entry : std::filesystem::directory_iterator(root)) {
                if (entry.is_regular_file()) {
                    corpus.push_back(readFile(entry.path()));
                }
            }
        } else {
            corpus.push_back(readFile(root));
        }
    }
    if (corpus.empty()) {
        fprintf(stderr, "no corpus files given or found\n");
        return 1;
    }
    for (const auto& input : corpus) {
        run(input);
    }

    // Seeded mutations of the corpus (bit flips, truncation, extension) and
    // plain random inputs: a cheap stand-in for coverage-guided fuzzing.
    std::mt19937_64 rng(0x766f69636564ULL);
    size_t executed = corpus.size();
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> input;
        if (round % 4 == 3) {
            input.resize(rng() % 2048);
            for (auto& b : input) {
                b = static_cast<uint8_t>(rng());
            }
        } else {
            input = corpus[rng() % corpus.size()];
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits; ++e) {
                switch (rng() % 4) {
                case 0:
                    if (!input.empty()) {
                        input[rng() % input.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
                    }
                    break;
                case 1:
                    if (!input.empty()) {
                        input.resize(rng() % input.size());
                    }
                    break;
                case 2:
                    input.push_back(static_cast<uint8_t>(rng()));
                    break;
                default:
                    if (!input.empty()) {
                        input[rng() % input.size()] = static_cast<uint8_t>(rng());
                    }
                    break;
                }
            }
        }
        run(input);
        ++executed;
    }
    printf("replayed %zu corpus files and %zu inputs in all\n", corpus.size(), executed);
    return 0;
}
