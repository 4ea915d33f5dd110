// Sweeps: every profile (Opus settings + loss model) on every file of a
// corpus, simulated and analysed in memory, in parallel, resumable, and
// splittable into shards that merge into the same result.
//
// The output contract (shared with `sibilant compare` and `sibilant report`;
// the whole of it is in docs/issue5_contract.md):
//
// Output folder of `sibilant sweep --profiles FILE --corpus DIR --out DIR`:
//  1. `sweep.json`: what was run, `{"sibilant_version", "scoring_version",
//     "corpus" (the folder as given), "seed" (the base seed), "files" (paths
//     relative to the corpus, '/'-separated), "profiles" [{"name", "settings":
//     {every setting, fully expanded}}], "shard": "I/N" or null}`.
//  2. `results.csv`: one row per (file x profile), a header row, the columns
//     of kSweepCsvHeader in that order. `job` is the 0-based index in the
//     canonical order: files sorted by relative path (byte order), profiles
//     in the order of the profiles file after grid expansion (as written:
//     the "profiles" and "grids" blocks in the order they appear, each grid
//     expanded in place), job = file_index * n_profiles + profile_index.
//     `status` is ok or error; `error` the message (RFC 4180 quoting; never a
//     line break), empty when ok. On an error row the settings columns
//     (bitrate_bps .. loss_percent) are filled and the measured ones
//     (realised_loss_percent .. gain_db) are empty. Formats: indices, dB, ms
//     and percentages %.2f, Hz %.0f, seconds %.3f, frame_ms the shortest
//     text that reads back ("20", "2.5"), booleans true|false.
//  3. `events.jsonl`: one line per ok job, in job order: `{"job":N,"file":...,
//     "profile":...,"seed":S,"result":<to_json(AnalysisResult, false)>}`. In
//     the result, "reference" is the file's relative path and "degraded" is
//     empty (the decoded audio lives only in memory).
// Same inputs and seed give byte-identical files whatever -j, interruptions
// (resume) or sharding (merge) were.
//
// Profiles file (JSON):
//   {"seed": 1,
//    "profiles": [{"name": "16k-fec-5", "bitrate_bps": 16000, "fec": true,
//                  "expected_loss_percent": 5, "loss": "bernoulli:0.05"}, ...],
//    "grids": [{"name": "ladder", "base": {"complexity": 10},
//               "vary": {"bitrate_bps": [6000, 12000], "fec": [false, true]}}]}
// Settings keys, all optional, defaults and ranges as `sibilant simulate`:
//   bitrate_bps (integer, 6000..510000; default 24000), application ("voip",
//   "audio", "restricted-lowdelay"), complexity (integer 0..10), frame_ms
//   (2.5, 5, 10, 20, 40, 60), bandwidth (forced: "auto", "nb", "mb", "wb",
//   "swb", "fb"), max_bandwidth ("nb" .. "fb"; default "fb"), rate_control
//   ("vbr", "cvbr", "cbr"), signal ("auto", "voice", "music"), fec (bool),
//   expected_loss_percent (integer 0..100), dtx (bool), loss ("none",
//   "bernoulli:P", "ge:P,R[,LOSS_GOOD,LOSS_BAD]", "trace:FILE" with FILE
//   relative to the profiles file's folder).
// A grid expands to the cartesian product of its `vary` lists in the order the
// keys are written (last key fastest), on top of `base`; each profile is named
// `<grid name>/<key>=<value>,<key>=<value>...` with the values as results.csv
// writes them. Top-level keys: seed (unsigned integer, default 1), profiles,
// grids; at least one profile in all.
//
// Seeds: every job gets its own loss-model seed,
//   seed = splitmix64(splitmix64(base_seed XOR fnv1a64(file)) XOR fnv1a64(profile))
// (file: the relative path; profile: the name; splitmix64(x): one step of the
// generator from state x), so a job's losses depend only on the base seed,
// the file and the profile: not on -j, sharding, or the other files and
// profiles in the sweep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sibilant/batch.hpp"
#include "sibilant/loss.hpp"
#include "sibilant/opus_channel.hpp"

namespace sibilant {

/// The header row of results.csv (without the line end).
inline constexpr const char* kSweepCsvHeader =
    "job,file,profile,status,error,seed,bitrate_bps,application,complexity,frame_ms,bandwidth,max_bandwidth,"
    "rate_control,signal,fec,expected_loss_percent,dtx,loss,loss_percent,realised_loss_percent,duration_s,"
    "sibilants,compared,flagged,lisp_flagged,smearing_flagged,dropouts,lisp_index,smearing_index,"
    "degraded_bandwidth_hz,verdict,delay_ms,gain_db";

/// One named condition.
struct SweepProfile {
    std::string name;
    /// input_depth_bits is not a profile setting: as in `sibilant simulate`,
    /// it follows each file (16 for 16-bit sources, the opus_demo path; else 24).
    OpusSettings opus;
    LossModelConfig loss;
    /// Canonical loss text for results.csv: describe(loss) for none,
    /// bernoulli and ge; "trace:FILE" with FILE as the profiles file wrote it.
    std::string loss_spec = "none";
};

struct SweepProfiles {
    std::string source;          ///< The profiles file, for messages.
    std::uint64_t seed = 1;      ///< Base seed.
    std::vector<SweepProfile> profiles;  ///< In file order, grids expanded.
};

/// Parses a profiles file's text. `source` names it in messages; relative
/// trace files are taken relative to `base_dir`. Throws Error naming the
/// source, the profile (or grid) and the key: not JSON, an unknown key, a
/// value of the wrong type or out of range, an empty or duplicate profile
/// name, an empty vary list, no profile at all.
SweepProfiles parse_sweep_profiles(const std::string& json_text, const std::string& source,
                                   const std::string& base_dir = "");
/// Reads and parses a profiles file; throws Error as above, or naming the
/// file when it is missing or unreadable.
SweepProfiles read_sweep_profiles(const std::string& path);

/// The loss model's nominal long-run packet loss in percent: none 0, bernoulli
/// 100 P, Gilbert-Elliott its stationary loss, trace its share of 1s.
double nominal_loss_percent(const LossModelConfig& loss);

/// The loss-model seed of one job (formula above).
std::uint64_t sweep_job_seed(std::uint64_t base_seed, const std::string& file, const std::string& profile);

/// A deterministic slice of the jobs: those with job % count == index - 1.
struct SweepShard {
    int index = 1;  ///< 1..count
    int count = 1;  ///< >= 1
};
/// Parses "I/N" with 1 <= I <= N. Throws Error naming the text otherwise.
SweepShard parse_sweep_shard(const std::string& text);

/// The corpus's audio files (by extension, see is_audio_file_name), searched
/// recursively, hidden files and folders skipped, as '/'-separated paths
/// relative to `corpus_dir`, sorted by byte order. Throws Error when the
/// folder is missing, not a folder, or holds no audio file.
std::vector<std::string> list_sweep_corpus(const std::string& corpus_dir);

/// What on_job hears after a job's rows are written (in job order).
struct SweepJobDone {
    std::size_t job = 0;
    std::string file;
    std::string profile;
    bool ok = false;
    std::string error;  ///< The message when !ok.
};

struct SweepOptions {
    std::string corpus_dir;
    /// Created if missing (with its parents). A folder holding an earlier run
    /// of the same sweep resumes it; one holding another sweep is an Error.
    std::string out_dir;
    std::optional<std::uint64_t> seed;   ///< Overrides the profiles file's seed.
    std::optional<SweepShard> shard;     ///< Unset: every job ("shard": null).
    unsigned threads = 0;                ///< Jobs in parallel; 0 = all cores.
    /// Also write each decoded signal, 48 kHz mono in the input's sample
    /// format, to <out>/audio/<file>__<profile>.wav (file: the relative path
    /// without extension, '/' -> '_'; both with characters outside
    /// [A-Za-z0-9._=+-] replaced by '_').
    bool keep_audio = false;
    /// Called before the first job and after every job (jobs of this run only:
    /// total excludes jobs an earlier run finished). Never concurrently.
    std::function<void(const BatchProgress&)> on_progress;
    /// Called after each job's rows are written and flushed, in job order.
    /// Throwing from it stops the sweep: no further job starts, the exception
    /// propagates from run_sweep(), and what was written stays (resumable).
    std::function<void(const SweepJobDone&)> on_job;
};

struct SweepReport {
    std::size_t jobs = 0;          ///< Jobs of this sweep (of this shard, if any).
    std::size_t skipped = 0;       ///< Already done by an earlier run.
    std::size_t failed = 0;        ///< status=error rows in the finished results.
    double wall_s = 0;
    /// CPU seconds summed over this run's jobs, per stage: reading and
    /// resampling the files, the Opus channel (libopus encode + decode, loss,
    /// alignment of the output), and the analysis.
    double read_cpu_s = 0, simulate_cpu_s = 0, analyze_cpu_s = 0;
};

/// Runs the jobs not yet done and writes sweep.json, results.csv and
/// events.jsonl in out_dir (contract above).
///
/// Each corpus file is read once, resampled to 48 kHz and mixed down; each
/// profile runs the Opus channel and analyze() on it in memory. Profiles with
/// the same OpusSettings (differing only in loss) share one encode_opus() of
/// each file, and each decodes it with decode_opus() and its own loss model and
/// seed: the same samples as run_opus_channel(), so the same bytes. A job that
/// fails (unreadable file, not audio, too short, cannot be aligned) becomes a
/// status=error row and the others go on.
///
/// Resuming: each job appends its events.jsonl line and then its results.csv
/// row, both flushed; the row marks the job done. On start with an existing
/// sweep.json, it must match this sweep (profiles, files, seed, shard,
/// versions, corpus) or run_sweep throws an Error naming what differs. Both
/// files are then rewritten (atomically) keeping only complete lines of ok
/// jobs present in both; failed jobs run again. At the end both files are
/// rewritten sorted by job, byte-identical to an uninterrupted run.
///
/// Throws Error (before writing anything) for a bad corpus, an out folder that
/// cannot be created or written, or one another sweep is writing to (lock);
/// later, when a write fails (disk full). Failed jobs do not throw: see
/// SweepReport::failed.
SweepReport run_sweep(const SweepProfiles& profiles, const SweepOptions& options);

struct MergeReport {
    std::size_t jobs = 0;
    std::size_t failed = 0;  ///< status=error rows.
};

/// Combines the outputs of a sharded sweep into out_dir: sweep.json (with
/// "shard": null), results.csv and events.jsonl, byte-identical to the same
/// sweep run unsharded. Throws Error, writing nothing, when a folder is not a
/// sweep, the sweep.json files differ apart from "shard" (naming the key), a
/// job is missing (naming the first ones and that a shard did not finish) or
/// present twice (naming the job and both folders), or out_dir already holds
/// a sweep.json.
MergeReport merge_sweeps(const std::vector<std::string>& shard_dirs, const std::string& out_dir);

}  // namespace sibilant
