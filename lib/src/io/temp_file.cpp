#include "io/temp_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fcntl.h>
#include <unistd.h>

#include "sibilant/error.hpp"

namespace sibilant::io {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& cause) { throw Error(path + ": " + cause); }

std::string errno_text(int error_number) { return std::strerror(error_number); }

}  // namespace

TempFile create_temp_beside(const std::string& path) {
    const fs::path target(path);
    if (target.filename().empty()) fail(path, "is not a file name");
    fs::path folder = target.parent_path();
    if (folder.empty()) folder = ".";
    std::error_code ec;
    const fs::file_status folder_status = fs::status(folder, ec);
    if (!fs::exists(folder_status)) fail(path, "folder does not exist");
    if (!fs::is_directory(folder_status)) fail(path, "'" + folder.string() + "' is not a folder");
    if (fs::is_directory(fs::status(target, ec))) fail(path, "is a folder");

    static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::random_device seed;
    std::mt19937 rng(seed());
    std::uniform_int_distribution<std::size_t> pick(0, sizeof kLetters - 2);
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string suffix(6, 'x');
        for (char& c : suffix) c = kLetters[pick(rng)];
        // Built with append: GCC 12 warns falsely (-Wrestrict) on "." + std::string.
        std::string name = ".";
        name.append(target.filename().string()).append(".").append(suffix).append(".tmp");
        const fs::path candidate = folder / name;
        const int fd = ::open(candidate.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) return TempFile{candidate.string(), fd};
        if (errno != EEXIST)
            fail(path, "cannot create a file in folder '" + folder.string() + "': " + errno_text(errno));
    }
    fail(path, "cannot create a temporary file in folder '" + folder.string() + "'");
}

void commit_temp(TempFile& temp, const std::string& path) {
    // On disk before the rename, so a crash cannot leave a renamed but empty file.
    if (temp.fd >= 0) {
        const bool synced = ::fsync(temp.fd) == 0;
        const int sync_errno = errno;
        const bool closed = ::close(temp.fd) == 0;
        temp.fd = -1;
        if (!synced || !closed) {
            const int error_number = synced ? errno : sync_errno;
            discard_temp(temp);
            fail(path, "finishing the file failed: " + errno_text(error_number));
        }
    }
    if (::rename(temp.path.c_str(), path.c_str()) != 0) {
        const int error_number = errno;
        discard_temp(temp);
        fail(path, "cannot move the finished file into place: " + errno_text(error_number));
    }
    temp.path.clear();
}

void discard_temp(TempFile& temp) noexcept {
    if (temp.fd >= 0) ::close(temp.fd);
    temp.fd = -1;
    if (!temp.path.empty()) ::unlink(temp.path.c_str());
    temp.path.clear();
}

}  // namespace sibilant::io
