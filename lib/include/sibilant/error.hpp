// Errors raised by sibilant's set-up and batch paths.
//
// Every message names the input it is about (a file path, a setting name, a
// packet index) and the cause, so that a command-line user can act on it
// without a debugger. Real-time paths (added later) report errors as values and
// never throw.
#pragma once

#include <stdexcept>
#include <string>

namespace sibilant {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace sibilant
