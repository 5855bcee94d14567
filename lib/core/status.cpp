// SPDX-License-Identifier: MIT
// Status construction from errno, ALSA and OpenSSL error sources.
#include "core/status.h"

#include <alsa/asoundlib.h>
#include <cstring>
#include <openssl/err.h>

namespace voice {

std::string_view errcName(Errc code) {
    switch (code) {
    case Errc::Ok:
        return "ok";
    case Errc::InvalidArgument:
        return "invalid-argument";
    case Errc::Io:
        return "io";
    case Errc::Alsa:
        return "alsa";
    case Errc::Crypto:
        return "crypto";
    case Errc::Protocol:
        return "protocol";
    case Errc::Auth:
        return "auth";
    case Errc::NotFound:
        return "not-found";
    case Errc::Permission:
        return "permission";
    case Errc::Timeout:
        return "timeout";
    case Errc::Closed:
        return "closed";
    case Errc::Busy:
        return "busy";
    case Errc::Unsupported:
        return "unsupported";
    case Errc::Internal:
        return "internal";
    }
    return "unknown";
}

Status Status::fromErrno(Errc code, int err, std::string_view what) {
    char buf[128];
    // GNU strerror_r returns a pointer that may or may not be buf.
    const char* text = strerror_r(err, buf, sizeof(buf));
    std::string detail(what);
    detail += ": ";
    detail += text;
    return Status(code, std::move(detail));
}

Status Status::fromAlsa(int err, std::string_view what) {
    std::string detail(what);
    detail += ": ";
    detail += snd_strerror(err);
    return Status(Errc::Alsa, std::move(detail));
}

Status Status::fromOpenSsl(std::string_view what) {
    std::string detail(what);
    unsigned long err;
    bool first = true;
    while ((err = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(err, buf, sizeof(buf));
        detail += first ? ": " : "; ";
        detail += buf;
        first = false;
    }
    return Status(Errc::Crypto, std::move(detail));
}

std::string Status::toString() const {
    std::string text(errcName(code_));
    if (!detail_.empty()) {
        text += ": ";
        text += detail_;
    }
    return text;
}

} // namespace voice
