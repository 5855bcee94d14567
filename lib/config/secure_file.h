// SPDX-License-Identifier: MIT
// Bounded, permission-checked reading and atomic writing of small files (config, keys, pins).
#pragma once

#include "core/result.h"

#include <string>
#include <string_view>
#include <sys/types.h>

namespace voice {

/// What readBoundedFile() demands of a file before reading it.
enum class FileAccess {
    /// A regular file (symlinks to one are followed); any owner and mode.
    Shared,
    /// A regular file, not a symlink, owned by the effective user, with no
    /// group or other permission bits (0600 or 0400). For keys and secrets.
    OwnerOnly,
};

/// Reads a whole file of at most maxBytes. Errors: NotFound if missing,
/// Permission for unsafe ownership/mode, InvalidArgument if too large or
/// not a regular file, Io otherwise. Messages name the path.
Result<std::string> readBoundedFile(const std::string& path, size_t maxBytes,
                                    FileAccess access = FileAccess::Shared);

/// Writes data to path via a temporary file in the same directory, fsync
/// and rename, so readers see the old or the new file, never a torn one.
/// The file gets exactly `mode` (e.g. 0600) regardless of the umask.
Status writeFileAtomically(const std::string& path, std::string_view data, mode_t mode = 0600);

/// Creates directory path with mode 0700 if missing. An existing one must be
/// a directory owned by the effective user and not writable by group or
/// others (a state directory someone else can write to cannot hold keys).
Status ensurePrivateDirectory(const std::string& path);

} // namespace voice
