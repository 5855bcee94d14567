// SPDX-License-Identifier: MIT
// TLS 1.3 connections over a custom socket BIO (MSG_NOSIGNAL), driven by epoll readiness.
#include "net/tls.h"

#include "net/event_loop.h"

#include <cerrno>
#include <cstring>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

namespace voice {

namespace {

// A socket BIO that sends with MSG_NOSIGNAL: OpenSSL's own socket BIO uses
// write(), which raises SIGPIPE when the peer has gone. The fd is stored in
// the BIO's data pointer; the TlsConnection owns and closes it.
int bioFd(BIO* b) {
    return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
}

int bioWrite(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    for (;;) {
        const ssize_t n = ::send(bioFd(b), data, static_cast<size_t>(len), MSG_NOSIGNAL);
        if (n >= 0) {
            return static_cast<int>(n);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            BIO_set_retry_write(b);
        }
        return -1;
    }
}

int bioRead(BIO* b, char* data, int len) {
    BIO_clear_retry_flags(b);
    for (;;) {
        const ssize_t n = ::recv(bioFd(b), data, static_cast<size_t>(len), 0);
        if (n >= 0) {
            return static_cast<int>(n); // 0 is end of stream
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            BIO_set_retry_read(b);
        }
        return -1;
    }
}

int bioPuts(BIO* b, const char* text) {
    return bioWrite(b, text, static_cast<int>(strlen(text)));
}

long bioCtrl(BIO*, int cmd, long, void*) {
    // libssl only needs FLUSH (nothing is buffered here) and DUP.
    switch (cmd) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0;
    }
}

int bioCreate(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

BIO_METHOD* socketBioMethod() {
    // Created once, on first use; C++ guarantees thread-safe initialisation.
    static BIO_METHOD* method = [] {
        BIO_METHOD* m =
            BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "voice-nosignal-socket");
        if (m != nullptr) {
            BIO_meth_set_write(m, bioWrite);
            BIO_meth_set_read(m, bioRead);
            BIO_meth_set_puts(m, bioPuts);
            BIO_meth_set_ctrl(m, bioCtrl);
            BIO_meth_set_create(m, bioCreate);
        }
        return m;
    }();
    return method;
}

Result<SSL_CTX*> newContext(bool server) {
    SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == nullptr) {
        return Status::fromOpenSsl("SSL_CTX_new");
    }
    // TLS 1.3 only: no downgrade to 1.2 and its weaker suites.
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
        SSL_CTX_free(ctx);
        return Status::fromOpenSsl("restricting to TLS 1.3");
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // A peer that vanishes without close_notify is "closed", not a protocol
    // error; messages carry their own lengths, so truncation is detected above.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (server) {
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    return ctx;
}

} // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::createServer(const TlsIdentity& identity) {
    auto ctx = newContext(true);
    if (!ctx) {
        return ctx.status();
    }
    std::shared_ptr<TlsContext> result(new TlsContext(*ctx, true));
    if (SSL_CTX_use_certificate(*ctx, identity.certificate()) != 1 ||
        SSL_CTX_use_PrivateKey(*ctx, identity.key()) != 1 || SSL_CTX_check_private_key(*ctx) != 1) {
        return Status::fromOpenSsl("loading the server key and certificate");
    }
    return result;
}

Result<std::shared_ptr<TlsContext>> TlsContext::createClient() {
    auto ctx = newContext(false);
    if (!ctx) {
        return ctx.status();
    }
    // No CA store: trust comes from pinning the server key after the handshake.
    SSL_CTX_set_verify(*ctx, SSL_VERIFY_NONE, nullptr);
    return std::shared_ptr<TlsContext>(new TlsContext(*ctx, false));
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

TlsConnection::TlsConnection(std::shared_ptr<TlsContext> ctx, UniqueFd fd)
    : ctx_(std::move(ctx)), fd_(std::move(fd)) {}

TlsConnection::~TlsConnection() {
    SSL_free(ssl_);
}

Status TlsConnection::init(bool server) {
    if (!fd_) {
        return Status(Errc::InvalidArgument, "TLS connection needs a socket");
    }
    if (ctx_ == nullptr || ctx_->isServer() != server) {
        return Status(Errc::InvalidArgument, "TLS context of the wrong role");
    }
    ssl_ = SSL_new(ctx_->native());
    if (ssl_ == nullptr) {
        return Status::fromOpenSsl("SSL_new");
    }
    BIO_METHOD* method = socketBioMethod();
    BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
    if (bio == nullptr) {
        return Status::fromOpenSsl("BIO_new");
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd_.get())));
    SSL_set_bio(ssl_, bio, bio); // one reference, shared by both directions
    if (server) {
        SSL_set_accept_state(ssl_);
    } else {
        SSL_set_connect_state(ssl_);
    }
    return {};
}

Result<std::unique_ptr<TlsConnection>> TlsConnection::accept(std::shared_ptr<TlsContext> ctx,
                                                             UniqueFd fd) {
    std::unique_ptr<TlsConnection> c(new TlsConnection(std::move(ctx), std::move(fd)));
    if (Status s = c->init(true); !s) {
        return s;
    }
    return c;
}

Result<std::unique_ptr<TlsConnection>>
TlsConnection::connect(std::shared_ptr<TlsContext> ctx, UniqueFd fd, std::string peerName,
                       std::optional<Fingerprint> expectedPin) {
    std::unique_ptr<TlsConnection> c(new TlsConnection(std::move(ctx), std::move(fd)));
    if (Status s = c->init(false); !s) {
        return s;
    }
    c->peerName_ = std::move(peerName);
    c->expectedPin_ = expectedPin;
    return c;
}

TlsIo TlsConnection::fail(Status status) {
    if (fatal_.ok()) {
        fatal_ = std::move(status);
    }
    return TlsIo{TlsIo::State::Error, 0, fatal_};
}

TlsIo TlsConnection::classify(int ret, const char* what) {
    const int savedErrno = errno;
    switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
        wantWrite_ = false;
        return TlsIo{TlsIo::State::WantRead, 0, {}};
    case SSL_ERROR_WANT_WRITE:
        wantWrite_ = true;
        return TlsIo{TlsIo::State::WantWrite, 0, {}};
    case SSL_ERROR_ZERO_RETURN:
        closed_ = true;
        return TlsIo{TlsIo::State::Closed, 0, Status(Errc::Closed, "peer closed the connection")};
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (savedErrno == 0 || savedErrno == ECONNRESET || savedErrno == EPIPE) {
                closed_ = true;
                return TlsIo{TlsIo::State::Closed, 0,
                             savedErrno == 0 ? Status(Errc::Closed, "connection ended")
                                             : Status::fromErrno(Errc::Closed, savedErrno, what)};
            }
            return fail(Status::fromErrno(Errc::Io, savedErrno, what));
        }
        return fail(Status::fromOpenSsl(what));
    default:
        return fail(Status::fromOpenSsl(what));
    }
}

TlsIo TlsConnection::handshake() {
    if (!fatal_.ok()) {
        return TlsIo{TlsIo::State::Error, 0, fatal_};
    }
    if (handshakeDone_) {
        return {};
    }
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(ssl_);
    if (ret != 1) {
        TlsIo io = classify(ret, "TLS handshake");
        if (io.state == TlsIo::State::Closed) {
            return fail(
                Status(Errc::Closed, "peer closed the connection during the TLS handshake"));
        }
        return io;
    }
    wantWrite_ = false;
    if (SSL_version(ssl_) != TLS1_3_VERSION) {
        return fail(Status(Errc::Protocol, "peer negotiated a TLS version other than 1.3"));
    }
    if (!ctx_->isServer()) {
        const X509* cert = SSL_get0_peer_certificate(ssl_);
        auto fp = Fingerprint::ofCertificate(cert);
        if (!fp) {
            return fail(Status(Errc::Auth, "server sent no usable certificate"));
        }
        peerFingerprint_ = *fp;
        if (expectedPin_) {
            if (Status s = verifyPin(*expectedPin_, peerFingerprint_, peerName_); !s) {
                return fail(s);
            }
        }
    }
    handshakeDone_ = true;
    if (pendingOutput() > 0) {
        TlsIo io = flush();
        if (io.state == TlsIo::State::Error || io.state == TlsIo::State::Closed) {
            return io;
        }
    }
    return {};
}

TlsIo TlsConnection::read(std::span<std::byte> buffer) {
    if (!handshakeDone_) {
        TlsIo io = handshake();
        if (!io.ok()) {
            return io;
        }
    }
    if (!fatal_.ok()) {
        return TlsIo{TlsIo::State::Error, 0, fatal_};
    }
    if (buffer.empty()) {
        return {};
    }
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    const int ret = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    if (ret == 1) {
        writeBlockedOnRead_ = false;
        return TlsIo{TlsIo::State::Ok, n, {}};
    }
    return classify(ret, "TLS read");
}

Status TlsConnection::send(std::span<const std::byte> data) {
    if (!fatal_.ok()) {
        return fatal_;
    }
    if (closed_) {
        return Status(Errc::Closed, "TLS connection is closed");
    }
    if (data.size() > outputLimit_ - std::min(outputLimit_, pendingOutput())) {
        return Status(Errc::Busy, "TLS output buffer full (" + std::to_string(pendingOutput()) +
                                      " bytes queued): the peer is not reading");
    }
    if (outStart_ > 0 && outStart_ >= out_.size() / 2) {
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(outStart_));
        outStart_ = 0;
    }
    out_.insert(out_.end(), data.begin(), data.end());
    if (!handshakeDone_) {
        return {};
    }
    TlsIo io = flush();
    if (io.state == TlsIo::State::Error || io.state == TlsIo::State::Closed) {
        return io.error;
    }
    return {};
}

TlsIo TlsConnection::flush() {
    if (!handshakeDone_) {
        return handshake();
    }
    while (pendingOutput() > 0) {
        if (!fatal_.ok()) {
            return TlsIo{TlsIo::State::Error, 0, fatal_};
        }
        ERR_clear_error();
        errno = 0;
        size_t n = 0;
        const int ret = SSL_write_ex(ssl_, out_.data() + outStart_, pendingOutput(), &n);
        if (ret != 1) {
            TlsIo io = classify(ret, "TLS write");
            // A write waiting for incoming bytes must not poll for writability.
            writeBlockedOnRead_ = io.state == TlsIo::State::WantRead;
            return io;
        }
        writeBlockedOnRead_ = false;
        wantWrite_ = false;
        outStart_ += n;
    }
    out_.clear();
    outStart_ = 0;
    return {};
}

void TlsConnection::shutdown() {
    if (handshakeDone_ && fatal_.ok() && !closed_) {
        ERR_clear_error();
        (void)SSL_shutdown(ssl_); // queues close_notify; we do not wait for the reply
        ERR_clear_error();
    }
    closed_ = true;
}

uint32_t TlsConnection::wantedEvents() const {
    uint32_t events = EventLoop::kReadable;
    if (wantWrite_ || (handshakeDone_ && !closed_ && !writeBlockedOnRead_ && pendingOutput() > 0)) {
        events |= EventLoop::kWritable;
    }
    return events;
}

} // namespace voice
