// Shared by the fuzz targets: the input as a file (for the readers that take
// a path), and what a target does with the library's exceptions.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace sibilant::fuzz {

[[noreturn]] inline void fail(const char* target, const char* what) {
    std::fprintf(stderr, "%s: broken promise: %s\n", target, what);
    std::abort();
}

// The bytes as an anonymous in-memory file, opened by path as a user's file
// would be (/proc/self/fd/N): nothing is written to disk, nothing is left.
class MemoryFile {
public:
    MemoryFile(const std::uint8_t* data, std::size_t size) : fd_(memfd_create("sibilant-fuzz", 0)) {
        if (fd_ < 0) fail("fuzz", "memfd_create");
        for (std::size_t done = 0; done < size;) {
            const ssize_t n = write(fd_, data + done, size - done);
            if (n <= 0) fail("fuzz", "write to memfd");
            done += std::size_t(n);
        }
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~MemoryFile() { close(fd_); }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;
    const std::string& path() const { return path_; }

private:
    int fd_;
    std::string path_;
};

}  // namespace sibilant::fuzz
