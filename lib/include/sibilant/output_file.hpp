// A text output file that appears only when complete.
//
// Writes go to a temporary file in the destination's folder; commit() renames
// it into place. If commit() is never reached (an error, an exception), the
// temporary file is removed and an existing destination is left untouched, so
// a failed run never leaves a half-written report behind.
#pragma once

#include <memory>
#include <ostream>
#include <string>

namespace sibilant {

class OutputFile {
public:
    /// Throws Error naming `path` if its folder does not exist or a file
    /// cannot be created there.
    explicit OutputFile(const std::string& path);
    ~OutputFile();
    OutputFile(OutputFile&&) noexcept;
    OutputFile& operator=(OutputFile&&) noexcept;

    std::ostream& stream();
    /// Flushes, closes and renames into place. Throws Error on failure.
    void commit();
    const std::string& path() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sibilant
