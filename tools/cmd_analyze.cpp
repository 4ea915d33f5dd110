#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/batch.hpp"
#include "sibilant/error.hpp"
#include "sibilant/output_file.hpp"

namespace sibilant::cli {

namespace {

struct AnalyzeArgs {
    // One pair.
    std::string reference_path;
    std::string degraded_path;
    std::string json_path;
    std::string csv_path;
    bool summary_line = false;
    int max_events = 5;
    // Many pairs.
    std::string pairs_path;
    std::string reference_dir;
    std::string degraded_dir;
    std::string jsonl_path;
    unsigned jobs = 0;  // 0: all cores
    // Both.
    AnalyzeOptions options;
    int channel = 0;  // 1-based; 0 mixes all channels down
    std::string alignment = "whole";
    bool quiet = false;
};

// Which flags the user gave, to check that they fit the mode.
struct GivenFlags {
    CLI::Option* json;
    CLI::Option* csv;
    CLI::Option* summary_line;
    CLI::Option* max_events;
    CLI::Option* jsonl;
    CLI::Option* jobs;
};

std::string summary_tsv(const AnalysisResult& r) {
    char numbers[256];
    std::snprintf(numbers, sizeof numbers, "%.1f\t%.1f\t%d\t%d\t%d\t%.0f\t", r.summary.lisp_index,
                  r.summary.smearing_index, r.summary.flagged, r.summary.sibilants, r.summary.dropouts,
                  r.degraded_bandwidth_hz);
    char alignment[64];
    std::snprintf(alignment, sizeof alignment, "\t%.2f\t%.2f\t", r.alignment.delay_ms, r.alignment.gain_db);
    return numbers + r.summary.verdict + alignment + r.reference + '\t' + r.degraded;
}

void run_single(const AnalyzeArgs& args) {
    int to_stdout = (args.json_path == "-") + (args.csv_path == "-") + args.summary_line;
    if (to_stdout > 1)
        throw CLI::ValidationError("only one of --json -, --csv - and --summary-line can write to stdout");

    // Opened before the analysis so that a bad output path fails at once; the
    // files appear only when complete.
    std::optional<OutputFile> json, csv;
    if (!args.json_path.empty() && args.json_path != "-") json.emplace(args.json_path);
    if (!args.csv_path.empty() && args.csv_path != "-") csv.emplace(args.csv_path);

    // One file: no reference, the recording judged on its own.
    const AnalysisResult result = args.degraded_path.empty()
                                      ? analyze_file_no_reference(args.reference_path, args.options)
                                      : analyze_files(args.reference_path, args.degraded_path, args.options);

    if (json) {
        json->stream() << to_json(result) << '\n';
        json->commit();
    }
    if (csv) {
        csv->stream() << to_csv(result);
        csv->commit();
    }
    if (args.json_path == "-") std::cout << to_json(result) << '\n';
    else if (args.csv_path == "-") std::cout << to_csv(result);
    else if (args.summary_line) std::cout << summary_tsv(result) << '\n';
    else if (!args.quiet) std::cout << to_text(result, args.max_events);
}

void run_batch_mode(const AnalyzeArgs& args) {
    std::vector<FilePair> pairs;
    if (!args.pairs_path.empty()) {
        pairs = read_pair_list(args.pairs_path);
    } else {
        DirectoryPairs matched = match_pairs_by_name(args.reference_dir, args.degraded_dir);
        pairs = std::move(matched.pairs);
        // Extra files in the degraded folder are not an error (it may hold
        // other runs' outputs), but the user should know they were skipped.
        const auto& extra = matched.unmatched_degraded;
        if (!extra.empty()) {
            std::string names;
            for (std::size_t i = 0; i < extra.size() && i < 5; ++i) names += (i ? ", " : "") + extra[i];
            if (extra.size() > 5) names += ", ...";
            std::fprintf(stderr, "sibilant: note: %zu file(s) in %s have no namesake in %s and were skipped: %s\n",
                         extra.size(), args.degraded_dir.c_str(), args.reference_dir.c_str(), names.c_str());
        }
    }

    std::optional<OutputFile> jsonl;
    if (!args.jsonl_path.empty() && args.jsonl_path != "-") jsonl.emplace(args.jsonl_path);
    std::ostream& out = jsonl ? jsonl->stream() : std::cout;

    std::vector<BatchJob> jobs;
    jobs.reserve(pairs.size());
    for (const FilePair& pair : pairs) {
        jobs.emplace_back([&pair, &options = args.options]() -> std::string {
            if (!pair.problem.empty()) throw Error(pair.problem);
            return to_json(analyze_files(pair.reference, pair.degraded, options), /*pretty=*/false);
        });
    }

    const bool show_progress = !args.quiet && isatty(STDERR_FILENO);
    ProgressBar bar("pairs");
    BatchOptions batch;
    batch.threads = args.jobs;
    if (show_progress) batch.on_progress = [&bar](const BatchProgress& p) { bar.draw(p); };
    batch.on_result = [&](std::size_t i, const BatchResult& r) {
        bar.clear();
        if (!r.ok) std::fprintf(stderr, "sibilant: pair %zu failed: %s\n", i + 1, r.error.c_str());
        out << (r.ok ? r.output : pair_error_json(pairs[i], r.error)) << '\n';
        if (!jsonl) out.flush();  // a reader of the pipe sees each pair as soon as it is in order
        bar.redraw();
    };
    const std::vector<BatchResult> results = run_batch(jobs, batch);

    if (jsonl) jsonl->commit();
    std::size_t failed = 0;
    for (const BatchResult& r : results) failed += r.ok ? 0 : 1;
    if (failed > 0) throw Error(std::to_string(failed) + " of " + std::to_string(results.size()) + " pairs failed");
}

void run_analyze(AnalyzeArgs args, const GivenFlags& given) {
    const bool one_pair = !args.reference_path.empty() || !args.degraded_path.empty();
    const bool by_list = !args.pairs_path.empty();
    const bool by_folder = !args.reference_dir.empty() || !args.degraded_dir.empty();
    if (one_pair + by_list + by_folder != 1)
        throw CLI::ValidationError("give one of: REF DEG, DEG (no reference), --pairs LIST.csv, or --ref-dir A --deg-dir B");
    if (by_folder && (args.reference_dir.empty() || args.degraded_dir.empty()))
        throw CLI::ValidationError("--ref-dir and --deg-dir go together");
    if (one_pair && (given.jsonl->count() || given.jobs->count()))
        throw CLI::ValidationError("--jsonl and -j are for batch runs (--pairs or --ref-dir/--deg-dir)");
    if (!one_pair && (given.json->count() || given.csv->count() || given.summary_line->count() ||
                      given.max_events->count()))
        throw CLI::ValidationError(
            "--json, --csv, --summary-line and --events are for one pair; batch runs write --jsonl");

    args.options.channel = args.channel - 1;
    args.options.alignment = args.alignment == "incremental" ? AlignmentMode::Incremental : AlignmentMode::WholeFile;
    if (one_pair) run_single(args);
    else run_batch_mode(args);
}

}  // namespace

void add_analyze_command(CLI::App& app) {
    auto args = std::make_shared<AnalyzeArgs>();
    CLI::App* cmd = app.add_subcommand(
        "analyze",
        "Find the sibilants of a reference recording, compare each with its counterpart in a processed\n"
        "(degraded) version, and say which were lisped, smeared or dropped, by how much and why.\n"
        "One pair: sibilant analyze REF DEG. No reference: sibilant analyze DEG (judged against clean-speech\n"
        "norms). Many pairs, in parallel: --pairs LIST.csv or --ref-dir A --deg-dir B.");
    cmd->add_option("REF", args->reference_path,
                    "Reference (original) recording: any format libsndfile reads, 8-192 kHz; alone, it is the\n"
                    "recording to judge without a reference");
    cmd->add_option("DEG", args->degraded_path,
                    "Degraded (processed) recording; may differ in rate, length, delay (up to 1 s) and gain");
    cmd->add_option("--alignment", args->alignment,
                    "whole (align on both whole files; default) or incremental (lock the first delay the\n"
                    "streaming aligner settles on, as the live probe does: the same results as a probe)")
        ->check(CLI::IsMember({"whole", "incremental"}));

    auto* json = cmd->add_option("--json", args->json_path,
                                 "Write the full result as one JSON object to this file ('-' for stdout)");
    auto* csv = cmd->add_option("--csv", args->csv_path,
                                "Write one CSV row per sibilant event, with a header row ('-' for stdout)");
    auto* summary_line = cmd->add_flag(
        "--summary-line", args->summary_line,
        "Print only one tab-separated line: lisp_index, smearing_index, flagged, sibilants, dropouts,\n"
        "degraded_bandwidth_hz, verdict, delay_ms, gain_db, reference, degraded");
    auto* max_events = cmd->add_option("--events", args->max_events,
                                       "How many events the text summary lists, worst first")
                           ->check(CLI::NonNegativeNumber)
                           ->capture_default_str();

    cmd->add_option("--lisp-threshold", args->options.lisp_flag_threshold,
                    "Flag an event whose lisp score (0..100) reaches this")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    cmd->add_option("--smearing-threshold", args->options.smearing_flag_threshold,
                    "Flag an event whose smearing score (0..100) reaches this")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    cmd->add_option("--channel", args->channel,
                    "Use only this channel of both files (1-based); default mixes all down")
        ->check(CLI::PositiveNumber);

    cmd->add_option("--pairs", args->pairs_path,
                    "Batch: CSV with a header row reference,degraded and one pair per line;\n"
                    "relative paths are relative to the CSV's folder");
    cmd->add_option("--ref-dir", args->reference_dir,
                    "Batch: folder of reference recordings, paired with --deg-dir by file name\n"
                    "(audio files only, by extension; not recursive). A reference without a namesake\n"
                    "gets an error record; degraded files without one are skipped with a note");
    cmd->add_option("--deg-dir", args->degraded_dir, "Batch: folder of degraded recordings");
    auto* jsonl = cmd->add_option("--jsonl", args->jsonl_path,
                                  "Batch: write JSON Lines here, one object per pair in input order\n"
                                  "(default or '-': stdout); a failed pair is {\"reference\",\"degraded\",\"error\"}");
    auto* jobs = cmd->add_option("-j,--jobs", args->jobs, "Batch: pairs analysed in parallel; 0 = all cores")
                     ->capture_default_str();
    cmd->add_flag("-q,--quiet", args->quiet, "No text summary (one pair), no progress bar (batch)");

    const GivenFlags given{json, csv, summary_line, max_events, jsonl, jobs};
    cmd->callback([args, given] { run_analyze(*args, given); });
    cmd->footer(
        "Exit code: 0 on success; 1 on an error (one line on stderr naming the input and the cause), or when\n"
        "some pairs of a batch failed (their records say why; the last stderr line says how many).\n"
        "A batch shows a progress bar (done/total, rate, ETA) when stderr is a terminal.\n"
        "Outputs appear only when complete: a failed run leaves no partial file.");
}

}  // namespace sibilant::cli
