// SPDX-License-Identifier: MIT
// FrameDecoder and the frame encoder.
#include "wire/frame.h"

#include "wire/endian.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace voice {

namespace {

/// Checks a header against the type table. Reports why it is bad.
Status checkHeader(const uint8_t* header, FrameType& type, size_t& payloadSize) {
    const FrameTypeInfo* info = frameTypeInfo(header[0]);
    if (info == nullptr) {
        return Status(Errc::Protocol, "unknown frame type " + std::to_string(header[0]));
    }
    if (header[1] != 0) {
        return Status(Errc::Protocol,
                      "reserved flag bits set in " + std::string(info->name) + " frame");
    }
    const size_t length = loadBe16(header + 2);
    if (length > info->maxPayload) {
        return Status(Errc::Protocol, std::string(info->name) + " frame payload of " +
                                          std::to_string(length) + " bytes exceeds its limit of " +
                                          std::to_string(info->maxPayload));
    }
    type = info->type;
    payloadSize = length;
    return {};
}

} // namespace

Status FrameDecoder::fail(Status error) {
    error_ = std::move(error);
    buffered_ = 0;
    return error_;
}

void FrameDecoder::reset() {
    buffered_ = 0;
    payloadSize_ = 0;
    error_ = Status();
}

Result<std::optional<Frame>> FrameDecoder::next(std::span<const uint8_t>& input) {
    if (failed()) {
        return error_;
    }

    // Fast path: a whole frame at the front of the input, nothing buffered.
    // Hand out a view of the input itself.
    if (buffered_ == 0 && input.size() >= kFrameHeaderSize) {
        FrameType type;
        size_t length;
        Status s = checkHeader(input.data(), type, length);
        if (!s.ok()) {
            return fail(std::move(s));
        }
        if (input.size() >= kFrameHeaderSize + length) {
            Frame frame{type, input.subspan(kFrameHeaderSize, length)};
            input = input.subspan(kFrameHeaderSize + length);
            return std::optional<Frame>(frame);
        }
        // Incomplete: fall through and buffer it.
    }

    // Slow path: collect the header, then exactly the payload it announced.
    if (buffered_ < kFrameHeaderSize) {
        const size_t n = std::min(kFrameHeaderSize - buffered_, input.size());
        std::copy_n(input.data(), n, buffer_.data() + buffered_);
        buffered_ += n;
        input = input.subspan(n);
        if (buffered_ < kFrameHeaderSize) {
            return std::optional<Frame>();
        }
        // The limit is checked here, before any payload byte is taken.
        Status s = checkHeader(buffer_.data(), type_, payloadSize_);
        if (!s.ok()) {
            return fail(std::move(s));
        }
    }
    const size_t frameSize = kFrameHeaderSize + payloadSize_;
    const size_t n = std::min(frameSize - buffered_, input.size());
    std::copy_n(input.data(), n, buffer_.data() + buffered_);
    buffered_ += n;
    input = input.subspan(n);
    if (buffered_ < frameSize) {
        return std::optional<Frame>();
    }
    // Complete. The payload stays in buffer_ until the next call refills it.
    buffered_ = 0;
    return std::optional<Frame>(
        Frame{type_, std::span<const uint8_t>(buffer_.data() + kFrameHeaderSize, payloadSize_)});
}

size_t beginFrame(std::vector<uint8_t>& out) {
    const size_t start = out.size();
    out.resize(start + kFrameHeaderSize);
    return start;
}

Status finishFrame(std::vector<uint8_t>& out, size_t start, FrameType type) {
    const FrameTypeInfo* info = frameTypeInfo(static_cast<uint8_t>(type));
    if (info == nullptr) {
        out.resize(start);
        return Status(Errc::InvalidArgument, "unknown frame type");
    }
    const size_t length = out.size() - start - kFrameHeaderSize;
    if (length > info->maxPayload) {
        out.resize(start);
        return Status(Errc::InvalidArgument,
                      std::string(info->name) + " payload of " + std::to_string(length) +
                          " bytes exceeds its limit of " + std::to_string(info->maxPayload));
    }
    uint8_t* header = out.data() + start;
    header[0] = static_cast<uint8_t>(type);
    header[1] = 0;
    storeBe16(header + 2, static_cast<uint16_t>(length));
    return {};
}

Status appendFrame(std::vector<uint8_t>& out, FrameType type, std::span<const uint8_t> payload) {
    if (payload.size() > maxPayload(type)) {
        // Refuse before copying: the payload may be arbitrarily large.
        return Status(Errc::InvalidArgument,
                      std::string(frameTypeName(type)) + " payload exceeds its limit");
    }
    const size_t start = beginFrame(out);
    out.insert(out.end(), payload.begin(), payload.end());
    return finishFrame(out, start, type);
}

} // namespace voice
