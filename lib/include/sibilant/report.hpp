// `sibilant report`: one self-contained HTML file (inline CSS, images as data
// URIs, no scripts, nothing fetched from the network) per analysis or sweep.
//
// Pair page: the summary figures; spectrograms of the reference and of the
// degraded mapped onto the reference's timeline (the analysis delay and gain
// removed), 0-20 kHz, dB on a shared viridis scale, every sibilant event
// marked and coloured by its verdict; and the event table with each `why`.
// A no-reference result gets the one spectrogram.
//
// Sweep page: lisp_index and smearing_index against bitrate, one line per
// loss group (profiles equal in everything but bitrate) with its bootstrap CI
// band; the per-profile table (mean [CI]); the knees; the paired comparisons.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "sibilant/analyze.hpp"
#include "sibilant/compare.hpp"

namespace sibilant {

/// Event colours: a flagged event is "lisp" or "smearing" by its larger
/// score, "dropout" when it dropped out; "clean" when not flagged;
/// "not-compared" when it had no aligned counterpart.
std::string event_verdict(const SibilantEventResult& event);

/// The pair page for `result` and the two signals it was made from (mono,
/// 48 kHz). reference_48k is empty for a no-reference result. The degraded is
/// shifted by result.alignment.delay_ms and scaled by -gain_db, so with a
/// piecewise delay map (a jitter-buffer step) the picture follows the
/// dominant segment's delay.
std::string pair_report_html(const AnalysisResult& result, std::span<const float> reference_48k,
                             std::span<const float> degraded_48k);

/// Analyses the files (analyze_files, or analyze_file_no_reference when
/// reference_path is empty) and writes the pair page to out_path, atomically
/// (OutputFile). Both files are streamed: memory stays bounded whatever their
/// length. Throws Error naming the input or output at fault.
void write_pair_report(const std::string& reference_path, const std::string& degraded_path,
                       const std::string& out_path, const AnalyzeOptions& options = {});

/// The sweep page for the statistics of `rows` (compare_profiles(rows)).
/// `title` names the sweep (e.g. its folder).
std::string sweep_report_html(const SweepStats& stats, const std::vector<SweepRow>& rows, const std::string& title);

/// Reads a sweep (its folder or results.csv), computes the statistics and
/// writes the sweep page to out_path, atomically. Throws Error naming the
/// input or output at fault.
void write_sweep_report(const std::string& sweep_csv_or_folder, const std::string& out_path,
                        const CompareOptions& options = {});

}  // namespace sibilant
