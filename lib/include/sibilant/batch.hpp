// Running many independent jobs in parallel, and listing the file pairs a
// batch analysis works on.
//
// run_batch() runs N jobs on J worker threads and hands back one result per
// job in input order, so the output is the same whatever J is. A job that
// throws becomes an error record with its message; the other jobs go on.
//
// Thread safety:
//   - Jobs run concurrently on worker threads: a job must not touch mutable
//     state that another job uses without its own locking. (The library's own
//     FFTW planning is serialised internally, so analyses may run side by side.)
//   - The callbacks (on_progress, on_result) are called one at a time, never
//     concurrently, from whichever thread finished a job. They may write to a
//     terminal or a file without locking but must not block for long: the
//     workers wait for them.
//   - run_batch() keeps no global state; several may run at once.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace sibilant {

/// One unit of work. Returns its output (for a batch analysis: one JSON line,
/// without the newline); throws (any std::exception) to fail.
using BatchJob = std::function<std::string()>;

struct BatchResult {
    bool ok = false;
    std::string output;    ///< The job's return value when ok.
    std::string error;     ///< The exception's message when not ok.
    double seconds = 0;    ///< Wall-clock time the job took.
};

struct BatchProgress {
    std::size_t done = 0;   ///< Jobs finished (succeeded or failed).
    std::size_t failed = 0; ///< Of those, how many failed.
    std::size_t total = 0;
    double elapsed_s = 0;   ///< Since run_batch() started.
};

struct BatchOptions {
    /// Worker threads; 0 means std::thread::hardware_concurrency() (at least
    /// 1). Never more threads than jobs. With 1 the jobs run on the calling
    /// thread.
    unsigned threads = 0;
    /// Called once before the first job (done = 0) and after every job.
    std::function<void(const BatchProgress&)> on_progress;
    /// Called once per job, in input order, as soon as the job and all jobs
    /// before it have finished: lets a caller stream output in order.
    std::function<void(std::size_t index, const BatchResult&)> on_result;
    /// false: a result's `output` is freed as soon as on_result has had it,
    /// and the results run_batch() returns carry `ok`, `error` and `seconds`
    /// only. A batch streamed through on_result then holds only the outputs
    /// waiting for an earlier job, not every output until the end.
    bool keep_outputs = true;
};

/// Runs every job and returns their results in input order. If a callback
/// throws, no further jobs are started, the running ones are waited for, and
/// the callback's exception is rethrown here.
std::vector<BatchResult> run_batch(const std::vector<BatchJob>& jobs, const BatchOptions& options = {});

/// The thread count run_batch() uses for `requested` threads (0 = all cores)
/// and `jobs` jobs.
unsigned batch_thread_count(unsigned requested, std::size_t jobs);

// --- File pairs for batch analysis -------------------------------------------

struct FilePair {
    std::string reference;
    std::string degraded;
    /// Non-empty when the pair cannot be analysed as listed (e.g. no degraded
    /// file of that name): the batch reports it as this pair's error.
    std::string problem;
};

/// Reads a CSV list of pairs. The first line is a header naming the columns
/// `reference` and `degraded` (in any order; other columns are ignored); each
/// further non-blank line is one pair. Fields may be double-quoted ("" inside
/// quotes is one quote). Relative paths are taken relative to the CSV's own
/// folder. Throws Error naming the file and the line for a missing header, a
/// short row, an empty path or an unterminated quote, and when it lists no pair.
std::vector<FilePair> read_pair_list(const std::string& csv_path);

struct DirectoryPairs {
    /// One pair per audio file in the reference folder, sorted by file name.
    /// A file without a namesake in the degraded folder keeps the pair, with
    /// `problem` set, so that it shows up as an error record.
    std::vector<FilePair> pairs;
    /// Audio files in the degraded folder without a namesake in the reference
    /// folder (sorted). Not an error: the caller may note them.
    std::vector<std::string> unmatched_degraded;
};

/// True for a file name (not a path) with one of the audio extensions below
/// (case-insensitive) that is not hidden (does not start with '.').
bool is_audio_file_name(const std::string& name);

/// Pairs the audio files of two folders by file name (not recursive). Audio
/// files are recognised by extension, case-insensitively: .wav .flac .ogg .oga
/// .opus .mp3 .aif .aiff .aifc .au .snd .caf .w64 .rf64; other files (logs,
/// reports) and hidden files are ignored. Throws Error if a folder does not
/// exist or the reference folder has no audio file.
DirectoryPairs match_pairs_by_name(const std::string& reference_dir, const std::string& degraded_dir);

/// The JSON Lines record of a pair that failed:
/// {"reference":...,"degraded":...,"error":...} on one line.
std::string pair_error_json(const FilePair& pair, const std::string& message);

}  // namespace sibilant
