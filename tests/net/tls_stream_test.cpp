// SPDX-License-Identifier: MIT
// TlsStream on one event loop: an echo exchange, clean close, handshake timeout, refused connect.
#include "net/socket.h"
#include "net/tls_stream.h"

#include <filesystem>
#include <gtest/gtest.h>

using namespace voice;
using namespace std::chrono_literals;

namespace {

std::span<const std::byte> bytes(std::string_view s) {
    return std::as_bytes(std::span(s));
}
std::string text(std::span<const std::byte> b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

class ATlsStream : public ::testing::Test {
protected:
    void SetUp() override {
        loop = std::move(EventLoop::create()).value();
        auto id = TlsIdentity::generate("relay");
        ASSERT_TRUE(id.ok());
        identity = std::make_unique<TlsIdentity>(std::move(id).value());
        serverCtx = std::move(TlsContext::createServer(*identity)).value();
        clientCtx = std::move(TlsContext::createClient()).value();
        auto l = tcpListen(SocketAddress::loopbackV4(0));
        ASSERT_TRUE(l.ok());
        listener = std::move(l).value();
        address = *localAddress(listener.get());
        // An echo server: every accepted connection echoes what it reads.
        ASSERT_TRUE(
            loop->addFd(listener.get(), EventLoop::kReadable,
                        [this](uint32_t) {
                            for (;;) {
                                auto fd = tcpAccept(listener.get());
                                if (!fd.ok() || !fd->isValid()) {
                                    return;
                                }
                                auto conn = TlsConnection::accept(serverCtx, std::move(fd).value());
                                ASSERT_TRUE(conn.ok());
                                const size_t index = servers.size();
                                TlsStream::Handlers h;
                                h.onData = [this, index](std::span<const std::byte> data) {
                                    serverReceived += data.size();
                                    ASSERT_TRUE(servers[index]->send(data).ok());
                                };
                                h.onClosed = [this](const Status& s) { serverClosed.push_back(s); };
                                auto stream =
                                    TlsStream::create(*loop, std::move(conn).value(), std::move(h));
                                ASSERT_TRUE(stream.ok());
                                servers.push_back(std::move(stream).value());
                            }
                        })
                .ok());
    }
    void TearDown() override {
        servers.clear();
        loop->removeFd(listener.get());
    }

    std::unique_ptr<TlsStream> connectClient(TlsStream::Handlers h,
                                             std::optional<Fingerprint> pin = std::nullopt,
                                             std::chrono::milliseconds timeout = 10s) {
        auto fd = tcpConnect(address);
        EXPECT_TRUE(fd.ok());
        auto conn =
            TlsConnection::connect(clientCtx, std::move(fd).value(), "relay.test:7000", pin);
        EXPECT_TRUE(conn.ok());
        auto s = TlsStream::create(*loop, std::move(conn).value(), std::move(h), timeout);
        EXPECT_TRUE(s.ok());
        return std::move(s).value();
    }

    bool runUntil(const std::function<bool()>& pred) {
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > deadline || !loop->runOnce(50ms).ok()) {
                return false;
            }
        }
        return true;
    }

    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<TlsIdentity> identity;
    std::shared_ptr<TlsContext> serverCtx, clientCtx;
    UniqueFd listener;
    SocketAddress address;
    std::vector<std::unique_ptr<TlsStream>> servers;
    std::vector<Status> serverClosed;
    size_t serverReceived = 0;
};

} // namespace

TEST_F(ATlsStream, EchoesDataAfterAPinnedHandshake) {
    bool connected = false;
    std::string echoed;
    std::vector<Status> closed;
    std::unique_ptr<TlsStream> client = connectClient(
        {[&] { connected = true; }, [&](std::span<const std::byte> d) { echoed += text(d); },
         [&](const Status& s) { closed.push_back(s); }},
        identity->fingerprint());
    // Sent before the handshake: queued, and only released after the pin matched.
    ASSERT_TRUE(client->send(bytes("hello ")).ok());
    ASSERT_TRUE(runUntil([&] { return connected; }));
    std::string big(300 * 1000, 'z');
    for (size_t off = 0; off < big.size(); off += 100000) {
        ASSERT_TRUE(client->send(bytes(big).subspan(off, 100000)).ok());
        ASSERT_TRUE(runUntil([&] { return echoed.size() >= 6 + off + 100000; }));
    }
    EXPECT_EQ(echoed, "hello " + big);
    EXPECT_TRUE(closed.empty());

    client->close();
    ASSERT_TRUE(runUntil([&] { return serverClosed.size() == 1; }));
    EXPECT_EQ(serverClosed[0].code(), Errc::Closed);
    EXPECT_TRUE(closed.empty()); // close() reports nothing
}

TEST_F(ATlsStream, ReportsAChangedKeyAndSendsNothing) {
    auto other = TlsIdentity::generate("impostor");
    ASSERT_TRUE(other.ok());
    std::vector<Status> closed;
    bool connected = false;
    std::unique_ptr<TlsStream> client = connectClient(
        {[&] { connected = true; }, nullptr, [&](const Status& s) { closed.push_back(s); }},
        other->fingerprint());
    ASSERT_TRUE(client->send(bytes("secret")).ok());
    ASSERT_TRUE(runUntil([&] { return !closed.empty(); }));
    EXPECT_FALSE(connected);
    EXPECT_EQ(closed[0].code(), Errc::Auth);
    EXPECT_NE(closed[0].detail().find(identity->fingerprint().toString()), std::string::npos);
    EXPECT_NE(closed[0].detail().find(other->fingerprint().toString()), std::string::npos);
    EXPECT_FALSE(client->open());
    client.reset();
    ASSERT_TRUE(runUntil([&] { return serverClosed.size() == 1; }));
    EXPECT_EQ(serverReceived, 0u);
}

TEST_F(ATlsStream, TimesOutAHandshakeThePeerNeverAnswers) {
    // A plain TCP listener that accepts nothing and says nothing.
    auto silent = tcpListen(SocketAddress::loopbackV4(0));
    ASSERT_TRUE(silent.ok());
    auto fd = tcpConnect(*localAddress(silent->get()));
    ASSERT_TRUE(fd.ok());
    auto conn = TlsConnection::connect(clientCtx, std::move(fd).value(), "silent");
    ASSERT_TRUE(conn.ok());
    std::vector<Status> closed;
    auto s = TlsStream::create(*loop, std::move(conn).value(),
                               {nullptr, nullptr, [&](const Status& st) { closed.push_back(st); }},
                               100ms);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(runUntil([&] { return !closed.empty(); }));
    EXPECT_EQ(closed[0].code(), Errc::Timeout);
}

TEST_F(ATlsStream, ReportsARefusedConnection) {
    uint16_t port;
    {
        auto l = tcpListen(SocketAddress::loopbackV4(0));
        ASSERT_TRUE(l.ok());
        port = localAddress(l->get())->port();
    }
    auto fd = tcpConnect(SocketAddress::loopbackV4(port));
    ASSERT_TRUE(fd.ok());
    auto conn = TlsConnection::connect(clientCtx, std::move(fd).value(), "gone");
    ASSERT_TRUE(conn.ok());
    std::vector<Status> closed;
    auto s = TlsStream::create(*loop, std::move(conn).value(),
                               {nullptr, nullptr, [&](const Status& st) { closed.push_back(st); }});
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(runUntil([&] { return !closed.empty(); }));
    EXPECT_NE(closed[0].code(), Errc::Ok);
    EXPECT_NE(closed[0].code(), Errc::Timeout);
}

TEST_F(ATlsStream, LetsAHandlerDestroyTheStream) {
    std::unique_ptr<TlsStream> client;
    bool destroyed = false;
    client = connectClient({[&] { ASSERT_TRUE(client->send(bytes("ping")).ok()); },
                            [&](std::span<const std::byte>) {
                                client.reset(); // from inside its own handler
                                destroyed = true;
                            },
                            nullptr});
    ASSERT_TRUE(runUntil([&] { return destroyed; }));
    ASSERT_TRUE(runUntil([&] { return serverClosed.size() == 1; }));
}
