// SPDX-License-Identifier: MIT
// Small-file I/O with O_NOFOLLOW, fstat checks, size limits and tmp+rename writes.
#include "config/secure_file.h"

#include "core/unique_fd.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace voice {

namespace {

std::string dirName(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

Status writeAll(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return Status::fromErrno(Errc::Io, errno, "write " + path);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

} // namespace

Result<std::string> readBoundedFile(const std::string& path, size_t maxBytes, FileAccess access) {
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK; // NONBLOCK: a FIFO must not hang us
    if (access == FileAccess::OwnerOnly) {
        flags |= O_NOFOLLOW;
    }
    UniqueFd fd(::open(path.c_str(), flags));
    if (!fd) {
        const int err = errno;
        if (err == ENOENT) {
            return Status::fromErrno(Errc::NotFound, err, path);
        }
        if (err == ELOOP) {
            return Status(Errc::Permission,
                          path + ": is a symbolic link (refused for a private file)");
        }
        return Status::fromErrno(err == EACCES ? Errc::Permission : Errc::Io, err, path);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) {
        return Status::fromErrno(Errc::Io, errno, "stat " + path);
    }
    if (!S_ISREG(st.st_mode)) {
        return Status(Errc::InvalidArgument, path + ": not a regular file");
    }
    if (access == FileAccess::OwnerOnly) {
        if (st.st_uid != ::geteuid()) {
            return Status(Errc::Permission, path + ": owned by uid " + std::to_string(st.st_uid) +
                                                ", expected " + std::to_string(::geteuid()));
        }
        if ((st.st_mode & 077) != 0) {
            char mode[8];
            std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
            return Status(Errc::Permission,
                          path + ": mode " + mode + " lets others read it; run chmod 600 on it");
        }
    }
    if (static_cast<unsigned long long>(st.st_size) > maxBytes) {
        return Status(Errc::InvalidArgument,
                      path + ": larger than the limit of " + std::to_string(maxBytes) + " bytes");
    }
    std::string data;
    data.resize(maxBytes + 1);
    size_t total = 0;
    // Read until EOF even if the size changed since fstat; stop past the limit.
    while (total < data.size()) {
        const ssize_t n = ::read(fd.get(), data.data() + total, data.size() - total);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return Status::fromErrno(Errc::Io, errno, "read " + path);
        }
        if (n == 0) {
            break;
        }
        total += static_cast<size_t>(n);
    }
    if (total > maxBytes) {
        return Status(Errc::InvalidArgument,
                      path + ": larger than the limit of " + std::to_string(maxBytes) + " bytes");
    }
    data.resize(total);
    return data;
}

Status writeFileAtomically(const std::string& path, std::string_view data, mode_t mode) {
    std::string tmp = path + ".tmp.XXXXXX";
    // mkstemp creates the file 0600 whatever the umask: secrets are never exposed.
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd) {
        return Status::fromErrno(errno == EACCES ? Errc::Permission : Errc::Io, errno,
                                 "create " + tmp);
    }
    auto fail = [&](Status s) {
        ::unlink(tmp.c_str());
        return s;
    };
    if (::fchmod(fd.get(), mode) != 0) {
        return fail(Status::fromErrno(Errc::Io, errno, "chmod " + tmp));
    }
    if (Status s = writeAll(fd.get(), data, tmp); !s) {
        return fail(s);
    }
    if (::fsync(fd.get()) != 0) {
        return fail(Status::fromErrno(Errc::Io, errno, "fsync " + tmp));
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail(Status::fromErrno(Errc::Io, errno, "rename to " + path));
    }
    // Make the rename itself durable.
    UniqueFd dir(::open(dirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) {
        ::fsync(dir.get());
    }
    return {};
}

Status ensurePrivateDirectory(const std::string& path) {
    if (path.empty()) {
        return Status(Errc::InvalidArgument, "empty directory path");
    }
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return Status::fromErrno(errno == EACCES ? Errc::Permission : Errc::Io, errno,
                                 "mkdir " + path);
    }
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
        return Status::fromErrno(Errc::Io, errno, "stat " + path);
    }
    if (!S_ISDIR(st.st_mode)) {
        return Status(Errc::InvalidArgument, path + ": not a directory");
    }
    if (st.st_uid != ::geteuid()) {
        return Status(Errc::Permission, path + ": directory owned by uid " +
                                            std::to_string(st.st_uid) + ", expected " +
                                            std::to_string(::geteuid()));
    }
    if ((st.st_mode & 022) != 0) {
        return Status(Errc::Permission, path + ": directory is writable by group or others");
    }
    return {};
}

} // namespace voice
