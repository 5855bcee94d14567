// SPDX-License-Identifier: MIT
// TLS 1.3 over non-blocking sockets: contexts, and a connection with a bounded outgoing buffer.
#pragma once

#include "core/result.h"
#include "core/unique_fd.h"
#include "net/fingerprint.h"
#include "net/tls_identity.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <openssl/types.h>
#include <optional>
#include <span>
#include <vector>

namespace voice {

/// Shared settings for many connections: TLS 1.3 only, no session tickets.
/// Thread-safe to share once created (OpenSSL's SSL_CTX is).
class TlsContext {
public:
    /// A server context presenting identity's certificate.
    static Result<std::shared_ptr<TlsContext>> createServer(const TlsIdentity& identity);
    /// A client context. It does not verify a certificate chain: the caller
    /// pins the server key (TlsConnection::peerFingerprint()). TLS 1.3 still
    /// proves the server holds that key (CertificateVerify).
    static Result<std::shared_ptr<TlsContext>> createClient();
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    SSL_CTX* native() const { return ctx_; }
    bool isServer() const { return server_; }

private:
    TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}
    SSL_CTX* ctx_;
    bool server_;
};

/// The outcome of one non-blocking TLS operation.
struct TlsIo {
    enum class State {
        Ok,        ///< done; `bytes` says how many were read or written
        WantRead,  ///< call again when the socket is readable
        WantWrite, ///< call again when the socket is writable
        Closed,    ///< the peer closed the connection (close_notify or EOF)
        Error,     ///< fatal; `error` explains; drop the connection
    };
    State state = State::Ok;
    size_t bytes = 0;
    Status error;

    bool ok() const { return state == State::Ok; }
    bool wouldBlock() const { return state == State::WantRead || state == State::WantWrite; }
};

/// One TLS connection over a non-blocking stream socket it owns.
///
/// Single-threaded: all methods run on the thread of the EventLoop that
/// watches fd(). After each call, update the watch with wantedEvents().
/// Writes never raise SIGPIPE (the socket BIO uses MSG_NOSIGNAL).
class TlsConnection {
public:
    /// Default bound for queued outgoing bytes; a peer that does not read
    /// cannot make us buffer more.
    static constexpr size_t kDefaultOutputLimit = 256 * 1024;

    /// Server side of an accepted socket.
    static Result<std::unique_ptr<TlsConnection>> accept(std::shared_ptr<TlsContext> ctx,
                                                         UniqueFd fd);
    /// Client side of a connected (or connecting) socket. With expectedPin,
    /// handshake() fails with an Auth error naming both fingerprints unless
    /// the server's key matches; `peerName` names the server in that error.
    static Result<std::unique_ptr<TlsConnection>>
    connect(std::shared_ptr<TlsContext> ctx, UniqueFd fd, std::string peerName,
            std::optional<Fingerprint> expectedPin = std::nullopt);
    ~TlsConnection();
    TlsConnection(const TlsConnection&) = delete;
    TlsConnection& operator=(const TlsConnection&) = delete;

    /// Advances the handshake. Ok once it is complete (and the pin, if any,
    /// matched); WantRead/WantWrite until then; Error on failure (a TLS 1.2
    /// peer, a bad pin...). Sends queued output once complete.
    TlsIo handshake();
    bool handshakeDone() const { return handshakeDone_; }
    /// The peer certificate's key fingerprint; valid after the handshake
    /// (for a server, an all-zero Fingerprint: clients have no certificate).
    const Fingerprint& peerFingerprint() const { return peerFingerprint_; }

    /// Reads decrypted bytes. Ok with bytes > 0; WantRead when nothing is
    /// buffered (not an error); Closed when the peer closed cleanly or the
    /// TCP stream ended. Call until it stops returning Ok: OpenSSL may hold
    /// decrypted bytes the socket no longer signals.
    TlsIo read(std::span<std::byte> buffer);
    /// Queues data and writes as much as the socket takes. Fails with Busy
    /// (queueing nothing) if that would exceed the output limit, and with
    /// the stored error after a fatal failure. May be called before the
    /// handshake completes; bytes go out after it.
    Status send(std::span<const std::byte> data);
    /// Writes queued bytes. Ok when the queue is empty.
    TlsIo flush();
    size_t pendingOutput() const { return out_.size() - outStart_; }
    void setOutputLimit(size_t bytes) { outputLimit_ = bytes; }

    /// Sends close_notify (best effort, non-blocking). Further sends fail.
    void shutdown();

    /// Events to watch: kReadable always, plus kWritable while output is
    /// queued or OpenSSL waits to write.
    uint32_t wantedEvents() const;
    int fd() const { return fd_.get(); }

private:
    TlsConnection(std::shared_ptr<TlsContext> ctx, UniqueFd fd);
    Status init(bool server);
    TlsIo classify(int ret, const char* what);
    TlsIo fail(Status status);

    std::shared_ptr<TlsContext> ctx_;
    UniqueFd fd_;
    SSL* ssl_ = nullptr;
    std::string peerName_;
    std::optional<Fingerprint> expectedPin_;
    Fingerprint peerFingerprint_;
    bool handshakeDone_ = false;
    bool wantWrite_ = false;          // the last operation was blocked on writability
    bool writeBlockedOnRead_ = false; // flush() needs incoming bytes first
    bool closed_ = false;
    Status fatal_; // first fatal error; sticky
    std::vector<std::byte> out_;
    size_t outStart_ = 0; // bytes before this in out_ were already written
    size_t outputLimit_ = kDefaultOutputLimit;
};

} // namespace voice
