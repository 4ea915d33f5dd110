#include "sibilant/output_file.hpp"

#include <fstream>

#include "io/temp_file.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

struct OutputFile::Impl {
    std::string path;
    std::string temp_path;
    std::ofstream out;
};

OutputFile::OutputFile(const std::string& path) : impl_(std::make_unique<Impl>()) {
    impl_->path = path;
    impl_->temp_path = io::create_temp_beside(path);
    impl_->out.open(impl_->temp_path, std::ios::binary | std::ios::trunc);
    if (!impl_->out) {
        io::discard_temp(impl_->temp_path);
        throw Error(path + ": cannot open for writing");
    }
}

OutputFile::~OutputFile() {
    if (impl_ && !impl_->temp_path.empty()) {
        impl_->out.close();
        io::discard_temp(impl_->temp_path);
    }
}

OutputFile::OutputFile(OutputFile&&) noexcept = default;
OutputFile& OutputFile::operator=(OutputFile&&) noexcept = default;

std::ostream& OutputFile::stream() { return impl_->out; }

const std::string& OutputFile::path() const { return impl_->path; }

void OutputFile::commit() {
    impl_->out.flush();
    const bool ok = static_cast<bool>(impl_->out);
    impl_->out.close();
    if (!ok) throw Error(impl_->path + ": write failed (disk full?)");
    io::commit_temp(impl_->temp_path, impl_->path);
    impl_->temp_path.clear();
}

}  // namespace sibilant
