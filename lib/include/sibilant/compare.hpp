// Statistics over a sweep's results.csv: per-profile means with bootstrap
// confidence intervals, paired comparisons between profiles, and the "knee"
// bitrate of each loss group. The command `sibilant compare` prints them.
//
// Units: lisp_index and smearing_index are scores from 0 (clean) to 100
// (every sibilant lisped / smeared); differences between them are in the same
// points. Bitrates in bits per second, loss in percent of packets.
//
// The statistics, precisely:
//   - Unit of resampling: the file. A profile's sample is its files with
//     status ok and scores (one value per file). Left out and counted: rows
//     with status error (`failed`), and ok rows whose verdict is no-sibilants
//     or not-compared (`unscored`): the analyzer found no sibilant to score
//     there, and the 0 the CSV holds is a placeholder, not a measurement that
//     should pull the mean towards "clean". The mean is the plain mean over
//     the files of the sample.
//   - Confidence interval: percentile bootstrap. B resamples (default 2000);
//     each draws n files with replacement from the n files and takes their
//     mean; the interval is the (1 - c)/2 and (1 + c)/2 quantiles of the B
//     means (c = confidence, default 0.95), quantiles by linear interpolation
//     between order statistics (R's type 7). lisp_index and smearing_index
//     use the same resampled files.
//   - Randomness: splitmix64, seeded per statistic from the seed (default 1)
//     XOR a 64-bit FNV-1a hash of the profile name (of "A\0B" for a pair), so
//     a profile's interval does not change when other profiles are added or
//     reordered. A draw x picks file ((x >> 32) * n) >> 32: integer arithmetic
//     only, so results are the same on every platform and standard library
//     (the bias, under n / 2^32, is negligible).
//   - Small samples: with one file every resample is that file, so the
//     interval is the single value (zero width; it says nothing about
//     uncertainty). With no file, mean, low and high are NaN (null in JSON,
//     "-" in text) and n is 0.
//   - Paired comparison of A and B: over the files both have with scores,
//     the per-file differences A - B are resampled (files with replacement,
//     as above) for the CI of the mean difference. Negative lisp_difference
//     means A lisps less. share_a_lower_lisp is the share of those files where
//     A's lisp_index is strictly lower than B's; share_a_higher_lisp where it
//     is strictly higher; the rest are ties.
//   - Loss group: the profiles whose settings are equal in everything except
//     bitrate_bps (application, complexity, frame_ms, bandwidth, max_bandwidth,
//     rate_control, signal, fec, expected_loss_percent, dtx, loss). The knee of
//     a group is its lowest bitrate whose mean lisp_index is strictly under
//     the threshold (default 20); among profiles of the same group and bitrate
//     the first in profile order. ci_under says whether the upper CI bound is
//     under the threshold too. Profiles without ok files take no part.
//
// Profile order: the order in which profiles first appear in the rows (a
// sweep writes rows in job order, so: the order of the profiles file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sibilant {

/// One row of a sweep's results.csv (one file through one profile). Settings
/// columns: bitrate_bps .. loss; analysis columns: duration_s .. gain_db
/// (left at their defaults in rows with status "error").
struct SweepRow {
    std::size_t job = 0;
    std::string file, profile, status, error;  ///< status: "ok" or "error"
    std::uint64_t seed = 0;
    int bitrate_bps = 0;
    std::string application, bandwidth, max_bandwidth, rate_control, signal, loss;
    int complexity = 0;
    double frame_ms = 0;
    bool fec = false, dtx = false;
    int expected_loss_percent = 0;
    double loss_percent = 0, realised_loss_percent = 0, duration_s = 0;
    int sibilants = 0, compared = 0, flagged = 0, lisp_flagged = 0, smearing_flagged = 0, dropouts = 0;
    double lisp_index = 0, smearing_index = 0, degraded_bandwidth_hz = 0, delay_ms = 0, gain_db = 0;
    std::string verdict;
};

/// Reads a sweep's results: a results.csv, or a sweep folder holding one.
/// Columns are found by their header names, in any order; unknown columns are
/// ignored. Required: file, profile, status, bitrate_bps, lisp_index,
/// smearing_index; the other SweepRow columns are read when present. Fields
/// may be quoted (RFC 4180, line breaks inside quotes included). In rows with
/// status "error" empty fields are allowed; in "ok" rows every column read
/// except `error` must hold a value. Throws Error naming the file, the line
/// and the column (a missing file or column, a bad number or boolean, a status
/// other than ok/error, a row with too few fields, no data rows).
std::vector<SweepRow> read_sweep_results(const std::string& csv_or_folder);

/// A mean and its bootstrap confidence interval [low, high]; n: files used.
/// NaN mean/low/high when n is 0.
struct MeanCi {
    double mean = 0, low = 0, high = 0;
    int n = 0;
};

struct ProfileStats {
    std::string profile;
    SweepRow settings;  ///< The settings columns of the profile's first row.
    int files = 0;      ///< Rows with status ok and scores: the sample size.
    int failed = 0;     ///< Rows with status error (not in the statistics).
    int unscored = 0;   ///< Ok rows with verdict no-sibilants or not-compared (not in the statistics).
    std::string loss_group;  ///< The label of its loss group, as in Knee::group.
    MeanCi lisp, smearing;
};

struct PairedComparison {
    std::string a, b;
    int files = 0;  ///< Files with scores (see ProfileStats::files) in both profiles.
    MeanCi lisp_difference, smearing_difference;  ///< mean of A - B over those files, in points
    double share_a_lower_lisp = 0;                ///< 0..1; NaN when files is 0
    double share_a_higher_lisp = 0;               ///< 0..1; NaN when files is 0
};

struct Knee {
    std::string group;  ///< The settings that tell groups apart, e.g. "loss=bernoulli:0.05, fec=true";
                        ///< "all profiles" when there is one group.
    double loss_percent = 0;  ///< The group's nominal packet loss, percent.
    bool fec = false;
    int bitrate_bps = 0;      ///< 0: no bitrate under the threshold.
    double lisp_index = 0;    ///< Mean lisp_index at the knee; NaN when there is none.
    bool ci_under = false;    ///< The knee's upper CI bound is under the threshold too.
    std::string profile;      ///< The knee's profile; empty when there is none.
    int higher_bitrates_over = 0;  ///< Profiles of the group above the knee's bitrate whose mean is at or
                                   ///< over the threshold again (the curve is not monotonic).
};

/// Which pairs compare_profiles() compares, besides CompareOptions::extra_pairs.
enum class PairSelection {
    /// All pairs when there are at most 12 profiles; otherwise, within each
    /// loss group, each profile against the next higher bitrate.
    Automatic,
    All,   ///< Every pair (A before B in profile order).
    None,  ///< Only extra_pairs.
};

struct CompareOptions {
    int bootstrap_resamples = 2000;  ///< B, 1 .. 10,000,000
    std::uint64_t seed = 1;
    double confidence = 0.95;        ///< 0 < c < 1
    double knee_lisp_threshold = 20.0;  ///< lisp_index points, 0 .. 100
    PairSelection pair_selection = PairSelection::Automatic;
    /// Pairs (A, B) compared in addition, after the selected ones (a pair
    /// already selected is not repeated). Unknown profile names are an Error.
    std::vector<std::pair<std::string, std::string>> extra_pairs;
};

struct SweepStats {
    std::vector<ProfileStats> profiles;  ///< In profile order.
    std::vector<PairedComparison> pairs;
    std::vector<Knee> knees;             ///< One per loss group, in profile order of first appearance.
    CompareOptions options;
};

/// The statistics described at the top of this file. Deterministic for given
/// rows and options. Throws Error for options out of range, an unknown name in
/// extra_pairs, or two rows for the same file and profile.
SweepStats compare_profiles(const std::vector<SweepRow>& rows, const CompareOptions& options = {});

/// A readable report: the per-profile table, the paired comparisons in words
/// ("A has a lower lisp_index than B by 3.1 [1.2, 5.0] points; lower in 17 of
/// 20 files") and the knees.
std::string to_text(const SweepStats& stats);

/// All of SweepStats as a JSON object (numbers rounded to 3 decimals, NaN as
/// null).
std::string to_json(const SweepStats& stats, bool pretty = true);

}  // namespace sibilant
