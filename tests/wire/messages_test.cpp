// SPDX-License-Identifier: MIT
// Control messages: layouts, round trips and refusal of malformed payloads.
#include "sample_messages.h"
#include "wire/messages.h"

#include <gtest/gtest.h>
#include <map>
#include <set>

using namespace voice;
using namespace voice::msg;

namespace {

std::vector<uint8_t> payloadOf(const Message& m) {
    std::vector<uint8_t> out;
    EXPECT_TRUE(std::visit([&](const auto& x) { return x.encode(out); }, m).ok());
    return out;
}

std::vector<uint8_t> bytes(std::initializer_list<int> values) {
    std::vector<uint8_t> out;
    for (int v : values) {
        out.push_back(static_cast<uint8_t>(v));
    }
    return out;
}

void append(std::vector<uint8_t>& out, std::string_view s) {
    out.insert(out.end(), s.begin(), s.end());
}

template <size_t N>
void append(std::vector<uint8_t>& out, const std::array<uint8_t, N>& a) {
    out.insert(out.end(), a.begin(), a.end());
}

Status decodeStatus(FrameType type, const std::vector<uint8_t>& payload) {
    return decodeMessage(type, payload).status();
}

} // namespace

TEST(ControlMessages, HaveASampleForEveryFrameType) {
    std::set<FrameType> seen;
    for (const auto& m : test::sampleMessages()) {
        seen.insert(messageType(m));
    }
    EXPECT_EQ(seen.size(), kFrameTypes.size());
}

TEST(ControlMessages, RoundTripThroughFramesAndDecodeToEqualMessages) {
    for (const auto& m : test::sampleMessages()) {
        const FrameType type = messageType(m);
        std::vector<uint8_t> stream;
        ASSERT_TRUE(appendMessage(stream, m).ok()) << frameTypeName(type);
        EXPECT_EQ(stream[0], static_cast<uint8_t>(type));
        EXPECT_LE(stream.size() - kFrameHeaderSize, maxPayload(type));

        FrameDecoder decoder;
        std::span<const uint8_t> in(stream);
        auto frame = decoder.next(in);
        ASSERT_TRUE(frame.ok() && frame->has_value()) << frameTypeName(type);
        auto decoded = decodeMessage(**frame);
        ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
        EXPECT_EQ(*decoded, m) << frameTypeName(type);

        std::vector<uint8_t> again;
        ASSERT_TRUE(appendMessage(again, *decoded).ok());
        EXPECT_EQ(again, stream) << frameTypeName(type);
    }
}

TEST(ControlMessages, ReachTheirMaximumPayloadExactly) {
    // The largest samples hit the frame table's limits: the limits are tight.
    std::map<FrameType, size_t> largest;
    for (const auto& m : test::sampleMessages()) {
        auto& l = largest[messageType(m)];
        l = std::max(l, payloadOf(m).size());
    }
    for (auto type : {FrameType::Hello, FrameType::Register, FrameType::Refused, FrameType::Resume,
                      FrameType::ResumeToken, FrameType::E2eHandshake, FrameType::MediaTunnel}) {
        EXPECT_EQ(largest[type], maxPayload(type)) << frameTypeName(type);
    }
}

TEST(ControlMessages, EncodeTheDocumentedLayouts) {
    std::vector<uint8_t> call;
    ASSERT_TRUE(appendMessage(call, Call{"bob"}).ok());
    EXPECT_EQ(call, bytes({0x10, 0, 0, 4, 3, 'b', 'o', 'b'}));

    const Register reg{"al", test::patternBytes<32>(0), test::patternBytes<64>(100)};
    auto expected = bytes({2, 'a', 'l'});
    append(expected, reg.identityKey);
    append(expected, reg.signature);
    EXPECT_EQ(payloadOf(reg), expected);

    EXPECT_EQ(payloadOf(Hello{0x0102, "v1"}), bytes({1, 2, 2, 'v', '1'}));
    EXPECT_EQ(payloadOf(Registered{"a", 0x9C40, 15}), bytes({1, 'a', 0x9C, 0x40, 0, 15}));
    EXPECT_EQ(payloadOf(Refused{RefuseReason::NameTaken, "x"}), bytes({2, 1, 'x'}));
    EXPECT_EQ(payloadOf(Keepalive{0x0102030405060708}), bytes({1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(payloadOf(Error{ErrorCode::Internal, ""}), bytes({7, 0}));

    const CallId id = test::patternBytes<16>(0xC0);
    auto started = std::vector<uint8_t>(id.begin(), id.end());
    append(started, std::string_view("\x00\x00\x00\x00\x00\x00\x01\x02\x02", 9));
    EXPECT_EQ(payloadOf(CallStarted{id, 0x0102, CallRole::Callee}), started);

    auto hangup = std::vector<uint8_t>(id.begin(), id.end());
    hangup.push_back(6);
    EXPECT_EQ(payloadOf(Hangup{id, HangupReason::PeerLost}), hangup);

    auto hs = std::vector<uint8_t>(id.begin(), id.end());
    append(hs, std::string_view("\x00\x03xyz", 5));
    EXPECT_EQ(payloadOf(E2eHandshake{id, {'x', 'y', 'z'}}), hs);

    const auto packet = test::mediaPacket(100, 3);
    EXPECT_EQ(payloadOf(MediaTunnel{packet}), packet);
}

TEST(ControlMessages, RefuseEveryTruncatedPayload) {
    for (const auto& m : test::sampleMessages()) {
        const FrameType type = messageType(m);
        const auto payload = payloadOf(m);
        for (size_t n = 0; n < payload.size(); ++n) {
            if (type == FrameType::MediaTunnel && n >= MediaHeader::kSize) {
                break; // any packet from header size up is a valid packet
            }
            std::vector<uint8_t> cut(payload.begin(), payload.begin() + n);
            Status s = decodeStatus(type, cut);
            EXPECT_EQ(s.code(), Errc::Protocol) << frameTypeName(type) << " cut to " << n;
        }
    }
}

TEST(ControlMessages, RefuseTrailingBytes) {
    for (const auto& m : test::sampleMessages()) {
        const FrameType type = messageType(m);
        auto payload = payloadOf(m);
        if (type == FrameType::MediaTunnel && payload.size() < MediaHeader::kMaxDatagram) {
            continue; // a longer packet is still a packet
        }
        payload.push_back(0);
        Status s = decodeStatus(type, payload);
        EXPECT_EQ(s.code(), Errc::Protocol) << frameTypeName(type);
    }
    auto s = decodeStatus(FrameType::Call, bytes({3, 'b', 'o', 'b', 'x'}));
    EXPECT_NE(s.detail().find("trailing"), std::string::npos) << s.detail();
}

TEST(ControlMessages, RefuseUnknownEnumValues) {
    const CallId id{};
    auto withByte = [&](uint8_t b) {
        auto p = std::vector<uint8_t>(id.begin(), id.end());
        p.push_back(b);
        return p;
    };
    for (uint8_t bad : {0, 9, 0xFF}) {
        EXPECT_FALSE(decodeMessage(FrameType::Hangup, withByte(bad)).ok()) << int(bad);
        EXPECT_FALSE(decodeMessage(FrameType::Refused, bytes({bad, 0})).ok()) << int(bad);
    }
    for (uint8_t bad : {0, 9, 0xFF}) {
        EXPECT_FALSE(decodeMessage(FrameType::Error, bytes({bad, 0})).ok()) << int(bad);
    }
    EXPECT_TRUE(decodeMessage(FrameType::Error, bytes({8, 0})).ok()); // replaced
    for (uint8_t good = 1; good <= 8; ++good) {
        EXPECT_TRUE(decodeMessage(FrameType::Hangup, withByte(good)).ok()) << int(good);
    }
    auto started = std::vector<uint8_t>(id.begin(), id.end());
    started.resize(started.size() + 8);
    for (uint8_t role : {0, 3, 0x80}) {
        auto p = started;
        p.push_back(role);
        EXPECT_FALSE(decodeMessage(FrameType::CallStarted, p).ok()) << int(role);
    }
}

TEST(ControlMessages, RefuseOverlongAndInvalidStrings) {
    // Hello software one byte over its limit.
    auto hello = bytes({0, 1, kMaxSoftwareLength + 1});
    append(hello, std::string(kMaxSoftwareLength + 1, 'v'));
    EXPECT_EQ(decodeStatus(FrameType::Hello, hello).code(), Errc::Protocol);
    // Name of 33 bytes.
    auto call = bytes({kMaxNameLength + 1});
    append(call, std::string(kMaxNameLength + 1, 'a'));
    EXPECT_FALSE(decodeMessage(FrameType::Call, call).ok());
    // Names breaking the alphabet, and an empty name.
    EXPECT_FALSE(decodeMessage(FrameType::Call, bytes({3, 'B', 'o', 'b'})).ok());
    EXPECT_FALSE(decodeMessage(FrameType::Busy, bytes({3, 'b', '/', 'b'})).ok());
    EXPECT_FALSE(decodeMessage(FrameType::Offline, bytes({0})).ok());
    // Refused text with an escape sequence, with bad UTF-8, and too long.
    EXPECT_FALSE(decodeMessage(FrameType::Refused, bytes({1, 2, 0x1b, '['})).ok());
    EXPECT_FALSE(decodeMessage(FrameType::Refused, bytes({1, 2, 0xc0, 0xaf})).ok());
    auto refused = bytes({1, kMaxReasonTextLength + 1});
    append(refused, std::string(kMaxReasonTextLength + 1, 't'));
    EXPECT_FALSE(decodeMessage(FrameType::Refused, refused).ok());
    // A string whose length byte claims more than is there.
    EXPECT_FALSE(decodeMessage(FrameType::Call, bytes({5, 'b', 'o', 'b'})).ok());
}

TEST(ControlMessages, ResumeTokenCarriesTheRouteKeyAndNeedsAllOfIt) {
    ResumeToken t{{}, std::vector<uint8_t>(kMinResumeTokenLength, 0x11), {}};
    for (size_t i = 0; i < t.routeKey.size(); ++i) {
        t.routeKey[i] = uint8_t(i + 1);
    }
    std::vector<uint8_t> payload;
    ASSERT_TRUE(t.encode(payload).ok());
    ASSERT_EQ(payload.size(), 16 + 1 + kMinResumeTokenLength + 32);
    auto back = ResumeToken::decode(payload);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->routeKey, t.routeKey);
    // The version-1 layout (no key) and a cut key are refused.
    for (size_t cut : {size_t{32}, size_t{1}}) {
        auto shorter = payload;
        shorter.resize(payload.size() - cut);
        EXPECT_FALSE(decodeMessage(FrameType::ResumeToken, shorter).ok()) << cut;
    }
}

TEST(ControlMessages, RefuseOutOfRangeOpaqueFields) {
    const CallId id{};
    auto base = std::vector<uint8_t>(id.begin(), id.end());
    // Resume token shorter than 16 and longer than 64 bytes.
    for (size_t n : {size_t{0}, size_t{15}, size_t{65}}) {
        auto p = base;
        p.push_back(static_cast<uint8_t>(n));
        p.resize(p.size() + n, 1);
        EXPECT_FALSE(decodeMessage(FrameType::Resume, p).ok()) << n;
        EXPECT_FALSE(decodeMessage(FrameType::ResumeToken, p).ok()) << n;
    }
    // Empty handshake bytes, and more than the limit.
    auto empty = base;
    empty.insert(empty.end(), {0, 0});
    EXPECT_FALSE(decodeMessage(FrameType::E2eHandshake, empty).ok());
    auto big = base;
    big.insert(big.end(), {0x08, 0x01});
    big.resize(big.size() + kMaxHandshakeBytes + 1);
    EXPECT_FALSE(decodeMessage(FrameType::E2eHandshake, big).ok());
    // Tunnelled packets: too short, too long, or with a bad media header.
    EXPECT_FALSE(decodeMessage(FrameType::MediaTunnel, bytes({1, 1, 0})).ok());
    EXPECT_FALSE(
        decodeMessage(FrameType::MediaTunnel, test::mediaPacket(MediaHeader::kMaxDatagram + 1, 1))
            .ok());
    auto badVersion = test::mediaPacket(60, 1);
    badVersion[0] = 9;
    EXPECT_FALSE(decodeMessage(FrameType::MediaTunnel, badVersion).ok());
    // A type the variant does not know.
    EXPECT_FALSE(decodeMessage(static_cast<FrameType>(0x42), {}).ok());
}

TEST(ControlMessages, RefuseToEncodeInvalidFieldsAndLeaveTheBufferAlone) {
    std::vector<uint8_t> out{7};
    EXPECT_EQ(appendMessage(out, Call{"Bob"}).code(), Errc::InvalidArgument);
    EXPECT_FALSE(appendMessage(out, Register{"", {}, {}}).ok());
    EXPECT_FALSE(appendMessage(out, Hello{1, std::string(kMaxSoftwareLength + 1, 'x')}).ok());
    EXPECT_FALSE(appendMessage(out, Refused{static_cast<RefuseReason>(0), ""}).ok());
    EXPECT_FALSE(appendMessage(out, Hangup{{}, static_cast<HangupReason>(42)}).ok());
    EXPECT_FALSE(appendMessage(out, Registered{"a", 1, 0}).ok());
    EXPECT_FALSE(appendMessage(out, Resume{{}, {1, 2, 3}}).ok());
    EXPECT_FALSE(appendMessage(out, ResumeToken{{}, {1, 2, 3}}).ok());
    EXPECT_FALSE(appendMessage(out, E2eHandshake{{}, {}}).ok());
    EXPECT_FALSE(appendMessage(out, MediaTunnel{{1, 2, 3}}).ok());
    EXPECT_FALSE(appendMessage(out, Message(Error{ErrorCode::Protocol, "a\nb"})).ok());
    EXPECT_EQ(out, std::vector<uint8_t>{7});
}

TEST(ControlMessages, DispatchOnTheDecodedType) {
    std::vector<uint8_t> stream;
    ASSERT_TRUE(appendMessage(stream, Busy{"bob"}).ok());
    ASSERT_TRUE(appendMessage(stream, Message(Keepalive{5})).ok());
    FrameDecoder decoder;
    std::span<const uint8_t> in(stream);
    std::vector<std::string> seen;
    for (;;) {
        auto step = decoder.next(in);
        ASSERT_TRUE(step.ok());
        if (!*step) {
            break;
        }
        auto m = decodeMessage(**step);
        ASSERT_TRUE(m.ok());
        std::visit(Overloaded{
                       [&](const Busy& b) { seen.push_back("busy " + b.callee); },
                       [&](const Keepalive& k) { seen.push_back(std::to_string(k.token)); },
                       [&](const auto&) { seen.push_back("other"); },
                   },
                   *m);
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"busy bob", "5"}));
}

TEST(RegisterSignedBytes, AreContextNonceThenName) {
    const RegisterNonce nonce = test::patternBytes<32>(1);
    auto expected = std::vector<uint8_t>();
    append(expected, std::string_view("voiced-register-v1"));
    append(expected, nonce);
    append(expected, std::string_view("alice"));
    EXPECT_EQ(registerSignedBytes(nonce, "alice"), expected);
}

TEST(EnumNames, AreStableAndCoverEveryValue) {
    EXPECT_EQ(hangupReasonName(HangupReason::PeerLost), "peer-lost");
    EXPECT_EQ(hangupReasonName(static_cast<HangupReason>(0)), "unknown");
    EXPECT_EQ(refuseReasonName(RefuseReason::NameTaken), "name-taken");
    EXPECT_EQ(errorCodeName(ErrorCode::NotRegistered), "not-registered");
    for (int v = 1; v <= 8; ++v) {
        EXPECT_NE(hangupReasonName(static_cast<HangupReason>(v)), "unknown");
        EXPECT_NE(refuseReasonName(static_cast<RefuseReason>(v)), "unknown");
    }
    for (int v = 1; v <= 8; ++v) {
        EXPECT_NE(errorCodeName(static_cast<ErrorCode>(v)), "unknown");
    }
    EXPECT_EQ(errorCodeName(ErrorCode::Replaced), "replaced");
    EXPECT_EQ(errorCodeName(static_cast<ErrorCode>(9)), "unknown");
}
