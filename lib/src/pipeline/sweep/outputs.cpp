// Output formats: results.csv rows, events.jsonl lines, append-only files,
// names of kept audio, and the text helpers the other stages share.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "io/csv.hpp"
#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/error.hpp"
#include "sibilant/output_file.hpp"

namespace sibilant::sweep_internal {

std::string format(const char* fmt, double value) {
    char text[64];
    std::snprintf(text, sizeof text, fmt, value);
    return text;
}

std::string number_text(double value) {
    char text[64];
    const auto result = std::to_chars(text, text + sizeof text, value);
    return std::string(text, result.ptr);
}

const char* bool_text(bool value) { return value ? "true" : "false"; }

std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}

std::string json_string(const std::string& text) {
    return ordered_json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool has_control_char(const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

void write_text_file(const fs::path& path, const std::string& text) {
    OutputFile out(path.string());
    out.stream() << text;
    out.commit();
}

AppendFile::AppendFile(const fs::path& path)
    : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666)) {
    if (fd_ < 0) throw Error(path.string() + ": cannot open for appending: " + std::strerror(errno));
}

AppendFile::~AppendFile() {
    if (fd_ >= 0) ::close(fd_);
}

void AppendFile::write_line(const std::string& line) {
    buffer_.assign(line).push_back('\n');
    const char* data = buffer_.data();
    std::size_t left = buffer_.size();
    while (left > 0) {  // more than one write() only after a signal or on a full disk
        const ssize_t n = ::write(fd_, data, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error(path_.string() + ": write failed: " + std::strerror(n < 0 ? errno : ENOSPC));
        data += n;
        left -= std::size_t(n);
    }
}

namespace {

std::string row_prefix(std::size_t job, const std::string& file, const SweepProfile& profile, bool ok,
                       const std::string& error, std::uint64_t seed) {
    return std::to_string(job) + ',' + csv_field(file) + ',' + csv_field(profile.name) + ',' + (ok ? "ok" : "error") +
           ',' + csv_field(one_line(error)) + ',' + std::to_string(seed) + ',' + settings_csv(profile);
}

}  // namespace

std::string ok_row(std::size_t job, const std::string& file, const SweepProfile& profile, std::uint64_t seed,
                   const ChannelStats& channel, const AudioInfo& info, const AnalysisResult& r) {
    const AnalysisSummary& s = r.summary;
    return row_prefix(job, file, profile, true, "", seed) + ',' + format("%.2f", 100.0 * channel.loss.loss_rate()) +
           ',' + format("%.3f", info.duration_s()) + ',' + std::to_string(s.sibilants) + ',' +
           std::to_string(s.compared) + ',' + std::to_string(s.flagged) + ',' + std::to_string(s.lisp_flagged) + ',' +
           std::to_string(s.smearing_flagged) + ',' + std::to_string(s.dropouts) + ',' + format("%.2f", s.lisp_index) +
           ',' + format("%.2f", s.smearing_index) + ',' + format("%.0f", r.degraded_bandwidth_hz) + ',' +
           csv_field(s.verdict) + ',' + format("%.2f", r.alignment.delay_ms) + ',' + format("%.2f", r.alignment.gain_db);
}

std::string error_row(std::size_t job, const std::string& file, const SweepProfile& profile, std::uint64_t seed,
                      const std::string& error) {
    // The measured columns, realised_loss_percent .. gain_db, stay empty.
    return row_prefix(job, file, profile, false, error, seed) + std::string(14, ',');
}

std::string events_line(std::size_t job, const std::string& file, const SweepProfile& profile, std::uint64_t seed,
                        const AnalysisResult& r) {
    return "{\"job\":" + std::to_string(job) + ",\"file\":" + json_string(file) + ",\"profile\":" +
           json_string(profile.name) + ",\"seed\":" + std::to_string(seed) + ",\"result\":" + to_json(r, false) + "}";
}

namespace {

// File names of kept audio: characters outside [A-Za-z0-9._=+-] become '_'.
std::string sanitised(const std::string& text) {
    std::string out = text;
    for (char& c : out) {
        const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '.' || c == '_' || c == '=' || c == '+' || c == '-';
        if (!keep) c = '_';
    }
    return out;
}

}  // namespace

std::string audio_name(const std::string& file, const std::string& profile) {
    const fs::path relative(file);
    const std::string stem = (relative.parent_path() / relative.stem()).generic_string();
    return sanitised(stem) + "__" + sanitised(profile) + ".wav";
}

bool is_inside(const fs::path& inner, const fs::path& outer) {
    std::error_code ec;
    const fs::path a = fs::weakly_canonical(fs::absolute(inner, ec), ec);
    const fs::path b = fs::weakly_canonical(fs::absolute(outer, ec), ec);
    auto ai = a.begin();
    for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
        if (bi->empty()) continue;  // a trailing '/'
        if (ai == a.end() || *ai != *bi) return false;
    }
    return true;
}

bool make_folder(const fs::path& dir, const char* role) {
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec)) throw Error(std::string(role) + " " + dir.string() + ": not a folder");
        return false;
    }
    fs::create_directories(dir, ec);
    if (ec) throw Error(std::string(role) + " " + dir.string() + ": cannot create the folder: " + ec.message());
    return true;
}

}  // namespace sibilant::sweep_internal
