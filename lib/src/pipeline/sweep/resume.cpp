// The output folder across runs: its lock, the lines an earlier run left
// (complete ones of jobs done), and both files rewritten in job order.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <charconv>

#include "io/csv.hpp"
#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/error.hpp"
#include "sibilant/output_file.hpp"

namespace sibilant::sweep_internal {

namespace {

bool parse_job(const std::string& text, std::size_t& job) {
    const auto r = std::from_chars(text.data(), text.data() + text.size(), job);
    return !text.empty() && r.ec == std::errc() && r.ptr == text.data() + text.size();
}

// Keeps the rows that count as done: ok rows with their events line. Error
// rows are dropped so that failed jobs run again; events lines without a row
// are dropped (the row is the commit mark).
void keep_done(IndexedLines& lines) {
    for (auto it = lines.rows.begin(); it != lines.rows.end();) {
        if (it->second.ok && lines.events.count(it->first)) ++it;
        else it = lines.rows.erase(it);
    }
    for (auto it = lines.events.begin(); it != lines.events.end();) {
        if (lines.rows.count(it->first)) ++it;
        else it = lines.events.erase(it);
    }
}

// Removes the temporary files (".NAME.XXXXXX.tmp") that a run killed while
// writing left in the output folder and its audio folder. Only with the
// folder's lock held: no other sweep can be writing them.
void remove_stale_temps(const fs::path& out_dir) {
    for (const fs::path& dir : {out_dir, out_dir / "audio"}) {
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            const bool ours = name.rfind(std::string(".") + kResultsCsv + ".", 0) == 0 ||
                              name.rfind(std::string(".") + kEventsJsonl + ".", 0) == 0 ||
                              name.rfind(std::string(".") + kSweepJson + ".", 0) == 0 ||
                              (dir != out_dir && name.size() > 4 && name[0] == '.');
            // ".NAME." + 6 characters + ".tmp"
            if (ours && name.size() > 11 && name.compare(name.size() - 4, 4, ".tmp") == 0 &&
                name[name.size() - 11] == '.') {
                std::error_code ignored;
                fs::remove(it->path(), ignored);
            }
        }
    }
}

}  // namespace

void index_lines(const fs::path& dir, const Plan& plan, std::size_t source_rows, std::size_t source_events,
                 IndexedLines& out) {
    const fs::path csv_path = dir / kResultsCsv;
    if (std::ifstream in{csv_path, std::ios::binary}) {
        std::string line;
        std::streamoff offset = 0;
        bool header = true;
        while (std::getline(in, line)) {
            const bool complete = !in.eof();
            const std::size_t length = line.size() + (complete ? 1 : 0);
            const std::streamoff at = offset;
            offset += static_cast<std::streamoff>(length);
            if (header) {
                header = false;
                if (line != kSweepCsvHeader)
                    throw Error(csv_path.string() + ": unexpected header (not a sweep's results, or another version)");
                continue;
            }
            std::size_t job = 0;
            std::vector<std::string> fields;
            try {
                fields = split_csv_line(line, csv_path.string());
            } catch (const Error&) {
                fields.clear();
            }
            if (!complete || fields.size() < 4 || !parse_job(fields[0], job) || job >= plan.jobs() ||
                fields[1] != plan.file_of(job) || fields[2] != plan.profile_of(job) ||
                (fields[3] != "ok" && fields[3] != "error") || out.rows.count(job)) {
                ++out.dropped;
                continue;
            }
            out.rows[job] = LineRef{source_rows, at, length, fields[3] == "ok"};
        }
        if (in.bad()) throw Error(csv_path.string() + ": read error");
    }
    const fs::path events_path = dir / kEventsJsonl;
    if (std::ifstream in{events_path, std::ios::binary}) {
        std::string line;
        std::streamoff offset = 0;
        static const std::string kPrefix = "{\"job\":";
        while (std::getline(in, line)) {
            const bool complete = !in.eof();
            const std::size_t length = line.size() + (complete ? 1 : 0);
            const std::streamoff at = offset;
            offset += static_cast<std::streamoff>(length);
            std::size_t job = 0;
            const std::size_t comma = line.find(',');
            if (!complete || line.rfind(kPrefix, 0) != 0 || comma == std::string::npos ||
                !parse_job(line.substr(kPrefix.size(), comma - kPrefix.size()), job) || job >= plan.jobs() ||
                line.back() != '}' || out.events.count(job)) {
                ++out.dropped;
                continue;
            }
            out.events[job] = LineRef{source_events, at, length, true};
        }
        if (in.bad()) throw Error(events_path.string() + ": read error");
    }
}

void write_sorted(const fs::path& path, const std::string& header, const std::vector<fs::path>& sources,
                  const std::map<std::size_t, LineRef>& lines) {
    std::vector<std::unique_ptr<std::ifstream>> in;
    for (const fs::path& s : sources) in.push_back(std::make_unique<std::ifstream>(s, std::ios::binary));
    OutputFile out(path.string());
    out.stream() << header;
    std::string buffer;
    for (const auto& [job, ref] : lines) {
        std::ifstream& src = *in.at(ref.source);
        buffer.resize(ref.length);
        src.clear();
        src.seekg(ref.offset);
        if (!src.read(buffer.data(), static_cast<std::streamsize>(ref.length)))
            throw Error(sources[ref.source].string() + ": read error");
        out.stream() << buffer;
    }
    out.commit();
}

FolderLock::FolderLock(const fs::path& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) throw Error(dir.string() + ": cannot open folder");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd_);
        throw Error(dir.string() + ": another sweep is writing to this folder");
    }
}

FolderLock::~FolderLock() { ::close(fd_); }

IndexedLines open_output(const SweepOptions& options, const ordered_json& description, const Plan& plan,
                         std::unique_ptr<FolderLock>& lock) {
    const fs::path out_dir(options.out_dir);
    // Set up the folder; if that fails, leave nothing behind.
    const bool created = make_folder(out_dir, "output folder");
    IndexedLines done;
    try {
        lock = std::make_unique<FolderLock>(out_dir);
        remove_stale_temps(out_dir);
        const fs::path sweep_path = out_dir / kSweepJson;
        std::error_code ec;
        if (fs::exists(sweep_path, ec)) {
            const std::string difference = describe_difference(description, read_sweep_json(sweep_path));
            if (!difference.empty())
                throw Error(options.out_dir + " holds another sweep; it differs in " + difference +
                            ". Use a new --out (or remove that folder)");
        } else if (fs::exists(out_dir / kResultsCsv, ec) || fs::exists(out_dir / kEventsJsonl, ec)) {
            throw Error(options.out_dir + " holds results.csv or events.jsonl but no sweep.json; use a new --out");
        } else {
            write_text_file(sweep_path, sweep_json_text(description));
        }
        if (options.keep_audio) make_folder(out_dir / "audio", "audio folder");
        index_lines(out_dir, plan, 0, 1, done);
        keep_done(done);
        for (auto it = done.rows.begin(); it != done.rows.end();) {  // a row of another shard does not count
            if (in_shard(it->first, options.shard)) ++it;
            else it = done.rows.erase(it);
        }
        for (auto it = done.events.begin(); it != done.events.end();) {
            if (done.rows.count(it->first)) ++it;
            else it = done.events.erase(it);
        }
        const std::vector<fs::path> sources = {out_dir / kResultsCsv, out_dir / kEventsJsonl};
        write_sorted(sources[0], std::string(kSweepCsvHeader) + "\n", sources, done.rows);
        write_sorted(sources[1], "", sources, done.events);
    } catch (...) {
        lock.reset();
        std::error_code ec;
        if (created) fs::remove_all(out_dir, ec);
        throw;
    }
    return done;
}

std::size_t finish_output(const fs::path& out_dir, const Plan& plan) {
    IndexedLines final_lines;
    index_lines(out_dir, plan, 0, 1, final_lines);
    const std::vector<fs::path> sources = {out_dir / kResultsCsv, out_dir / kEventsJsonl};
    write_sorted(sources[0], std::string(kSweepCsvHeader) + "\n", sources, final_lines.rows);
    write_sorted(sources[1], "", sources, final_lines.events);
    std::size_t failed = 0;
    for (const auto& [job, ref] : final_lines.rows) failed += ref.ok ? 0 : 1;
    return failed;
}

}  // namespace sibilant::sweep_internal
