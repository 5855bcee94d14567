// SPDX-License-Identifier: MIT
// WAV files for a ring tone.
#include "audio/wav_file.h"

#include "config/secure_file.h"

#include <cstring>

namespace voice {

namespace {

uint32_t le32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint16_t le16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] | p[1] << 8);
}

Status bad(const std::string& why) {
    return Status(Errc::InvalidArgument, why);
}

} // namespace

Result<std::vector<int16_t>> parseWav(std::span<const uint8_t> b, uint32_t rate) {
    if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 ||
        std::memcmp(b.data() + 8, "WAVE", 4) != 0) {
        return bad("not a WAV file (no RIFF/WAVE header)");
    }
    bool haveFmt = false;
    uint16_t channels = 0;
    size_t pos = 12;
    while (pos + 8 <= b.size()) {
        const uint8_t* id = b.data() + pos;
        const uint64_t size = le32(b.data() + pos + 4);
        const size_t body = pos + 8;
        if (size > b.size() - body) {
            return bad("truncated WAV file (a chunk runs past the end)");
        }
        if (std::memcmp(id, "fmt ", 4) == 0) {
            if (size < 16) {
                return bad("WAV format chunk too short");
            }
            const uint8_t* f = b.data() + body;
            const uint16_t format = le16(f);
            channels = le16(f + 2);
            const uint32_t fileRate = le32(f + 4);
            const uint16_t bits = le16(f + 14);
            if (format != 1 || bits != 16) {
                return bad("WAV file is not 16-bit PCM");
            }
            if (channels != 1 && channels != 2) {
                return bad("WAV file must be mono or stereo");
            }
            if (fileRate != rate) {
                return bad("WAV file is at " + std::to_string(fileRate) + " Hz, not " +
                           std::to_string(rate) + " Hz");
            }
            haveFmt = true;
        } else if (std::memcmp(id, "data", 4) == 0) {
            if (!haveFmt) {
                return bad("WAV data before its format chunk");
            }
            const size_t frames = static_cast<size_t>(size) / (2u * channels);
            if (frames == 0) {
                return bad("WAV file holds no samples");
            }
            std::vector<int16_t> out(frames);
            const uint8_t* d = b.data() + body;
            for (size_t i = 0; i < frames; ++i) {
                if (channels == 1) {
                    out[i] = static_cast<int16_t>(le16(d + 2 * i));
                } else {
                    const int l = static_cast<int16_t>(le16(d + 4 * i));
                    const int r = static_cast<int16_t>(le16(d + 4 * i + 2));
                    out[i] = static_cast<int16_t>((l + r) / 2);
                }
            }
            return out;
        }
        pos = body + static_cast<size_t>(size) + (size & 1); // chunks are padded to even sizes
    }
    return bad(haveFmt ? "WAV file has no data chunk" : "WAV file has no format chunk");
}

Result<std::vector<int16_t>> loadWav(const std::string& path, uint32_t rate) {
    auto text = readBoundedFile(path, kMaxWavBytes, FileAccess::Shared);
    if (!text.ok()) {
        return Status(text.status().code(), path + ": " + text.status().detail());
    }
    auto samples = parseWav(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text->data()), text->size()),
        rate);
    if (!samples.ok()) {
        return Status(Errc::InvalidArgument, path + ": " + samples.status().detail());
    }
    return samples;
}

} // namespace voice
