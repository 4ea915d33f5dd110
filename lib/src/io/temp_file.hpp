// Writing files atomically: create a temporary file beside the destination,
// rename it over the destination when done, remove it otherwise. Shared by the
// audio writer and the text outputs so that every output behaves the same.
#pragma once

#include <string>

namespace sibilant::io {

struct TempFile {
    std::string path;  ///< ".NAME.XXXXXX.tmp" in the destination's folder.
    int fd = -1;       ///< Open for reading and writing.
};

/// Checks that the folder of `path` exists and that `path` is not a folder,
/// then creates a new temporary file beside it. The file is created with mode
/// 0666 (not mkstemp's 0600) so that the umask gives it the permissions a
/// plainly created output would have. Throws Error naming `path` and the cause.
TempFile create_temp_beside(const std::string& path);

/// Flushes `temp.fd` to disk, closes it and renames the file to `path`. On
/// failure removes the temporary file and throws Error naming `path`.
void commit_temp(TempFile& temp, const std::string& path);

/// Closes the descriptor (if open) and removes the temporary file (if any);
/// never throws.
void discard_temp(TempFile& temp) noexcept;

}  // namespace sibilant::io
