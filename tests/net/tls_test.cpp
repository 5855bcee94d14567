// SPDX-License-Identifier: MIT
// TLS over the event loop on loopback: handshake and data, pinning, TLS 1.2 refusal, key files.
#include "net/event_loop.h"
#include "net/known_relays.h"
#include "net/socket.h"
#include "net/tls.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace voice;
using namespace std::chrono_literals;

namespace {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/voice-tls-test.XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }
    std::string file(const char* name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// One side of a connection, driven by the event loop: finishes the
// handshake, then reads everything and flushes queued output.
struct Peer {
    std::unique_ptr<TlsConnection> conn;
    std::string received;
    bool handshakeOk = false;
    bool closed = false;
    Status error;

    void attach(EventLoop& loop) {
        ASSERT_TRUE(
            loop.addFd(conn->fd(), conn->wantedEvents(), [this, &loop](uint32_t) { pump(loop); })
                .ok());
        pump(loop);
    }
    void pump(EventLoop& loop) {
        if (!handshakeOk) {
            TlsIo io = conn->handshake();
            if (io.ok()) {
                handshakeOk = true;
            } else if (!io.wouldBlock()) {
                error = io.error;
                loop.removeFd(conn->fd());
                return;
            }
        }
        if (handshakeOk) {
            for (;;) {
                std::byte buf[4096];
                TlsIo io = conn->read(buf);
                if (io.ok()) {
                    received.append(reinterpret_cast<const char*>(buf), io.bytes);
                    continue;
                }
                if (io.state == TlsIo::State::Closed) {
                    closed = true;
                    loop.removeFd(conn->fd());
                    return;
                }
                if (io.state == TlsIo::State::Error) {
                    error = io.error;
                    loop.removeFd(conn->fd());
                    return;
                }
                break;
            }
            TlsIo io = conn->flush();
            if (io.state == TlsIo::State::Error) {
                error = io.error;
                loop.removeFd(conn->fd());
                return;
            }
        }
        ASSERT_TRUE(loop.modifyFd(conn->fd(), conn->wantedEvents()).ok());
    }
    bool finished() const { return handshakeOk || !error.ok(); }
};

bool runUntil(EventLoop& loop, const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        if (!loop.runOnce(50ms).ok()) {
            return false;
        }
    }
    return true;
}

// Writes a test file with mode 0600 (as the code under test would).
bool writeTestFile(const std::string& path, const std::string& text) {
    ::unlink(path.c_str());
    {
        std::ofstream out(path, std::ios::binary);
        out << text;
        if (!out) {
            return false;
        }
    }
    return ::chmod(path.c_str(), 0600) == 0;
}

std::span<const std::byte> bytes(std::string_view s) {
    return std::as_bytes(std::span(s));
}

class ATlsConnection : public ::testing::Test {
protected:
    void SetUp() override {
        auto l = EventLoop::create();
        ASSERT_TRUE(l.ok());
        loop = std::move(l).value();
        auto id = TlsIdentity::loadOrCreate(dir.file("relay-a"), "voice-relayd");
        ASSERT_TRUE(id.ok()) << id.status().toString();
        identityA = std::make_unique<TlsIdentity>(std::move(id).value());
        auto cctx = TlsContext::createClient();
        ASSERT_TRUE(cctx.ok());
        clientCtx = *cctx;
    }

    // Starts a listener for identity, connects a client and accepts.
    void connect(const TlsIdentity& identity, std::optional<Fingerprint> pin = std::nullopt) {
        auto serverCtx = TlsContext::createServer(identity);
        ASSERT_TRUE(serverCtx.ok()) << serverCtx.status().toString();
        auto listener = tcpListen(SocketAddress::loopbackV4(0));
        ASSERT_TRUE(listener.ok());
        auto fd = tcpConnect(*localAddress(listener->get()));
        ASSERT_TRUE(fd.ok());
        pollfd p{listener->get(), POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, 10000), 1);
        auto accepted = tcpAccept(listener->get());
        ASSERT_TRUE(accepted.ok() && accepted->isValid());
        pollfd c{fd->get(), POLLOUT, 0};
        ASSERT_EQ(::poll(&c, 1, 10000), 1);
        ASSERT_TRUE(connectResult(fd->get()).ok());

        auto s = TlsConnection::accept(*serverCtx, std::move(accepted).value());
        ASSERT_TRUE(s.ok());
        auto cl = TlsConnection::connect(clientCtx, std::move(fd).value(), "relay.test:7000", pin);
        ASSERT_TRUE(cl.ok());
        // Drop the watches of an earlier connection before its fds close.
        for (Peer* old : {&server, &client}) {
            if (old->conn) {
                loop->removeFd(old->conn->fd());
            }
            *old = Peer{};
        }
        server.conn = std::move(s).value();
        client.conn = std::move(cl).value();
        server.attach(*loop);
        client.attach(*loop);
        ASSERT_TRUE(runUntil(*loop, [&] { return server.finished() && client.finished(); }));
    }

    TempDir dir;
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<TlsIdentity> identityA;
    std::shared_ptr<TlsContext> clientCtx;
    Peer server, client;
};

} // namespace

TEST_F(ATlsConnection, CompletesAHandshakeAndCarriesDataBothWays) {
    connect(*identityA);
    ASSERT_TRUE(client.handshakeOk) << client.error.toString();
    ASSERT_TRUE(server.handshakeOk) << server.error.toString();
    EXPECT_EQ(client.conn->peerFingerprint(), identityA->fingerprint());

    // More than one socket buffer's worth each way, in many sends.
    std::string fromClient, fromServer;
    for (int i = 0; i < 2000; ++i) {
        fromClient += "client line " + std::to_string(i) + "\n";
        fromServer += "server line " + std::to_string(i) + " with a longer tail\n";
    }
    for (size_t off = 0; off < fromClient.size(); off += 1000) {
        ASSERT_TRUE(
            client.conn
                ->send(
                    bytes(fromClient).subspan(off, std::min<size_t>(1000, fromClient.size() - off)))
                .ok());
    }
    ASSERT_TRUE(server.conn->send(bytes(fromServer)).ok());
    ASSERT_TRUE(loop->modifyFd(client.conn->fd(), client.conn->wantedEvents()).ok());
    ASSERT_TRUE(loop->modifyFd(server.conn->fd(), server.conn->wantedEvents()).ok());
    ASSERT_TRUE(runUntil(*loop, [&] {
        return server.received.size() >= fromClient.size() &&
               client.received.size() >= fromServer.size();
    }));
    EXPECT_EQ(server.received, fromClient);
    EXPECT_EQ(client.received, fromServer);
    EXPECT_EQ(client.conn->pendingOutput(), 0u);
}

TEST_F(ATlsConnection, ReportsClosedWhenThePeerShutsDown) {
    connect(*identityA);
    ASSERT_TRUE(client.handshakeOk && server.handshakeOk);
    server.conn->shutdown();
    ASSERT_TRUE(runUntil(*loop, [&] { return client.closed || !client.error.ok(); }));
    EXPECT_TRUE(client.closed) << client.error.toString();
    EXPECT_EQ(server.conn->send(bytes("late")).code(), Errc::Closed);
}

TEST_F(ATlsConnection, ReportsClosedWhenThePeerVanishes) {
    connect(*identityA);
    ASSERT_TRUE(client.handshakeOk && server.handshakeOk);
    loop->removeFd(server.conn->fd());
    server.conn.reset(); // closes the socket without close_notify
    ASSERT_TRUE(runUntil(*loop, [&] { return client.closed || !client.error.ok(); }));
    EXPECT_TRUE(client.closed) << client.error.toString();
}

TEST_F(ATlsConnection, RefusesToQueueBeyondTheOutputLimit) {
    connect(*identityA);
    ASSERT_TRUE(client.handshakeOk);
    client.conn->setOutputLimit(1000);
    const std::string big(1500, 'x');
    // Before the handshake output is only queued; after it goes straight to
    // the socket, so use a connection whose handshake is not finished yet.
    auto fresh = TlsConnection::connect(clientCtx, UniqueFd(::dup(client.conn->fd())), "x");
    ASSERT_TRUE(fresh.ok());
    (*fresh)->setOutputLimit(1000);
    EXPECT_TRUE((*fresh)->send(bytes(big.substr(0, 800))).ok());
    EXPECT_EQ((*fresh)->send(bytes(big.substr(0, 300))).code(), Errc::Busy);
    EXPECT_EQ((*fresh)->pendingOutput(), 800u);
}

TEST_F(ATlsConnection, PinsOnFirstUseThenMatchesThenRejectsAChangedKey) {
    const std::string knownPath = dir.file("known_relays");
    {
        connect(*identityA);
        ASSERT_TRUE(client.handshakeOk);
        auto known = KnownRelays::load(knownPath);
        ASSERT_TRUE(known.ok());
        auto pin = known->check("relay.test:7000", client.conn->peerFingerprint());
        ASSERT_TRUE(pin.ok()) << pin.status().toString();
        EXPECT_EQ(*pin, KnownRelays::Pin::FirstUse);
        struct stat st;
        ASSERT_EQ(::stat(knownPath.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u);
    }
    auto known = KnownRelays::load(knownPath);
    ASSERT_TRUE(known.ok()) << known.status().toString();
    ASSERT_EQ(known->size(), 1u);
    const auto pinned = known->find("RELAY.test:7000");
    ASSERT_TRUE(pinned.has_value());
    EXPECT_EQ(*pinned, identityA->fingerprint());

    // Second connection: the pin is checked inside the handshake.
    connect(*identityA, pinned);
    ASSERT_TRUE(client.handshakeOk) << client.error.toString();
    EXPECT_EQ(*known->check("relay.test:7000", client.conn->peerFingerprint()),
              KnownRelays::Pin::Matched);

    // The relay comes back with a different key: a hard error naming both.
    auto other = TlsIdentity::loadOrCreate(dir.file("relay-b"), "voice-relayd");
    ASSERT_TRUE(other.ok());
    ASSERT_FALSE(other->fingerprint() == identityA->fingerprint());
    connect(*other, pinned);
    EXPECT_FALSE(client.handshakeOk);
    EXPECT_EQ(client.error.code(), Errc::Auth);
    const std::string msg = client.error.detail();
    EXPECT_NE(msg.find(identityA->fingerprint().toString()), std::string::npos) << msg;
    EXPECT_NE(msg.find(other->fingerprint().toString()), std::string::npos) << msg;
    EXPECT_NE(msg.find("relay.test:7000"), std::string::npos) << msg;
    // Nothing the client queued before the failure may ever be sent.
    EXPECT_FALSE(client.conn->send(bytes("secret")).ok());

    auto check = known->check("relay.test:7000", other->fingerprint());
    ASSERT_FALSE(check.ok());
    EXPECT_EQ(check.status().code(), Errc::Auth);
    EXPECT_NE(check.status().detail().find(other->fingerprint().toString()), std::string::npos);
    // The pin file is unchanged.
    EXPECT_EQ(*KnownRelays::load(knownPath)->find("relay.test:7000"), identityA->fingerprint());
}

TEST_F(ATlsConnection, RefusesAClientLimitedToTls12) {
    auto serverCtx = TlsContext::createServer(*identityA);
    ASSERT_TRUE(serverCtx.ok());
    auto listener = tcpListen(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(listener.ok());
    auto fd = tcpConnect(*localAddress(listener->get()));
    ASSERT_TRUE(fd.ok());
    pollfd p{listener->get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1);
    auto accepted = tcpAccept(listener->get());
    ASSERT_TRUE(accepted.ok() && accepted->isValid());
    auto s = TlsConnection::accept(*serverCtx, std::move(accepted).value());
    ASSERT_TRUE(s.ok());
    server.conn = std::move(s).value();
    server.attach(*loop);

    // A plain OpenSSL client that offers at most TLS 1.2, driven by a timer.
    SSL_CTX* ctx12 = SSL_CTX_new(TLS_client_method());
    ASSERT_NE(ctx12, nullptr);
    SSL_CTX_set_max_proto_version(ctx12, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx12, SSL_VERIFY_NONE, nullptr);
    SSL* ssl = SSL_new(ctx12);
    SSL_set_fd(ssl, fd->get());
    int clientResult = 0; // 1 done, -1 failed
    const auto timer = loop->addRepeatingTimer(1ms, [&] {
        if (clientResult != 0) {
            return;
        }
        const int r = SSL_connect(ssl);
        if (r == 1) {
            clientResult = 1;
        } else {
            const int e = SSL_get_error(ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                clientResult = -1;
            }
        }
    });
    ASSERT_TRUE(runUntil(*loop, [&] { return !server.error.ok() && clientResult != 0; }));
    loop->cancelTimer(timer);
    EXPECT_EQ(clientResult, -1);
    EXPECT_FALSE(server.handshakeOk);
    EXPECT_NE(server.error.detail().find("protocol"), std::string::npos) << server.error.detail();
    SSL_free(ssl);
    SSL_CTX_free(ctx12);
}

TEST(ATlsIdentity, IsCreatedOnceThenLoadedWithPrivateFiles) {
    TempDir dir;
    const std::string state = dir.file("state");
    auto first = TlsIdentity::loadOrCreate(state, "voice-relayd");
    ASSERT_TRUE(first.ok()) << first.status().toString();
    for (const char* f : {TlsIdentity::kKeyFile, TlsIdentity::kCertFile}) {
        struct stat st;
        ASSERT_EQ(::stat((state + "/" + f).c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
    }
    auto second = TlsIdentity::loadOrCreate(state, "voice-relayd");
    ASSERT_TRUE(second.ok()) << second.status().toString();
    EXPECT_EQ(first->fingerprint(), second->fingerprint());
    EXPECT_EQ(EVP_PKEY_get_id(second->key()), EVP_PKEY_ED25519);
}

TEST(ATlsIdentity, RefusesAKeyFileOthersCanRead) {
    TempDir dir;
    const std::string state = dir.file("state");
    ASSERT_TRUE(TlsIdentity::loadOrCreate(state, "r").ok());
    for (const char* f : {TlsIdentity::kKeyFile, TlsIdentity::kCertFile}) {
        const std::string path = state + "/" + f;
        ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
        auto r = TlsIdentity::loadOrCreate(state, "r");
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.status().code(), Errc::Permission);
        EXPECT_NE(r.status().detail().find(path), std::string::npos);
        EXPECT_NE(r.status().detail().find("0644"), std::string::npos) << r.status().detail();
        ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    }
    EXPECT_TRUE(TlsIdentity::loadOrCreate(state, "r").ok());
}

TEST(ATlsIdentity, RefusesASymlinkedGarbageOversizedOrHalfMissingPair) {
    TempDir dir;
    const std::string state = dir.file("state");
    auto id = TlsIdentity::loadOrCreate(state, "r");
    ASSERT_TRUE(id.ok());
    const std::string key = state + "/" + TlsIdentity::kKeyFile;
    const std::string cert = state + "/" + TlsIdentity::kCertFile;

    // Garbage in the certificate file.
    ASSERT_TRUE(writeTestFile(cert, "not a certificate"));
    EXPECT_EQ(TlsIdentity::load(key, cert).status().code(), Errc::InvalidArgument);
    // Oversized.
    ASSERT_TRUE(writeTestFile(cert, std::string(TlsIdentity::kMaxFileBytes + 1, 'A')));
    EXPECT_EQ(TlsIdentity::load(key, cert).status().code(), Errc::InvalidArgument);
    // A certificate for another key.
    auto other = TlsIdentity::generate("other");
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(other->save(dir.file("k2"), cert).ok());
    EXPECT_FALSE(TlsIdentity::load(key, cert).ok());
    // A symlink instead of the key.
    ASSERT_EQ(::rename(key.c_str(), dir.file("real-key").c_str()), 0);
    ASSERT_EQ(::symlink(dir.file("real-key").c_str(), key.c_str()), 0);
    EXPECT_EQ(TlsIdentity::load(key, cert).status().code(), Errc::Permission);
    // The key is missing but the certificate exists: no silent new key.
    ASSERT_EQ(::unlink(key.c_str()), 0);
    auto r = TlsIdentity::loadOrCreate(state, "r");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().detail().find("refusing"), std::string::npos);
}

TEST(AFingerprint, FormatsInGroupsAndParsesBack) {
    std::array<uint8_t, 32> raw{};
    for (size_t i = 0; i < raw.size(); ++i) {
        raw[i] = static_cast<uint8_t>(i * 7 + 0xa0);
    }
    const Fingerprint fp(raw);
    const std::string text = fp.toString();
    EXPECT_EQ(text.substr(0, 17), "sha256:a0a7 aeb5 ");
    EXPECT_EQ(text.size(), 7 + 64 + 15);
    EXPECT_EQ(*Fingerprint::parse(text), fp);
    EXPECT_EQ(*Fingerprint::parse(fp.toCompactString()), fp);
    EXPECT_FALSE(Fingerprint::parse("a0a7").ok());
    EXPECT_FALSE(Fingerprint::parse("sha256:a0a7").ok());
    EXPECT_FALSE(Fingerprint::parse(fp.toCompactString() + "00").ok());
    EXPECT_FALSE(Fingerprint::parse("md5:" + fp.toCompactString().substr(7)).ok());
}

TEST(AKnownRelaysFile, RejectsMalformedLinesWithTheirLineNumber) {
    TempDir dir;
    const std::string path = dir.file("known");
    const std::string fp = Fingerprint().toCompactString();
    ASSERT_TRUE(writeTestFile(path, "# comment\n\nrelay.test:7000 " + fp + "\nbogus line\n"));
    auto r = KnownRelays::load(path);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().detail().find(path + ":4:"), std::string::npos) << r.status().detail();
    ASSERT_TRUE(writeTestFile(path, "relay.test:7000 " + fp + "\nrelay.test:7000 " + fp + "\n"));
    EXPECT_FALSE(KnownRelays::load(path).ok());
    ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
    EXPECT_EQ(KnownRelays::load(path).status().code(), Errc::Permission);
}

TEST(AKnownRelaysFile, StaysBounded) {
    TempDir dir;
    KnownRelays known(dir.file("known"));
    for (size_t i = 0; i < KnownRelays::kMaxEntries; ++i) {
        ASSERT_TRUE(known.add("relay" + std::to_string(i) + ".test:7000", Fingerprint()).ok());
    }
    EXPECT_EQ(known.add("one-more.test:7000", Fingerprint()).code(), Errc::Busy);
    ASSERT_TRUE(known.save().ok());
    auto loaded = KnownRelays::load(dir.file("known"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().toString();
    EXPECT_EQ(loaded->size(), KnownRelays::kMaxEntries);
}
