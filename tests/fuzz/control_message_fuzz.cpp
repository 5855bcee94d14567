// SPDX-License-Identifier: MIT
// Fuzz target: every control message decoder.
//
// Input: byte 0 is the frame type, the rest is the payload. Whatever decodes
// must respect its type's size limit and encode back to exactly the same
// payload (every valid message has one encoding).
#include "wire/messages.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

using namespace voice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    const auto type = static_cast<FrameType>(data[0]);
    const std::span<const uint8_t> payload(data + 1, size - 1);
    auto message = msg::decodeMessage(type, payload);
    if (!message.ok()) {
        if (message.status().code() != Errc::Protocol) {
            abort();
        }
        return 0;
    }
    if (frameTypeInfo(data[0]) == nullptr || msg::messageType(*message) != type ||
        payload.size() > maxPayload(type)) {
        abort();
    }
    std::vector<uint8_t> again;
    if (!msg::appendMessage(again, *message).ok() ||
        again.size() != kFrameHeaderSize + payload.size() || again[0] != data[0] ||
        !std::equal(payload.begin(), payload.end(), again.begin() + kFrameHeaderSize)) {
        abort();
    }
    return 0;
}
