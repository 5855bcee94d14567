// SPDX-License-Identifier: MIT
// Handshake: agreement, suite negotiation, SAS, and failure under tampering
// by the relay in the middle (substituted keys, signatures, suites, call ids).
#include "crypto/handshake.h"

#include <functional>
#include <gtest/gtest.h>
#include <vector>

using namespace voice;

namespace {

using Bytes = std::vector<uint8_t>;
using Tamper = std::function<void(Bytes&)>;

const Bytes kCallId = {'c', 'a', 'l', 'l', '-', '4', '2'};

struct Outcome {
    Status status;
    Handshake caller;
    Handshake callee;
};

class AHandshake : public ::testing::Test {
protected:
    void SetUp() override {
        auto a = Identity::generate();
        auto b = Identity::generate();
        ASSERT_TRUE(a.ok() && b.ok());
        alice.emplace(std::move(*a));
        bob.emplace(std::move(*b));
    }

    // Runs the three messages through a "relay" that may tamper with each.
    static Status run(Handshake& caller, Handshake& callee, const Tamper& onCallerHello = {},
                      const Tamper& onCalleeHello = {}, const Tamper& onConfirm = {}) {
        auto hello = caller.start();
        if (!hello.ok()) {
            return hello.status();
        }
        if (onCallerHello) {
            onCallerHello(*hello);
        }
        auto reply = callee.onPeerHello(*hello);
        if (!reply.ok()) {
            return reply.status();
        }
        if (onCalleeHello) {
            onCalleeHello(*reply);
        }
        auto confirm = caller.onPeerHello(*reply);
        if (!confirm.ok()) {
            return confirm.status();
        }
        if (onConfirm) {
            onConfirm(*confirm);
        }
        return callee.onConfirm(*confirm);
    }

    Handshake make(HandshakeRole role, const Identity& id,
                   std::vector<CipherSuite> suites = {kDefaultCipherSuite},
                   const Bytes& callId = kCallId, MediaFormat media = {}) {
        auto h = Handshake::create(role, id, callId, std::move(suites), media);
        EXPECT_TRUE(h.ok());
        return std::move(*h);
    }

    static void expectMediaFlows(HandshakeResult& from, HandshakeResult& to) {
        MediaHeader h;
        const Bytes plain(160, 0x11);
        Bytes packet(MediaHeader::kMaxDatagram);
        auto n = from.sealer->seal(h, plain, packet);
        ASSERT_TRUE(n.ok());
        packet.resize(*n);
        Bytes out(MediaHeader::kMaxDatagram);
        auto r = to.opener->open(packet, out);
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->plaintextSize, plain.size());
        EXPECT_TRUE(std::equal(plain.begin(), plain.end(), out.begin()));
    }

    std::optional<Identity> alice; // caller
    std::optional<Identity> bob;   // callee
};

} // namespace

TEST_F(AHandshake, GivesBothSidesMatchingKeysSasAndEachOthersIdentity) {
    auto caller = make(HandshakeRole::Caller, *alice);
    auto callee = make(HandshakeRole::Callee, *bob);
    ASSERT_TRUE(run(caller, callee).ok());
    ASSERT_TRUE(caller.done() && callee.done());
    auto a = caller.takeResult();
    auto b = callee.takeResult();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->suite, CipherSuite::Aes256Gcm);
    EXPECT_EQ(b->suite, CipherSuite::Aes256Gcm);
    EXPECT_EQ(a->peerIdentity, bob->publicKey());
    EXPECT_EQ(b->peerIdentity, alice->publicKey());
    EXPECT_EQ(a->peerFingerprint, bob->fingerprint());
    ASSERT_EQ(a->sas.size(), 6u);
    EXPECT_EQ(a->sas, b->sas);
    expectMediaFlows(*a, *b);
    expectMediaFlows(*b, *a);
    // Handed over once only.
    EXPECT_FALSE(caller.takeResult().ok());
}

TEST_F(AHandshake, ShowsTheSasToBothSidesAsSoonAsBothHellosAreKnown) {
    // The daemon shows the SAS while the call rings, before the Confirm.
    auto caller = make(HandshakeRole::Caller, *alice);
    auto callee = make(HandshakeRole::Callee, *bob);
    auto hello = caller.start();
    ASSERT_TRUE(hello.ok());
    EXPECT_EQ(caller.sas(), "");
    auto reply = callee.onPeerHello(*hello);
    ASSERT_TRUE(reply.ok());
    ASSERT_EQ(callee.sas().size(), 6u);
    EXPECT_FALSE(callee.done());
    auto confirm = caller.onPeerHello(*reply);
    ASSERT_TRUE(confirm.ok());
    EXPECT_EQ(caller.sas(), callee.sas());
    const std::string shown = callee.sas();
    ASSERT_TRUE(callee.onConfirm(*confirm).ok());
    auto b = callee.takeResult();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->sas, shown);
}

TEST_F(AHandshake, UsesTheCalleesPreferredSuiteAmongThoseOffered) {
    auto caller = make(HandshakeRole::Caller, *alice,
                       {CipherSuite::Aes256Gcm, CipherSuite::Aes256CbcHmacSha256});
    auto callee = make(HandshakeRole::Callee, *bob,
                       {CipherSuite::Aes256CbcHmacSha256, CipherSuite::Aes256Gcm});
    ASSERT_TRUE(run(caller, callee).ok());
    auto a = caller.takeResult();
    auto b = callee.takeResult();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->suite, CipherSuite::Aes256CbcHmacSha256);
    EXPECT_EQ(b->suite, CipherSuite::Aes256CbcHmacSha256);
    expectMediaFlows(*a, *b);
    expectMediaFlows(*b, *a);
}

constexpr MediaFormat kOpus20{MediaFormat::kOpus, 48000, 20000};
constexpr MediaFormat kOpus10{MediaFormat::kOpus, 48000, 10000};
constexpr MediaFormat kPcm44{MediaFormat::kPcm, 44100, 10000};
constexpr MediaFormat kPcm48{MediaFormat::kPcm, 48000, 5000};

TEST_F(AHandshake, AgreesOnOneAudioFormatForBothDirections) {
    struct Case {
        MediaFormat caller, callee, expected;
    };
    const Case cases[] = {
        {kPcm44, kPcm44, kPcm44}, // CD-rate PCM end to end between two such daemons
        {kPcm48, kPcm48, kPcm48}, // the same format: kept as it is
        {kOpus10, kOpus10, kOpus10},
        {kPcm44, kOpus20, kOpus20}, // differ: Opus 48 kHz, the Opus side's frame
        {kOpus20, kPcm44, kOpus20},
        {kOpus10, kOpus20, kOpus20}, // both Opus: the longer frame
        {kPcm44, kPcm48, kOpus10},   // both PCM at different rates: Opus, short frames
        {kPcm48, kOpus10, kOpus10},
    };
    for (const Case& c : cases) {
        auto caller = make(HandshakeRole::Caller, *alice, {kDefaultCipherSuite}, kCallId, c.caller);
        auto callee = make(HandshakeRole::Callee, *bob, {kDefaultCipherSuite}, kCallId, c.callee);
        ASSERT_TRUE(run(caller, callee).ok());
        auto a = caller.takeResult();
        auto b = callee.takeResult();
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_EQ(a->media, c.expected)
            << int(c.caller.codec) << "/" << c.caller.sampleRate << " vs " << int(c.callee.codec)
            << "/" << c.callee.sampleRate;
        EXPECT_EQ(b->media, c.expected);
    }
}

TEST_F(AHandshake, FailsWhenTheRelayRewritesTheMediaOffer) {
    auto caller = make(HandshakeRole::Caller, *alice, {kDefaultCipherSuite}, kCallId, kPcm44);
    auto callee = make(HandshakeRole::Callee, *bob, {kDefaultCipherSuite}, kCallId, kOpus20);
    // Offer what the callee runs, so it "keeps" its own format.
    Status s = run(caller, callee, [](Bytes& m) {
        m[98] = MediaFormat::kOpus;
        m[99] = 0, m[100] = 0, m[101] = 0xbb, m[102] = 0x80;  // 48000
        m[103] = 0, m[104] = 0, m[105] = 0x4e, m[106] = 0x20; // 20000
    });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Auth);
    EXPECT_TRUE(caller.failed());
}

TEST_F(AHandshake, CallerRefusesAnAudioFormatItCannotRun) {
    auto caller = make(HandshakeRole::Caller, *alice, {kDefaultCipherSuite}, kCallId, kOpus20);
    auto callee = make(HandshakeRole::Callee, *bob, {kDefaultCipherSuite}, kCallId, kPcm44);
    // 44.1 kHz PCM: neither the caller's own format nor the common one.
    Status s = run(caller, callee, {}, [](Bytes& m) {
        m[100] = MediaFormat::kPcm;
        m[101] = 0, m[102] = 0, m[103] = 0xac, m[104] = 0x44; // 44100
        m[105] = 0, m[106] = 0, m[107] = 0x27, m[108] = 0x10; // 10000
    });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Protocol);
    EXPECT_TRUE(caller.failed());
}

TEST_F(AHandshake, FailsWithoutACommonSuite) {
    auto caller = make(HandshakeRole::Caller, *alice, {CipherSuite::Aes256CbcHmacSha256});
    auto callee = make(HandshakeRole::Callee, *bob, {CipherSuite::Aes256Gcm});
    Status s = run(caller, callee);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Unsupported);
    EXPECT_TRUE(callee.failed());
}

TEST_F(AHandshake, FailsWhenTheRelaySubstitutesTheCallersEphemeralKey) {
    auto mitm = X25519KeyPair::generate();
    ASSERT_TRUE(mitm.ok());
    auto caller = make(HandshakeRole::Caller, *alice);
    auto callee = make(HandshakeRole::Callee, *bob);
    Status s = run(caller, callee, [&](Bytes& m) {
        std::copy(mitm->publicKey().begin(), mitm->publicKey().end(), m.begin() + 34);
    });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Auth);
    EXPECT_TRUE(caller.failed());
    EXPECT_FALSE(callee.done());
}

TEST_F(AHandshake, FailsWhenTheRelaySubstitutesTheCalleesEphemeralKey) {
    auto mitm = X25519KeyPair::generate();
    ASSERT_TRUE(mitm.ok());
    auto caller = make(HandshakeRole::Caller, *alice);
    auto callee = make(HandshakeRole::Callee, *bob);
    Status s = run(caller, callee, {}, [&](Bytes& m) {
        std::copy(mitm->publicKey().begin(), mitm->publicKey().end(), m.begin() + 34);
    });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Auth);
    EXPECT_TRUE(caller.failed());
}

TEST_F(AHandshake, FailsWhenTheRelayDowngradesTheOfferedSuites) {
    auto caller = make(HandshakeRole::Caller, *alice,
                       {CipherSuite::Aes256Gcm, CipherSuite::Aes256CbcHmacSha256});
    auto callee = make(HandshakeRole::Callee, *bob,
                       {CipherSuite::Aes256Gcm, CipherSuite::Aes256CbcHmacSha256});
    // Rewrite the offer {gcm, cbc} to {cbc, cbc}: the callee then picks CBC,
    // and the caller sees a transcript that is not the one it sent.
    Status s = run(caller, callee, [](Bytes& m) {
        m[CallerHello::kFixedSize + 1] = 2;
        m[CallerHello::kFixedSize + 3] = 2;
    });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Auth);
}

TEST_F(AHandshake, FailsWhenASignatureIsTampered) {
    for (size_t bit : {0u, 7u, 200u, 511u}) {
        auto caller = make(HandshakeRole::Caller, *alice);
        auto callee = make(HandshakeRole::Callee, *bob);
        Status s = run(caller, callee, {}, [&](Bytes& m) {
            m[CalleeHello::kBodySize + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        });
        EXPECT_EQ(s.code(), Errc::Auth) << "callee signature bit " << bit;

        auto caller2 = make(HandshakeRole::Caller, *alice);
        auto callee2 = make(HandshakeRole::Callee, *bob);
        s = run(caller2, callee2, {}, {},
                [&](Bytes& m) { m[2 + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8)); });
        EXPECT_EQ(s.code(), Errc::Auth) << "caller signature bit " << bit;
        EXPECT_TRUE(callee2.failed());
        EXPECT_FALSE(callee2.takeResult().ok());
    }
}

TEST_F(AHandshake, FailsWhenTheSidesDisagreeOnTheCallId) {
    auto caller = make(HandshakeRole::Caller, *alice, {kDefaultCipherSuite}, {'x'});
    auto callee = make(HandshakeRole::Callee, *bob, {kDefaultCipherSuite}, {'y'});
    EXPECT_EQ(run(caller, callee).code(), Errc::Auth);
}

TEST_F(AHandshake, FailsWhenTheRelaySwapsInAnotherIdentityKey) {
    auto eve = Identity::generate();
    ASSERT_TRUE(eve.ok());
    auto caller = make(HandshakeRole::Caller, *alice);
    auto callee = make(HandshakeRole::Callee, *bob);
    Status s = run(caller, callee, {}, [&](Bytes& m) {
        std::copy(eve->publicKey().begin(), eve->publicKey().end(), m.begin() + 2);
    });
    EXPECT_EQ(s.code(), Errc::Auth);
}

TEST_F(AHandshake, RefusesALowOrderEphemeralKeyFromTheCaller) {
    auto caller = make(HandshakeRole::Caller, *alice);
    auto callee = make(HandshakeRole::Callee, *bob);
    Status s = run(caller, callee,
                   [](Bytes& m) { std::fill(m.begin() + 34, m.begin() + 66, uint8_t{0}); });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Errc::Auth);
    EXPECT_TRUE(callee.failed());
}

TEST_F(AHandshake, ShowsDifferentSasesWhenAManInTheMiddleRunsTwoHandshakes) {
    // The relay answers alice as "bob" and calls bob as "alice", with its own
    // identity: both legs complete, but the peer keys are the relay's (TOFU
    // catches that) and the two SASes differ (the users catch that).
    auto eve = Identity::generate();
    ASSERT_TRUE(eve.ok());
    auto caller = make(HandshakeRole::Caller, *alice);
    auto eveAsCallee = make(HandshakeRole::Callee, *eve);
    auto eveAsCaller = make(HandshakeRole::Caller, *eve);
    auto callee = make(HandshakeRole::Callee, *bob);
    ASSERT_TRUE(run(caller, eveAsCallee).ok());
    ASSERT_TRUE(run(eveAsCaller, callee).ok());
    auto a = caller.takeResult();
    auto e1 = eveAsCallee.takeResult();
    auto e2 = eveAsCaller.takeResult();
    auto b = callee.takeResult();
    ASSERT_TRUE(a.ok() && e1.ok() && e2.ok() && b.ok());
    EXPECT_EQ(a->sas, e1->sas);
    EXPECT_EQ(b->sas, e2->sas);
    EXPECT_NE(a->sas, b->sas); // fails by chance with probability 1e-6
    EXPECT_NE(a->peerIdentity, bob->publicKey());
    EXPECT_NE(b->peerIdentity, alice->publicKey());
}

TEST_F(AHandshake, GivesADifferentSasForEveryCall) {
    std::vector<std::string> sases;
    for (int i = 0; i < 3; ++i) {
        auto caller = make(HandshakeRole::Caller, *alice);
        auto callee = make(HandshakeRole::Callee, *bob);
        ASSERT_TRUE(run(caller, callee).ok());
        sases.push_back(caller.takeResult()->sas);
    }
    EXPECT_FALSE(sases[0] == sases[1] && sases[1] == sases[2]);
}

TEST_F(AHandshake, RefusesMalformedAndOutOfOrderMessages) {
    auto caller = make(HandshakeRole::Caller, *alice);
    auto callee = make(HandshakeRole::Callee, *bob);
    EXPECT_FALSE(caller.onPeerHello(Bytes(164, 0)).ok()); // before start()
    EXPECT_FALSE(callee.start().ok());                    // callees do not start
    EXPECT_FALSE(callee.onConfirm(Bytes(66, 0)).ok());    // before any hello
    auto hello = caller.start();
    ASSERT_TRUE(hello.ok());
    EXPECT_FALSE(caller.start().ok());
    Bytes truncated(hello->begin(), hello->end() - 1);
    auto bad = callee.onPeerHello(truncated);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), Errc::Protocol);
    EXPECT_TRUE(callee.failed());
    EXPECT_FALSE(callee.onPeerHello(*hello).ok()); // failed stays failed
}

TEST_F(AHandshake, RefusesBadArguments) {
    EXPECT_FALSE(Handshake::create(HandshakeRole::Caller, *alice, {}).ok());
    EXPECT_FALSE(Handshake::create(HandshakeRole::Caller, *alice, Bytes(65, 1)).ok());
    EXPECT_FALSE(Handshake::create(HandshakeRole::Caller, *alice, kCallId, {}).ok());
}

TEST(HandshakeMessages, RoundTripAndRefuseMalformedInput) {
    CallerHello ch;
    ch.identityKey.fill(1);
    ch.ephemeralKey.fill(2);
    ch.nonce.fill(3);
    ch.suites = {1, 2, 0x7777};
    ch.media = {MediaFormat::kPcm, 44100, 10000};
    auto bytes = ch.encode();
    ASSERT_TRUE(bytes.ok());
    ASSERT_EQ(bytes->size(), CallerHello::kFixedSize + 6);
    auto back = CallerHello::decode(*bytes);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->suites, ch.suites);
    EXPECT_EQ(back->ephemeralKey, ch.ephemeralKey);
    EXPECT_EQ(back->media, ch.media);
    auto wrongCount = *bytes;
    wrongCount[CallerHello::kFixedSize - 1] = 4;
    EXPECT_FALSE(CallerHello::decode(wrongCount).ok());
    wrongCount[CallerHello::kFixedSize - 1] = 0;
    EXPECT_FALSE(
        CallerHello::decode(Bytes(wrongCount.begin(), wrongCount.begin() + CallerHello::kFixedSize))
            .ok());
    auto wrongVersion = *bytes;
    wrongVersion[0] = 1; // version 1 had no media offer
    EXPECT_FALSE(CallerHello::decode(wrongVersion).ok());
    wrongVersion[0] = 3;
    EXPECT_FALSE(CallerHello::decode(wrongVersion).ok());
    ch.suites.assign(9, 1);
    EXPECT_FALSE(ch.encode().ok());

    CalleeHello cal;
    cal.suite = 2;
    cal.media = {MediaFormat::kOpus, 48000, 10000};
    cal.signature.fill(9);
    const auto calBytes = cal.encode();
    ASSERT_EQ(calBytes.size(), CalleeHello::kSize);
    auto calBack = CalleeHello::decode(calBytes);
    ASSERT_TRUE(calBack.ok());
    EXPECT_EQ(calBack->suite, 2);
    EXPECT_EQ(calBack->media, cal.media);
    EXPECT_EQ(calBack->signature, cal.signature);
    EXPECT_FALSE(CalleeHello::decode(*bytes).ok()); // a caller hello is not a callee hello
    EXPECT_FALSE(CalleeHello::decode(Bytes(calBytes.begin(), calBytes.end() - 1)).ok());

    HandshakeConfirm c;
    c.signature.fill(5);
    auto cBytes = c.encode();
    auto cBack = HandshakeConfirm::decode(cBytes);
    ASSERT_TRUE(cBack.ok());
    EXPECT_EQ(cBack->signature, c.signature);
    cBytes.push_back(0);
    EXPECT_FALSE(HandshakeConfirm::decode(cBytes).ok());
    EXPECT_FALSE(HandshakeConfirm::decode({}).ok());
}
