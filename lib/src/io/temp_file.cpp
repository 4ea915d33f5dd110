#include "io/temp_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "sibilant/error.hpp"

namespace sibilant::io {

namespace fs = std::filesystem;

std::string create_temp_beside(const std::string& path) {
    const fs::path target(path);
    if (target.filename().empty()) throw Error(path + ": not a file name");
    fs::path folder = target.parent_path();
    if (folder.empty()) folder = ".";
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw Error(path + ": folder '" + folder.string() + "' does not exist");
    if (fs::is_directory(target, ec)) throw Error(path + ": is a folder, not a file");
    std::string temp = (folder / ("." + target.filename().string() + ".XXXXXX.tmp")).string();
    const int fd = mkstemps(temp.data(), 4);
    if (fd < 0) throw Error(path + ": cannot create a file there (" + std::strerror(errno) + ")");
    ::close(fd);
    return temp;
}

void commit_temp(const std::string& temp_path, const std::string& path) {
    std::error_code ec;
    fs::rename(temp_path, path, ec);
    if (ec) {
        discard_temp(temp_path);
        throw Error(path + ": cannot move the finished file into place (" + ec.message() + ")");
    }
}

void discard_temp(const std::string& temp_path) noexcept {
    if (temp_path.empty()) return;
    std::error_code ec;
    fs::remove(temp_path, ec);
}

}  // namespace sibilant::io
