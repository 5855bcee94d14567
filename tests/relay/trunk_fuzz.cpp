// SPDX-License-Identifier: MIT
// Fuzz target: trunk datagrams through trunk::open, and the replay window against a plain model.
#include "relay/trunk.h"
#include "relay/trunk_replay.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <vector>

namespace {

using namespace voice;

/// What the window must answer, from every number it ever accepted.
struct Model {
    std::set<uint64_t> accepted;
    uint64_t top = 0;
    bool started = false;

    trunk::Verdict accept(uint64_t s) {
        trunk::Verdict v;
        if (started && s <= top && top - s >= trunk::ReplayWindow::kSize) {
            v = trunk::Verdict::TooOld;
        } else if (accepted.count(s)) {
            v = trunk::Verdict::Duplicate;
        } else {
            v = trunk::Verdict::Fresh;
            accepted.insert(s);
        }
        if (!started || s > top) {
            top = s;
        }
        started = true;
        return v;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const trunk::Key key = [] {
        std::array<uint8_t, 32> clusterKey{};
        clusterKey[3] = 0x5a;
        return trunk::deriveKey(clusterKey);
    }();
    std::span<const uint8_t> input(data, size);
    // Bytes off the wire: opened or refused, never read past.
    if (auto opened = trunk::open(key, input)) {
        if (opened->packet.size() + trunk::kOverhead != size) {
            std::abort();
        }
    }
    // The input as a media packet: sealed, it opens to itself (open() refuses
    // an empty one: no media packet is empty).
    if (size > 0 && size <= 1500) {
        trunk::Sender sender(size * 0x9E3779B97F4A7C15ull, size);
        std::vector<uint8_t> datagram(size + trunk::kOverhead);
        if (trunk::seal(key, sender, input, datagram) != datagram.size()) {
            std::abort();
        }
        auto opened = trunk::open(key, datagram);
        if (!opened || opened->epoch != sender.epoch() || opened->sequence != size ||
            !std::equal(opened->packet.begin(), opened->packet.end(), input.begin(), input.end())) {
            std::abort();
        }
    }
    // The input as sequence numbers, 3 bytes each: a signed step from the
    // current top (reordering, replays, jumps), with the high bit scaling
    // it past the window. The window must answer as the model does.
    trunk::ReplayWindow window;
    Model model;
    uint64_t top = uint64_t(1) << 40;
    for (size_t i = 0; i + 3 <= size; i += 3) {
        int32_t step = int16_t(uint16_t(data[i] << 8 | data[i + 1]));
        if (data[i + 2] & 0x80) {
            step *= 64;
        }
        const uint64_t s = top + uint64_t(int64_t(step));
        if (window.accept(s) != model.accept(s)) {
            std::abort();
        }
        top = model.top;
    }
    return 0;
}
