// The sweep's stages, one file each (all behind sibilant/sweep.hpp):
//   profiles.cpp  the profiles file: parsing, settings as results.csv and
//                 sweep.json write them
//   grid.cpp      grid expansion
//   plan.cpp      the corpus listing, seeds, shards, sweep.json (what runs)
//   jobs.cpp      running the jobs: each file read once, each set of encoder
//                 settings encoded once per file, decoded per loss pattern
//   resume.cpp    the output folder: lock, lines already done, sorting
//   outputs.cpp   row and event formats, append-only files, kept audio
//   merge.cpp     merge_sweeps
//   sweep.cpp     run_sweep: the stages in order
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/sweep.hpp"

namespace sibilant::sweep_internal {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

inline constexpr const char* kSweepJson = "sweep.json";
inline constexpr const char* kResultsCsv = "results.csv";
inline constexpr const char* kEventsJsonl = "events.jsonl";

// ---------------------------------------------------------------- outputs.cpp: text

std::string format(const char* fmt, double value);
/// Shortest text that reads back as the same double ("20", "2.5").
std::string number_text(double value);
const char* bool_text(bool value);
/// Rows must stay one line each (resume reads them line by line).
std::string one_line(std::string text);
/// JSON text of a string that need not be UTF-8 (file names): bad bytes are
/// replaced rather than failing the record.
std::string json_string(const std::string& text);
bool has_control_char(const std::string& text);

// ---------------------------------------------------------------- profiles.cpp

bool is_setting_key(const std::string& key);
std::string setting_keys_text();

struct ProfileParser {
    std::string source;
    std::string base_dir;

    /// Applies one setting. Errors say what is wrong with the value; the
    /// caller adds the file, profile and key.
    void apply(SweepProfile& p, const std::string& key, const ordered_json& value) const;
    void apply_all(SweepProfile& p, const ordered_json& object, const std::string& where,
                   const std::set<std::string>& skip = {}) const;
};

/// The value of a setting as results.csv writes it (grid profile names use it).
std::string setting_text(const SweepProfile& p, const std::string& key);
ordered_json settings_json(const SweepProfile& p);
/// results.csv columns bitrate_bps .. loss_percent of a profile.
std::string settings_csv(const SweepProfile& p);
void check_name(const std::string& name, const std::string& where);

// ---------------------------------------------------------------- grid.cpp

/// Appends the profiles of grid number `index` (0-based) to `out`.
void expand_grid(const ProfileParser& parser, const ordered_json& grid, std::size_t index,
                 std::vector<SweepProfile>& out);

// ---------------------------------------------------------------- plan.cpp

ordered_json sweep_json(const std::string& corpus, std::uint64_t seed, const std::vector<std::string>& files,
                        const std::vector<SweepProfile>& profiles, const std::optional<SweepShard>& shard);
std::string sweep_json_text(const ordered_json& j);
ordered_json read_sweep_json(const fs::path& path);
/// What differs between two sweep descriptions, key by key ("" when equal).
/// `skip` is left out of the comparison.
std::string describe_difference(const ordered_json& now, const ordered_json& before, const std::string& skip = "");

/// The jobs of a sweep, from its description.
struct Plan {
    std::vector<std::string> files;
    std::vector<std::string> profiles;
    std::size_t jobs() const { return files.size() * profiles.size(); }
    const std::string& file_of(std::size_t job) const { return files[job / profiles.size()]; }
    const std::string& profile_of(std::size_t job) const { return profiles[job % profiles.size()]; }
};
Plan plan_of(const ordered_json& sweep);
bool in_shard(std::size_t job, const std::optional<SweepShard>& shard);

// ---------------------------------------------------------------- resume.cpp

/// Where one complete line of results.csv or events.jsonl sits in its file.
struct LineRef {
    std::size_t source = 0;      ///< index into the list of files read
    std::streamoff offset = 0;
    std::size_t length = 0;      ///< including the '\n'
    bool ok = false;             ///< results.csv: status ok
};

/// The complete lines of one output folder, by job. Incomplete lines (no line
/// end, unparsable, not a job of the plan) are counted and left out.
struct IndexedLines {
    std::map<std::size_t, LineRef> rows;    ///< results.csv
    std::map<std::size_t, LineRef> events;  ///< events.jsonl
    std::size_t dropped = 0;
};

/// Reads results.csv and events.jsonl of `dir` (either may be missing) and
/// indexes their complete lines. `source_rows`/`source_events` identify the
/// files in the LineRefs.
void index_lines(const fs::path& dir, const Plan& plan, std::size_t source_rows, std::size_t source_events,
                 IndexedLines& out);
/// Writes `lines` (sorted by job, as std::map keeps them) to `path`, copying
/// each from its source file; atomically (temp + rename).
void write_sorted(const fs::path& path, const std::string& header, const std::vector<fs::path>& sources,
                  const std::map<std::size_t, LineRef>& lines);

/// Holds an exclusive lock on a folder while it lives, so that two sweeps
/// cannot write to the same output at once.
class FolderLock {
public:
    explicit FolderLock(const fs::path& dir);
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int fd_ = -1;
};

/// Opens the output folder of run_sweep: creates it if missing, locks it,
/// checks an earlier run's sweep.json against `description` (or writes it),
/// and rewrites results.csv and events.jsonl keeping only the jobs of this
/// shard already done. Returns those (rows = done jobs). If anything fails,
/// a folder it created is removed again.
IndexedLines open_output(const SweepOptions& options, const ordered_json& description, const Plan& plan,
                         std::unique_ptr<FolderLock>& lock);
/// At the end: both files sorted by job, as an uninterrupted run writes them.
/// Returns the number of status=error rows.
std::size_t finish_output(const fs::path& out_dir, const Plan& plan);

// ---------------------------------------------------------------- outputs.cpp

void write_text_file(const fs::path& path, const std::string& text);

/// An append-only output file. Each line goes out, newline included, in one
/// write() on an O_APPEND descriptor (nothing is buffered), so a process
/// killed at any moment leaves only whole lines behind.
class AppendFile {
public:
    explicit AppendFile(const fs::path& path);
    ~AppendFile();
    AppendFile(const AppendFile&) = delete;
    AppendFile& operator=(const AppendFile&) = delete;
    void write_line(const std::string& line);

private:
    fs::path path_;
    int fd_ = -1;
    std::string buffer_;
};

std::string ok_row(std::size_t job, const std::string& file, const SweepProfile& profile, std::uint64_t seed,
                   const ChannelStats& channel, const AudioInfo& info, const AnalysisResult& r);
std::string error_row(std::size_t job, const std::string& file, const SweepProfile& profile, std::uint64_t seed,
                      const std::string& error);
std::string events_line(std::size_t job, const std::string& file, const SweepProfile& profile, std::uint64_t seed,
                        const AnalysisResult& r);
/// File name of kept audio: characters outside [A-Za-z0-9._=+-] become '_'.
std::string audio_name(const std::string& file, const std::string& profile);
bool is_inside(const fs::path& inner, const fs::path& outer);
/// Creates `dir` (and its parents) if missing; returns whether it did.
bool make_folder(const fs::path& dir, const char* role);

// ---------------------------------------------------------------- jobs.cpp

/// What the job stage needs to know of the sweep.
struct JobsContext {
    const std::vector<SweepProfile>& profiles;
    const std::vector<std::string>& files;
    const SweepOptions& options;
    std::uint64_t base_seed = 1;
    /// Profiles with the same encoder settings share one encoding per file
    /// (false: every job runs run_opus_channel(), as before the sharing; the
    /// tests compare the two).
    bool share_encodes = true;
};

/// Runs the jobs `todo` (in job order), appending each one's lines to the
/// folder's files in job order, and adds the CPU times to `report`.
void run_jobs(const JobsContext& context, const std::vector<std::size_t>& todo, SweepReport& report);

/// run_sweep() with the encode sharing switchable (run_sweep: on).
SweepReport run_sweep_with(const SweepProfiles& profiles, const SweepOptions& options, bool share_encodes);

}  // namespace sibilant::sweep_internal
