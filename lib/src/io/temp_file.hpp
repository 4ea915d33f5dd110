// Helpers for writing files atomically: create a temporary file beside the
// destination, rename it over the destination when done.
#pragma once

#include <string>

namespace sibilant::io {

/// Checks that the folder of `path` exists, then creates an empty temporary
/// file beside it (".NAME.XXXXXX.tmp") and returns its path. Throws Error
/// naming `path` and the cause.
std::string create_temp_beside(const std::string& path);

/// Renames `temp_path` to `path`. Throws Error naming `path` on failure.
void commit_temp(const std::string& temp_path, const std::string& path);

/// Removes `temp_path` if it exists; never throws.
void discard_temp(const std::string& temp_path) noexcept;

}  // namespace sibilant::io
