// SPDX-License-Identifier: MIT
// FrameDecoder and the frame encoder: layout, chunking, limits, failure.
#include "sample_messages.h"
#include "wire/frame.h"
#include "wire/messages.h"

#include <gtest/gtest.h>
#include <random>

using namespace voice;

namespace {

struct Decoded {
    FrameType type;
    std::vector<uint8_t> payload;
    friend bool operator==(const Decoded&, const Decoded&) = default;
};

/// Feeds `stream` in chunks whose sizes come from `chunkSize()`, collecting
/// every frame. Stops at the first error and returns it.
template <typename ChunkSize>
Status decodeAll(const std::vector<uint8_t>& stream, ChunkSize chunkSize,
                 std::vector<Decoded>& frames, FrameDecoder& decoder) {
    size_t pos = 0;
    while (pos < stream.size()) {
        const size_t n = std::min(chunkSize(), stream.size() - pos);
        std::span<const uint8_t> in(stream.data() + pos, n);
        pos += n;
        for (;;) {
            auto step = decoder.next(in);
            if (!step.ok()) {
                return step.status();
            }
            if (!*step) {
                EXPECT_TRUE(in.empty()) << "need-more must consume all input";
                break;
            }
            const Frame& f = **step;
            frames.push_back({f.type, {f.payload.begin(), f.payload.end()}});
        }
    }
    return {};
}

/// A stream of every sample message, several times over, and the frames it
/// should decode to.
std::vector<uint8_t> sampleStream(std::vector<Decoded>& expected) {
    std::vector<uint8_t> stream;
    for (int round = 0; round < 5; ++round) {
        for (const auto& m : test::sampleMessages()) {
            const size_t start = stream.size();
            EXPECT_TRUE(msg::appendMessage(stream, m).ok());
            expected.push_back(
                {msg::messageType(m), {stream.begin() + start + kFrameHeaderSize, stream.end()}});
        }
    }
    return stream;
}

std::array<uint8_t, kFrameHeaderSize> header(uint8_t type, uint8_t flags, uint16_t length) {
    return {type, flags, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

} // namespace

TEST(AFrameTypeTable, IsSortedUniqueAndWithinTheDecoderBuffer) {
    for (size_t i = 1; i < kFrameTypes.size(); ++i) {
        EXPECT_LT(static_cast<int>(kFrameTypes[i - 1].type), static_cast<int>(kFrameTypes[i].type));
    }
    for (const auto& info : kFrameTypes) {
        EXPECT_LE(info.maxPayload, kMaxFramePayload);
        EXPECT_EQ(frameTypeInfo(static_cast<uint8_t>(info.type)), &info);
        EXPECT_FALSE(info.name.empty());
    }
    EXPECT_EQ(frameTypeInfo(0), nullptr);
    EXPECT_EQ(frameTypeInfo(0xFF), nullptr);
    EXPECT_EQ(frameTypeName(FrameType::E2eHandshake), "e2e-handshake");
    EXPECT_EQ(frameTypeName(static_cast<FrameType>(0x7F)), "unknown");
}

TEST(AFrameTypeTable, SaysWhoMaySendEachType) {
    EXPECT_TRUE(mayBeSentBy(FrameType::Register, FrameSender::Client));
    EXPECT_FALSE(mayBeSentBy(FrameType::Register, FrameSender::Relay));
    EXPECT_TRUE(mayBeSentBy(FrameType::IncomingCall, FrameSender::Relay));
    EXPECT_FALSE(mayBeSentBy(FrameType::IncomingCall, FrameSender::Client));
    EXPECT_TRUE(mayBeSentBy(FrameType::Hangup, FrameSender::Client));
    EXPECT_TRUE(mayBeSentBy(FrameType::Hangup, FrameSender::Relay));
    EXPECT_FALSE(mayBeSentBy(static_cast<FrameType>(0), FrameSender::Client));
}

TEST(AFrameEncoder, WritesTypeZeroFlagsAndBigEndianLength) {
    std::vector<uint8_t> out{0xEE}; // existing content is kept
    const std::vector<uint8_t> payload{1, 2, 3, 4, 5, 6, 7, 8};
    ASSERT_TRUE(appendFrame(out, FrameType::Keepalive, payload).ok());
    const std::vector<uint8_t> expected{0xEE, 0x20, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(out, expected);

    std::vector<uint8_t> big;
    ASSERT_TRUE(appendFrame(big, FrameType::E2eHandshake, std::vector<uint8_t>(0x0812, 0)).ok());
    EXPECT_EQ(big[2], 0x08);
    EXPECT_EQ(big[3], 0x12);
}

TEST(AFrameEncoder, RefusesOversizedPayloadsAndUnknownTypesLeavingTheBufferAlone) {
    std::vector<uint8_t> out{9, 9};
    EXPECT_EQ(appendFrame(out, FrameType::Keepalive, std::vector<uint8_t>(9)).code(),
              Errc::InvalidArgument);
    EXPECT_EQ(appendFrame(out, static_cast<FrameType>(0), {}).code(), Errc::InvalidArgument);
    const size_t start = beginFrame(out);
    out.resize(out.size() + maxPayload(FrameType::Call) + 1);
    EXPECT_EQ(finishFrame(out, start, FrameType::Call).code(), Errc::InvalidArgument);
    EXPECT_EQ(out, (std::vector<uint8_t>{9, 9}));
}

TEST(AFrameDecoder, ReturnsAWholeFrameInTheInputWithoutCopying) {
    std::vector<uint8_t> stream;
    ASSERT_TRUE(msg::appendMessage(stream, msg::Call{"bob"}).ok());
    FrameDecoder decoder;
    std::span<const uint8_t> in(stream);
    auto step = decoder.next(in);
    ASSERT_TRUE(step.ok());
    ASSERT_TRUE(step->has_value());
    EXPECT_EQ((*step)->type, FrameType::Call);
    EXPECT_EQ((*step)->payload.data(), stream.data() + kFrameHeaderSize);
    EXPECT_EQ((*step)->payload.size(), 4u);
    EXPECT_TRUE(in.empty());
    EXPECT_TRUE(decoder.idle());
}

TEST(AFrameDecoder, DecodesAnEmptyPayload) {
    // No message type has an empty payload today, but the framing allows it;
    // the limit for Keepalive is 8 so a zero-length one is a valid frame.
    const auto h = header(0x20, 0, 0);
    std::span<const uint8_t> in(h);
    FrameDecoder decoder;
    auto step = decoder.next(in);
    ASSERT_TRUE(step.ok());
    ASSERT_TRUE(step->has_value());
    EXPECT_TRUE((*step)->payload.empty());
}

TEST(AFrameDecoder, DecodesAStreamFedOneByteAtATime) {
    std::vector<Decoded> expected;
    const auto stream = sampleStream(expected);
    std::vector<Decoded> frames;
    FrameDecoder decoder;
    ASSERT_TRUE(decodeAll(
                    stream, [] { return size_t{1}; }, frames, decoder)
                    .ok());
    EXPECT_EQ(frames, expected);
    EXPECT_TRUE(decoder.idle());
}

TEST(AFrameDecoder, DecodesAStreamFedInRandomChunks) {
    std::vector<Decoded> expected;
    const auto stream = sampleStream(expected);
    for (unsigned seed = 1; seed <= 50; ++seed) {
        std::mt19937 rng(seed);
        const size_t maxChunk = 1 + rng() % 5000;
        std::vector<Decoded> frames;
        FrameDecoder decoder;
        ASSERT_TRUE(decodeAll(
                        stream, [&] { return size_t{1} + rng() % maxChunk; }, frames, decoder)
                        .ok());
        EXPECT_EQ(frames, expected) << "seed " << seed;
        EXPECT_TRUE(decoder.idle());
    }
}

TEST(AFrameDecoder, DecodesAStreamGivenAllAtOnce) {
    std::vector<Decoded> expected;
    const auto stream = sampleStream(expected);
    std::vector<Decoded> frames;
    FrameDecoder decoder;
    ASSERT_TRUE(decodeAll(
                    stream, [&] { return stream.size(); }, frames, decoder)
                    .ok());
    EXPECT_EQ(frames, expected);
}

TEST(AFrameDecoder, NeedsMoreUntilTheLastPayloadByteArrives) {
    std::vector<uint8_t> stream;
    ASSERT_TRUE(msg::appendMessage(stream, msg::Keepalive{42}).ok());
    FrameDecoder decoder;
    for (size_t i = 0; i + 1 < stream.size(); ++i) {
        std::span<const uint8_t> in(&stream[i], 1);
        auto step = decoder.next(in);
        ASSERT_TRUE(step.ok());
        EXPECT_FALSE(step->has_value());
        EXPECT_FALSE(decoder.idle());
    }
    std::span<const uint8_t> last(&stream.back(), 1);
    auto step = decoder.next(last);
    ASSERT_TRUE(step.ok());
    ASSERT_TRUE(step->has_value());
    EXPECT_EQ(msg::Keepalive::decode((*step)->payload)->token, 42u);
}

TEST(AFrameDecoder, RejectsAnOversizedLengthFromTheHeaderAlone) {
    for (const auto& info : kFrameTypes) {
        // Exactly the limit: a header alone needs more (or is a frame if 0).
        FrameDecoder fine;
        const auto ok = header(static_cast<uint8_t>(info.type), 0, info.maxPayload);
        std::span<const uint8_t> okIn(ok);
        auto okStep = fine.next(okIn);
        ASSERT_TRUE(okStep.ok()) << info.name;
        EXPECT_FALSE(okStep->has_value());

        // One more: refused after the four header bytes, no payload sent.
        for (uint16_t length : {static_cast<uint16_t>(info.maxPayload + 1), uint16_t{0xFFFF}}) {
            FrameDecoder decoder;
            const auto h = header(static_cast<uint8_t>(info.type), 0, length);
            std::span<const uint8_t> in(h);
            auto step = decoder.next(in);
            ASSERT_FALSE(step.ok()) << info.name;
            EXPECT_EQ(step.status().code(), Errc::Protocol);
            EXPECT_NE(step.status().detail().find("exceeds its limit"), std::string::npos);
            EXPECT_TRUE(decoder.failed());
        }
    }
}

TEST(AFrameDecoder, RejectsAnOversizedLengthFedByteByByteAtTheFourthByte) {
    const auto h = header(0x10, 0, 34); // Call allows 33
    FrameDecoder decoder;
    for (size_t i = 0; i < 3; ++i) {
        std::span<const uint8_t> in(&h[i], 1);
        auto step = decoder.next(in);
        ASSERT_TRUE(step.ok());
        EXPECT_FALSE(step->has_value());
    }
    std::span<const uint8_t> in(&h[3], 1);
    EXPECT_EQ(decoder.next(in).status().code(), Errc::Protocol);
}

TEST(AFrameDecoder, RejectsUnknownTypes) {
    for (uint8_t type : {0x00, 0x06, 0x0F, 0x1D, 0x23, 0x32, 0x7F, 0xFF}) {
        FrameDecoder decoder;
        const auto h = header(type, 0, 0);
        std::span<const uint8_t> in(h);
        auto step = decoder.next(in);
        ASSERT_FALSE(step.ok()) << int(type);
        EXPECT_NE(step.status().detail().find("unknown frame type"), std::string::npos);
    }
}

TEST(AFrameDecoder, RejectsReservedFlagBits) {
    for (int bit = 0; bit < 8; ++bit) {
        FrameDecoder decoder;
        const auto h = header(0x20, static_cast<uint8_t>(1 << bit), 8);
        std::span<const uint8_t> in(h);
        auto step = decoder.next(in);
        ASSERT_FALSE(step.ok());
        EXPECT_NE(step.status().detail().find("reserved"), std::string::npos);
    }
}

TEST(AFrameDecoder, StaysFailedAfterAnErrorUntilReset) {
    FrameDecoder decoder;
    const auto bad = header(0x00, 0, 0);
    std::span<const uint8_t> badIn(bad);
    const Status first = decoder.next(badIn).status();
    ASSERT_FALSE(first.ok());

    std::vector<uint8_t> good;
    ASSERT_TRUE(msg::appendMessage(good, msg::Keepalive{1}).ok());
    for (int i = 0; i < 3; ++i) {
        std::span<const uint8_t> in(good);
        auto step = decoder.next(in);
        ASSERT_FALSE(step.ok());
        EXPECT_EQ(step.status().detail(), first.detail());
    }
    EXPECT_FALSE(decoder.idle());

    decoder.reset();
    std::span<const uint8_t> in(good);
    auto step = decoder.next(in);
    ASSERT_TRUE(step.ok());
    EXPECT_TRUE(step->has_value());
}

TEST(AFrameDecoder, ReportsAnErrorAfterTheFramesBeforeIt) {
    std::vector<uint8_t> stream;
    ASSERT_TRUE(msg::appendMessage(stream, msg::Keepalive{1}).ok());
    ASSERT_TRUE(msg::appendMessage(stream, msg::Keepalive{2}).ok());
    const auto bad = header(0x20, 0x80, 8);
    stream.insert(stream.end(), bad.begin(), bad.end());
    for (size_t chunk : {size_t{1}, size_t{3}, stream.size()}) {
        std::vector<Decoded> frames;
        FrameDecoder decoder;
        Status s = decodeAll(
            stream, [&] { return chunk; }, frames, decoder);
        EXPECT_EQ(s.code(), Errc::Protocol);
        EXPECT_EQ(frames.size(), 2u);
    }
}

TEST(AFrameDecoder, KeepsAPartialFrameAcrossCalls) {
    std::vector<uint8_t> stream;
    ASSERT_TRUE(msg::appendMessage(stream, msg::Call{"bob"}).ok());
    ASSERT_TRUE(msg::appendMessage(stream, msg::Call{"carol"}).ok());
    // First call: one whole frame plus half of the next.
    FrameDecoder decoder;
    std::span<const uint8_t> in(stream.data(), 8 + 4);
    auto first = decoder.next(in);
    ASSERT_TRUE(first.ok() && first->has_value());
    EXPECT_EQ(msg::Call::decode((*first)->payload)->callee, "bob");
    auto partial = decoder.next(in);
    ASSERT_TRUE(partial.ok());
    EXPECT_FALSE(partial->has_value());
    EXPECT_FALSE(decoder.idle());
    std::span<const uint8_t> rest(stream.data() + 12, stream.size() - 12);
    auto second = decoder.next(rest);
    ASSERT_TRUE(second.ok() && second->has_value());
    EXPECT_EQ(msg::Call::decode((*second)->payload)->callee, "carol");
    EXPECT_TRUE(decoder.idle());
}
