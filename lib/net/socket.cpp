// SPDX-License-Identifier: MIT
// Sockets: strict host:port parsing and thin, non-blocking wrappers over the BSD socket calls.
#include "net/socket.h"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

namespace voice {

namespace {

bool isHostChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

Status validateHostName(std::string_view host) {
    if (host.empty() || host.size() > 253) {
        return Status(Errc::InvalidArgument, "host name must have 1..253 characters");
    }
    size_t labelStart = 0;
    for (size_t i = 0; i <= host.size(); ++i) {
        if (i < host.size() && !isHostChar(host[i])) {
            return Status(Errc::InvalidArgument, "host name has an invalid character");
        }
        if (i == host.size() || host[i] == '.') {
            const std::string_view label = host.substr(labelStart, i - labelStart);
            // A trailing dot (fully qualified name) leaves one empty last label.
            if (label.empty() && !(i == host.size() && i > 0)) {
                return Status(Errc::InvalidArgument, "host name has an empty label");
            }
            if (label.size() > 63) {
                return Status(Errc::InvalidArgument, "host name label longer than 63 characters");
            }
            if (!label.empty() && (label.front() == '-' || label.back() == '-')) {
                return Status(Errc::InvalidArgument, "host name label starts or ends with '-'");
            }
            labelStart = i + 1;
        }
    }
    return {};
}

Result<uint16_t> parsePort(std::string_view text, bool allowZero) {
    if (text.empty() || text.size() > 5) {
        return Result<uint16_t>(Errc::InvalidArgument, "port must be 1..65535");
    }
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return Result<uint16_t>(Errc::InvalidArgument, "port must be decimal digits");
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535 || (value == 0 && !allowZero)) {
        return Result<uint16_t>(Errc::InvalidArgument, "port must be 1..65535");
    }
    return static_cast<uint16_t>(value);
}

Status setIntOption(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
        return Status::fromErrno(Errc::Io, errno, what);
    }
    return {};
}

} // namespace

Result<HostPort> HostPort::parse(std::string_view text, bool allowPortZero) {
    auto fail = [&](std::string_view why) {
        return Result<HostPort>(Errc::InvalidArgument,
                                "bad address '" + std::string(text.substr(0, 300)) +
                                    "': " + std::string(why) + " (expected host:port)");
    };
    if (text.empty() || text.size() > 300) {
        return fail("length must be 1..300");
    }
    HostPort hp;
    std::string_view portText;
    if (text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return fail("IPv6 literal must look like [addr]:port");
        }
        hp.host = std::string(text.substr(1, close - 1));
        in6_addr a6;
        if (hp.host.empty() || ::inet_pton(AF_INET6, hp.host.c_str(), &a6) != 1) {
            return fail("invalid IPv6 address");
        }
        portText = text.substr(close + 2);
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return fail("missing port");
        }
        if (text.substr(0, colon).find(':') != std::string_view::npos) {
            return fail("IPv6 literals need brackets");
        }
        hp.host = std::string(text.substr(0, colon));
        if (Status s = validateHostName(hp.host); !s) {
            return fail(s.detail());
        }
        // Digits and dots only: it must be a real IPv4 address, not "999.1.1.1".
        in_addr a4;
        if (hp.host.find_first_not_of("0123456789.") == std::string::npos &&
            ::inet_pton(AF_INET, hp.host.c_str(), &a4) != 1) {
            return fail("invalid IPv4 address");
        }
        portText = text.substr(colon + 1);
    }
    auto port = parsePort(portText, allowPortZero);
    if (!port) {
        return fail(port.status().detail());
    }
    hp.port = *port;
    return hp;
}

std::string HostPort::toString() const {
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + std::to_string(port);
    }
    return host + ":" + std::to_string(port);
}

Result<SocketAddress> SocketAddress::fromHostPort(const HostPort& hp) {
    SocketAddress a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (::inet_pton(AF_INET, hp.host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(hp.port);
        a.length_ = sizeof(sockaddr_in);
        return a;
    }
    a.storage_ = {};
    if (::inet_pton(AF_INET6, hp.host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(hp.port);
        a.length_ = sizeof(sockaddr_in6);
        return a;
    }
    return Result<SocketAddress>(Errc::InvalidArgument,
                                 "'" + hp.host + "' is not a numeric IPv4 or IPv6 address");
}

Result<SocketAddress> SocketAddress::parse(std::string_view text, bool allowPortZero) {
    auto hp = HostPort::parse(text, allowPortZero);
    if (!hp) {
        return hp.status();
    }
    return fromHostPort(*hp);
}

Result<SocketAddress> SocketAddress::resolve(const HostPort& hp) {
    if (auto numeric = fromHostPort(hp)) {
        return numeric;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(hp.host.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
        return Result<SocketAddress>(Errc::NotFound,
                                     "cannot resolve '" + hp.host + "': " + ::gai_strerror(rc));
    }
    Result<SocketAddress> result(Errc::NotFound, "no IPv4 or IPv6 address for '" + hp.host + "'");
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        if (auto a = fromSockaddr(ai->ai_addr, ai->ai_addrlen)) {
            a->setPort(hp.port);
            result = std::move(a);
            break;
        }
    }
    ::freeaddrinfo(list);
    return result;
}

Result<SocketAddress> SocketAddress::fromSockaddr(const sockaddr* addr, socklen_t length) {
    SocketAddress a;
    if (addr != nullptr && addr->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        std::memcpy(&a.storage_, addr, sizeof(sockaddr_in));
        a.length_ = sizeof(sockaddr_in);
        return a;
    }
    if (addr != nullptr && addr->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        std::memcpy(&a.storage_, addr, sizeof(sockaddr_in6));
        a.length_ = sizeof(sockaddr_in6);
        return a;
    }
    return Result<SocketAddress>(Errc::Unsupported, "not an IPv4 or IPv6 address");
}

SocketAddress SocketAddress::loopbackV4(uint16_t port) {
    return *fromHostPort(HostPort{"127.0.0.1", port});
}

SocketAddress SocketAddress::loopbackV6(uint16_t port) {
    return *fromHostPort(HostPort{"::1", port});
}

uint16_t SocketAddress::port() const {
    if (family() == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    }
    if (family() == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    }
    return 0;
}

void SocketAddress::setPort(uint16_t port) {
    if (family() == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
    } else if (family() == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
    }
}

SocketAddress SocketAddress::unmapped() const {
    if (family() != AF_INET6) {
        return *this;
    }
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    if (!IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
        return *this;
    }
    SocketAddress a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    v4->sin_family = AF_INET;
    v4->sin_port = v6->sin6_port;
    std::memcpy(&v4->sin_addr, &v6->sin6_addr.s6_addr[12], 4);
    a.length_ = sizeof(sockaddr_in);
    return a;
}

std::string SocketAddress::hostString() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                    sizeof(buf));
    } else if (family() == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                    sizeof(buf));
    }
    return buf;
}

std::string SocketAddress::toString() const {
    if (family() == AF_INET) {
        return hostString() + ":" + std::to_string(port());
    }
    if (family() == AF_INET6) {
        return "[" + hostString() + "]:" + std::to_string(port());
    }
    return {};
}

int SocketAddress::compare(const SocketAddress& other) const {
    if (family() != other.family()) {
        return family() < other.family() ? -1 : 1;
    }
    int c = 0;
    if (family() == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
        const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage_);
        c = std::memcmp(&a->sin_addr, &b->sin_addr, sizeof(a->sin_addr));
    } else if (family() == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
        const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage_);
        c = std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr));
        if (c == 0 && a->sin6_scope_id != b->sin6_scope_id) {
            c = a->sin6_scope_id < b->sin6_scope_id ? -1 : 1;
        }
    }
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    if (port() != other.port()) {
        return port() < other.port() ? -1 : 1;
    }
    return 0;
}

size_t SocketAddress::hash() const {
    size_t h = std::hash<int>()(family()) * 31 + port();
    const unsigned char* bytes = nullptr;
    size_t n = 0;
    if (family() == AF_INET) {
        bytes = reinterpret_cast<const unsigned char*>(
            &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr);
        n = 4;
    } else if (family() == AF_INET6) {
        bytes = reinterpret_cast<const unsigned char*>(
            &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
        n = 16;
    }
    for (size_t i = 0; i < n; ++i) {
        h = h * 131 + bytes[i];
    }
    return h;
}

Status setNonBlocking(int fd, bool on) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) {
        return Status::fromErrno(Errc::Io, errno, "fcntl(F_GETFL)");
    }
    const int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) != 0) {
        return Status::fromErrno(Errc::Io, errno, "fcntl(F_SETFL)");
    }
    return {};
}

namespace {

// Options shared by TCP and UDP sockets before bind(): SO_REUSEPORT on
// request, and IPv6 wildcard sockets that also take IPv4 (a specific IPv6
// address is v6-only, so "[::1]:p" and "127.0.0.1:p" can both be bound).
Status setBindOptions(int fd, const SocketAddress& address, bool reusePort) {
    if (reusePort) {
        if (Status s = setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"); !s) {
            return s;
        }
    }
    if (address.family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address.data());
        const int v6only = IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr) ? 0 : 1;
        return setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only, "IPV6_V6ONLY");
    }
    return {};
}

} // namespace

Result<UniqueFd> tcpListen(const SocketAddress& address, int backlog, bool reusePort) {
    if (address.empty()) {
        return Result<UniqueFd>(Errc::InvalidArgument, "tcpListen: empty address");
    }
    UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return Status::fromErrno(Errc::Io, errno, "socket(TCP)");
    }
    if (Status s = setIntOption(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !s) {
        return s;
    }
    if (Status s = setBindOptions(fd.get(), address, reusePort); !s) {
        return s;
    }
    if (::bind(fd.get(), address.data(), address.length()) != 0) {
        return Status::fromErrno(Errc::Io, errno, "bind(TCP " + address.toString() + ")");
    }
    if (::listen(fd.get(), backlog) != 0) {
        return Status::fromErrno(Errc::Io, errno, "listen(" + address.toString() + ")");
    }
    return fd;
}

Result<UniqueFd> tcpAccept(int listenFd, SocketAddress* peer) {
    for (;;) {
        SocketAddress from;
        socklen_t len = SocketAddress::capacity();
        const int fd = ::accept4(listenFd, from.mutableData(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            from.setLength(len);
            if (peer != nullptr) {
                *peer = from;
            }
            UniqueFd owned(fd);
            // Best effort: control messages are small and latency matters.
            (void)setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
            return owned;
        }
        switch (errno) {
        case EINTR:
            continue;
        case EAGAIN:
        case ECONNABORTED: // the client gave up before we accepted: nothing to do
            return UniqueFd();
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            return Status::fromErrno(Errc::Busy, errno, "accept");
        default:
            return Status::fromErrno(Errc::Io, errno, "accept");
        }
    }
}

Result<UniqueFd> tcpConnect(const SocketAddress& address) {
    if (address.empty()) {
        return Result<UniqueFd>(Errc::InvalidArgument, "tcpConnect: empty address");
    }
    UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return Status::fromErrno(Errc::Io, errno, "socket(TCP)");
    }
    (void)setIntOption(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
    if (::connect(fd.get(), address.data(), address.length()) != 0 && errno != EINPROGRESS) {
        return Status::fromErrno(Errc::Io, errno, "connect(" + address.toString() + ")");
    }
    return fd;
}

Status connectResult(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return Status::fromErrno(Errc::Io, errno, "getsockopt(SO_ERROR)");
    }
    if (err == EINPROGRESS || err == EALREADY) {
        return Status(Errc::Busy, "connect still in progress");
    }
    if (err != 0) {
        return Status::fromErrno(err == ETIMEDOUT ? Errc::Timeout : Errc::Io, err, "connect");
    }
    // SO_ERROR is 0 also before the handshake finished; a peer name proves it did.
    sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) {
        return Status(Errc::Busy, "connect still in progress");
    }
    return {};
}

Result<UniqueFd> udpBind(const SocketAddress& address, bool reusePort) {
    if (address.empty()) {
        return Result<UniqueFd>(Errc::InvalidArgument, "udpBind: empty address");
    }
    UniqueFd fd(::socket(address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return Status::fromErrno(Errc::Io, errno, "socket(UDP)");
    }
    if (Status s = setBindOptions(fd.get(), address, reusePort); !s) {
        return s;
    }
    if (::bind(fd.get(), address.data(), address.length()) != 0) {
        return Status::fromErrno(Errc::Io, errno, "bind(UDP " + address.toString() + ")");
    }
    return fd;
}

Result<std::optional<Datagram>> recvFrom(int fd, std::span<std::byte> buffer) {
    for (;;) {
        Datagram d;
        socklen_t len = SocketAddress::capacity();
        const ssize_t n =
            ::recvfrom(fd, buffer.data(), buffer.size(), MSG_TRUNC, d.from.mutableData(), &len);
        if (n >= 0) {
            d.from.setLength(len);
            d.truncated = static_cast<size_t>(n) > buffer.size();
            d.size = d.truncated ? buffer.size() : static_cast<size_t>(n);
            return std::optional<Datagram>(std::move(d));
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            return std::optional<Datagram>();
        }
        // ICMP errors from earlier sends surface here (ECONNREFUSED...): report, don't stop.
        return Status::fromErrno(Errc::Io, errno, "recvfrom");
    }
}

Result<bool> sendTo(int fd, std::span<const std::byte> data, const SocketAddress& to) {
    for (;;) {
        const ssize_t n =
            ::sendto(fd, data.data(), data.size(), MSG_NOSIGNAL, to.data(), to.length());
        if (n >= 0) {
            return true;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == ENOBUFS) {
            return false;
        }
        return Status::fromErrno(Errc::Io, errno, "sendto(" + to.toString() + ")");
    }
}

Result<SocketAddress> localAddress(int fd) {
    SocketAddress a;
    socklen_t len = SocketAddress::capacity();
    if (::getsockname(fd, a.mutableData(), &len) != 0) {
        return Status::fromErrno(Errc::Io, errno, "getsockname");
    }
    return SocketAddress::fromSockaddr(a.data(), len);
}

Result<SocketAddress> peerAddress(int fd) {
    SocketAddress a;
    socklen_t len = SocketAddress::capacity();
    if (::getpeername(fd, a.mutableData(), &len) != 0) {
        return Status::fromErrno(Errc::Io, errno, "getpeername");
    }
    return SocketAddress::fromSockaddr(a.data(), len);
}

} // namespace voice
