#include "sibilant/output_file.hpp"

#include <fstream>

#include "io/temp_file.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

struct OutputFile::Impl {
    std::string path;
    io::TempFile temp;
    std::ofstream out;

    ~Impl() {
        out.close();
        io::discard_temp(temp);
    }
};

OutputFile::OutputFile(const std::string& path) : impl_(std::make_unique<Impl>()) {
    impl_->path = path;
    impl_->temp = io::create_temp_beside(path);
    impl_->out.open(impl_->temp.path, std::ios::binary | std::ios::trunc);
    if (!impl_->out) throw Error(path + ": cannot open for writing");
}

OutputFile::~OutputFile() = default;
OutputFile::OutputFile(OutputFile&&) noexcept = default;
OutputFile& OutputFile::operator=(OutputFile&&) noexcept = default;

std::ostream& OutputFile::stream() { return impl_->out; }

const std::string& OutputFile::path() const { return impl_->path; }

void OutputFile::commit() {
    impl_->out.flush();
    const bool ok = static_cast<bool>(impl_->out);
    impl_->out.close();
    if (!ok) throw Error(impl_->path + ": write failed (disk full?)");
    io::commit_temp(impl_->temp, impl_->path);
}

}  // namespace sibilant
