// SPDX-License-Identifier: MIT
// Sockets: address parsing and formatting, non-blocking TCP listen/connect/accept, UDP bind and
// I/O.
#pragma once

#include "core/result.h"
#include "core/unique_fd.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace voice {

/// A host name or numeric address plus a port, as written in config files
/// and on command lines: "relay.example.org:7000", "192.0.2.1:7000",
/// "[2001:db8::1]:7000". Nothing is resolved.
struct HostPort {
    std::string host; ///< without brackets for IPv6
    uint16_t port = 0;

    /// Strict parse. Host names: 1..253 chars of letters, digits, '-' and
    /// '.', labels of 1..63 chars not starting or ending with '-'. IPv6
    /// literals must be bracketed and valid. Port: decimal 1..65535 (0 too
    /// when allowPortZero, for "any free port").
    static Result<HostPort> parse(std::string_view text, bool allowPortZero = false);
    /// Brackets IPv6 literals: "[::1]:7000".
    std::string toString() const;
    bool operator==(const HostPort&) const = default;
};

/// A socket address (IPv4 or IPv6) by value: sockaddr_storage plus length.
/// Comparison and hashing look at family, address, port (and IPv6 scope).
class SocketAddress {
public:
    SocketAddress() = default; ///< empty (family AF_UNSPEC)

    /// Numeric address only, no DNS: "127.0.0.1:7000", "[::1]:7000".
    static Result<SocketAddress> parse(std::string_view text, bool allowPortZero = false);
    /// Numeric host plus port; fails for names.
    static Result<SocketAddress> fromHostPort(const HostPort& hp);
    /// Resolves a name with getaddrinfo. Blocks: call at start-up or off the
    /// event loop thread. Prefers the first address returned.
    static Result<SocketAddress> resolve(const HostPort& hp);
    /// Copies a kernel-supplied address; only AF_INET and AF_INET6 accepted.
    static Result<SocketAddress> fromSockaddr(const sockaddr* addr, socklen_t length);
    static SocketAddress loopbackV4(uint16_t port);
    static SocketAddress loopbackV6(uint16_t port);

    int family() const { return storage_.ss_family; }
    bool empty() const { return length_ == 0; }
    uint16_t port() const;
    void setPort(uint16_t port);
    /// IPv4-mapped IPv6 (::ffff:a.b.c.d) addresses become plain IPv4; others unchanged.
    SocketAddress unmapped() const;

    /// "1.2.3.4:5", "[::1]:5", "" for an empty address.
    std::string toString() const;
    /// The address without the port: "1.2.3.4", "::1".
    std::string hostString() const;

    const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* mutableData() { return reinterpret_cast<sockaddr*>(&storage_); }
    socklen_t length() const { return length_; }
    /// For recvfrom/accept: set the length the kernel filled in.
    void setLength(socklen_t length) { length_ = length; }
    static constexpr socklen_t capacity() { return sizeof(sockaddr_storage); }

    bool operator==(const SocketAddress& other) const { return compare(other) == 0; }
    bool operator<(const SocketAddress& other) const { return compare(other) < 0; }
    size_t hash() const;

private:
    int compare(const SocketAddress& other) const;

    sockaddr_storage storage_{};
    socklen_t length_ = 0;
};

struct SocketAddressHash {
    size_t operator()(const SocketAddress& a) const { return a.hash(); }
};

/// A listening TCP socket: non-blocking, close-on-exec, SO_REUSEADDR.
/// "[::]" listens dual-stack (IPv4 arrives as ::ffff:a.b.c.d); other IPv6
/// addresses are IPv6-only. With reusePort (SO_REUSEPORT) several sockets
/// of this user may bind the same port and the kernel spreads connections
/// over them: one listener per event-loop thread.
Result<UniqueFd> tcpListen(const SocketAddress& address, int backlog = 128, bool reusePort = false);
/// Accepts one connection (non-blocking, close-on-exec). Returns an invalid
/// UniqueFd when nothing is pending; peer (if given) receives its address.
Result<UniqueFd> tcpAccept(int listenFd, SocketAddress* peer = nullptr);
/// Starts a non-blocking connect. Wait for the fd to be writable, then call
/// connectResult(). Also sets TCP_NODELAY (control messages are small).
Result<UniqueFd> tcpConnect(const SocketAddress& address);
/// After writability: ok when connected, else the connect error (refused...).
Status connectResult(int fd);

/// A UDP socket bound to address: non-blocking, close-on-exec. Binding the
/// port of a TCP listener on the same address gives the relay one port number.
/// reusePort as for tcpListen() (datagrams are spread by source address).
Result<UniqueFd> udpBind(const SocketAddress& address, bool reusePort = false);
/// A datagram that recvFrom() returned.
struct Datagram {
    size_t size = 0;        ///< bytes stored in the buffer
    bool truncated = false; ///< the datagram was larger than the buffer (drop it)
    SocketAddress from;
};
/// Receives one datagram; nullopt when none is pending.
Result<std::optional<Datagram>> recvFrom(int fd, std::span<std::byte> buffer);
/// Sends one datagram. Returns false when the socket buffer is full (the
/// datagram is dropped, as UDP would), an error for real failures.
Result<bool> sendTo(int fd, std::span<const std::byte> data, const SocketAddress& to);

/// The address a socket is bound to (finds the port picked for port 0).
Result<SocketAddress> localAddress(int fd);
/// The connected peer's address.
Result<SocketAddress> peerAddress(int fd);
/// Sets or clears O_NONBLOCK.
Status setNonBlocking(int fd, bool on = true);

} // namespace voice
