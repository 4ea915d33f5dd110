// Errors raised by sibilant's set-up and batch paths.
//
// Every message names the input it is about (a file path, a setting name, a
// packet index) and the cause, so that a command-line user can act on it
// without a debugger. Real-time paths (added later) report errors as values and
// never throw.
#pragma once

#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace sibilant {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Memory ran out where the library allocates without operator new (FFTW's
/// buffers). A std::bad_alloc, so that whatever handles allocation failure
/// (the C API's SIBILANT_ERR_OUT_OF_MEMORY) handles this too; what() names
/// what was being allocated.
class OutOfMemory : public std::bad_alloc {
public:
    explicit OutOfMemory(std::string what) : what_(std::move(what)) {}
    const char* what() const noexcept override { return what_.c_str(); }

private:
    std::string what_;
};

}  // namespace sibilant
