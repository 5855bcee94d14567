// SPDX-License-Identifier: MIT
// Fuzz target: FrameDecoder over an arbitrary byte stream.
//
// Input: byte 0 seeds the chunk splitter, the rest is the stream. The stream
// is decoded twice — all at once, and in chunks of 1..64 bytes derived from
// the seed — and both runs must yield the same frames and the same final
// outcome. Every frame must respect its type's limit, and any frame whose
// payload decodes as a message must encode back to the same bytes.
#include "wire/frame.h"
#include "wire/messages.h"

#include <cstdlib>
#include <string>
#include <vector>

using namespace voice;

namespace {

struct Outcome {
    std::vector<std::vector<uint8_t>> frames; ///< header ‖ payload, rebuilt
    std::string error;                        ///< empty if none
    bool idle = true;
};

void check(bool condition) {
    if (!condition) {
        abort();
    }
}

void onFrame(const Frame& frame, Outcome& out) {
    check(frame.payload.size() <= maxPayload(frame.type));
    check(frameTypeInfo(static_cast<uint8_t>(frame.type)) != nullptr);
    std::vector<uint8_t> bytes;
    check(appendFrame(bytes, frame.type, frame.payload).ok());

    auto message = msg::decodeMessage(frame);
    if (message.ok()) {
        check(msg::messageType(*message) == frame.type);
        std::vector<uint8_t> again;
        check(msg::appendMessage(again, *message).ok());
        check(again == bytes);
    }
    out.frames.push_back(std::move(bytes));
}

template <typename NextChunk>
Outcome decode(std::span<const uint8_t> stream, NextChunk nextChunk) {
    Outcome out;
    FrameDecoder decoder;
    while (!stream.empty()) {
        const size_t n = std::min(nextChunk(), stream.size());
        std::span<const uint8_t> in = stream.first(n);
        stream = stream.subspan(n);
        for (;;) {
            auto step = decoder.next(in);
            if (!step.ok()) {
                out.error = step.status().detail();
                // Stays failed, without consuming anything more.
                std::span<const uint8_t> again = stream;
                auto repeat = decoder.next(again);
                check(!repeat.ok() && repeat.status().detail() == out.error);
                check(again.size() == stream.size());
                out.idle = false;
                return out;
            }
            if (!*step) {
                check(in.empty());
                break;
            }
            onFrame(**step, out);
        }
    }
    out.idle = decoder.idle();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    uint32_t state = data[0];
    const std::span<const uint8_t> stream(data + 1, size - 1);

    const Outcome whole = decode(stream, [&] { return stream.size(); });
    const Outcome chunked = decode(stream, [&] {
        state = state * 1103515245u + 12345u;
        return size_t{1} + (state >> 16) % 64;
    });
    check(whole.frames == chunked.frames);
    check(whole.error == chunked.error);
    check(whole.idle == chunked.idle);
    return 0;
}
