// SPDX-License-Identifier: MIT
// Error values for libvoice: a code to branch on and a detail text for people.
#pragma once

#include <string>
#include <string_view>

namespace voice {

/// What kind of failure happened. Callers branch on this, never on the text.
enum class Errc {
    Ok = 0,
    InvalidArgument, ///< a caller or outside input broke a documented limit
    Io,              ///< a system call failed (detail carries errno text)
    Alsa,            ///< an ALSA call failed (detail carries snd_strerror text)
    Crypto,          ///< an OpenSSL call failed (detail carries the error queue)
    Protocol,        ///< bytes from the network broke the wire format
    Auth,            ///< a signature, tag or key check failed
    NotFound,        ///< a file, device or peer does not exist
    Permission,      ///< a file has unsafe permissions or access was denied
    Timeout,         ///< a deadline passed
    Closed,          ///< the other end or the object was shut down
    Busy,            ///< the resource is in use (a call, a device)
    Unsupported,     ///< a format, codec or suite this build does not handle
    Internal,        ///< a bug in libvoice itself
};

/// A short, stable name for an error code ("invalid-argument", "io", ...).
std::string_view errcName(Errc code);

/// The outcome of an operation: success, or a code with a detail text.
///
/// Errors in lib/ are values, not exceptions. The detail is for logs and
/// users; it never contains key material or audio.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Errc code, std::string detail) : code_(code), detail_(std::move(detail)) {}

    static Status okStatus() { return {}; }
    /// Wraps an errno value: "what: strerror(err)".
    static Status fromErrno(Errc code, int err, std::string_view what);
    /// Wraps an ALSA error code: "what: snd_strerror(err)".
    static Status fromAlsa(int err, std::string_view what);
    /// Drains the calling thread's OpenSSL error queue into the detail text.
    static Status fromOpenSsl(std::string_view what);

    bool ok() const { return code_ == Errc::Ok; }
    explicit operator bool() const { return ok(); }
    Errc code() const { return code_; }
    const std::string& detail() const { return detail_; }
    /// "code: detail", for logs and error messages.
    std::string toString() const;

private:
    Errc code_ = Errc::Ok;
    std::string detail_;
};

} // namespace voice
