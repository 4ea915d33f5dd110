#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checks.hpp"
#include "commands.hpp"
#include "progress_bar.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/batch.hpp"
#include "sibilant/capture.hpp"
#include "sibilant/error.hpp"
#include "sibilant/output_file.hpp"

namespace sibilant::cli {

namespace {

struct AnalyzeArgs {
    // The positional files: REF DEG, DEG, or captures.
    std::vector<std::string> inputs;
    // Captures.
    std::vector<int> payload_types;
    std::string write_audio_dir;
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
    CLI::Option* channel;
    CLI::Option* alignment;
    CLI::Option* payload_type;
    CLI::Option* write_audio;
};

// A capture by its magic number, or by its name when the file cannot be read
// (so that a missing x.pcap is reported as a missing capture).
bool is_capture(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return is_capture_file(path) || ext == ".pcap" || ext == ".pcapng" || ext == ".cap";
}

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

    // The outputs are written as the events come, so that an hour-long pair
    // is analysed in the memory a short one takes. The JSON's events wait
    // beside the JSON file (on its disk, not in a small /tmp).
    const bool no_reference = args.degraded_path.empty();
    const bool text = args.json_path != "-" && args.csv_path != "-" && !args.summary_line && !args.quiet;
    AnalysisWriter::Outputs outputs{
        .json = json ? &json->stream() : args.json_path == "-" ? &std::cout : nullptr,
        .csv = csv ? &csv->stream() : args.csv_path == "-" ? &std::cout : nullptr,
        .text = text ? &std::cout : nullptr,
        .max_events = args.max_events,
        .spool_folder = json ? std::filesystem::absolute(args.json_path).parent_path().string() : std::string(),
    };
    // One file: no reference, the recording judged on its own.
    AnalysisWriter writer(outputs, no_reference ? std::string() : args.reference_path,
                          no_reference ? args.reference_path : args.degraded_path, no_reference);
    // A full disk under the JSON's events is the output's fault, not the
    // inputs': thrown past analyze_files(), whose "REF vs DEG:" would blame them.
    struct OutputFailed {
        std::string message;
    };
    const EventSink on_event = [&writer, &args](const SibilantEventResult& e) {
        try {
            writer.add(e);
        } catch (const Error& error) {
            throw OutputFailed{"--json " + args.json_path + ": " + error.what()};
        }
    };
    AnalysisResult result;
    try {
        result = no_reference ? analyze_file_no_reference(args.reference_path, args.options, on_event)
                              : analyze_files(args.reference_path, args.degraded_path, args.options, on_event);
    } catch (const OutputFailed& failed) {
        throw Error(failed.message);
    }
    // An alignment taken despite a doubt is said even when only JSON is written.
    if (!result.alignment.warning.empty())
        std::fprintf(stderr, "sibilant: warning: alignment: %s\n", result.alignment.warning.c_str());

    writer.finish(result);
    if (json) json->commit();
    if (csv) csv->commit();
    if (args.summary_line) std::cout << summary_tsv(result) << '\n';
}

// Runs jobs whose outputs are JSON Lines, in input order, to --jsonl or
// stdout; a failed job's record is error_record(index, message). `single`: a
// lone input whose failure is the command's error, with no output left.
void run_jsonl_jobs(const AnalyzeArgs& args, const std::vector<BatchJob>& jobs, const char* one, const char* many,
                    bool single,
                    const std::function<std::string(std::size_t, const std::string&)>& error_record,
                    const std::function<void(std::size_t)>& after_ok = {}) {
    std::optional<OutputFile> jsonl;
    if (!args.jsonl_path.empty() && args.jsonl_path != "-") jsonl.emplace(args.jsonl_path);
    std::ostream& out = jsonl ? jsonl->stream() : std::cout;

    const bool show_progress = !single && !args.quiet && isatty(STDERR_FILENO);
    ProgressBar bar(many);
    BatchOptions batch;
    batch.threads = args.jobs;
    batch.keep_outputs = false;  // lines are written as they come; only those waiting for an earlier pair stay
    if (show_progress) batch.on_progress = [&bar](const BatchProgress& p) { bar.draw(p); };
    batch.on_result = [&](std::size_t i, const BatchResult& r) {
        if (single && !r.ok) return;  // thrown below, before anything is written
        bar.clear();
        if (!r.ok) std::fprintf(stderr, "sibilant: %s %zu failed: %s\n", one, i + 1, r.error.c_str());
        if (r.ok && after_ok) after_ok(i);
        out << (r.ok ? r.output : error_record(i, r.error)) << '\n';
        if (!jsonl) out.flush();  // a reader of the pipe sees each result as soon as it is in order
        bar.redraw();
    };
    const std::vector<BatchResult> results = run_batch(jobs, batch);

    if (single && !results.front().ok) throw Error(results.front().error);
    if (jsonl) jsonl->commit();
    std::size_t failed = 0;
    for (const BatchResult& r : results) failed += r.ok ? 0 : 1;
    if (failed > 0)
        throw Error(std::to_string(failed) + " of " + std::to_string(results.size()) + " " + many + " failed");
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

    std::vector<BatchJob> jobs;
    jobs.reserve(pairs.size());
    for (const FilePair& pair : pairs) {
        jobs.emplace_back([&pair, &options = args.options]() -> std::string {
            if (!pair.problem.empty()) throw Error(pair.problem);
            return to_json(analyze_files(pair.reference, pair.degraded, options), /*pretty=*/false);
        });
    }
    run_jsonl_jobs(args, jobs, "pair", "pairs", /*single=*/false,
                   [&pairs](std::size_t i, const std::string& error) { return pair_error_json(pairs[i], error); });
}

// Captures: every RTP/Opus stream of each, one JSON line (or summary line)
// per stream; one capture at a time per job.
void run_captures(const AnalyzeArgs& args) {
    CaptureOptions options;
    options.payload_types = args.payload_types;
    options.analysis = args.options;
    options.write_audio_dir = args.write_audio_dir;
    validate(options);
    if (!args.write_audio_dir.empty()) {
        // The audio files are named by the captures' stems.
        std::set<std::string> stems;
        for (const std::string& input : args.inputs)
            if (!stems.insert(std::filesystem::path(input).stem().string()).second)
                throw CLI::ValidationError("--write-audio: two captures named " +
                                           std::filesystem::path(input).stem().string() +
                                           " would write the same audio files");
    }

    std::vector<std::string> notes(args.inputs.size()), warnings(args.inputs.size());
    std::vector<BatchJob> jobs;
    for (std::size_t i = 0; i < args.inputs.size(); ++i) {
        jobs.emplace_back([&, i]() -> std::string {
            const std::string& input = args.inputs[i];
            if (!is_capture(input))
                throw Error(input + ": not a pcap or pcapng capture (captures and audio files cannot be mixed)");
            const CaptureAnalysis analysis = analyze_capture(input, options);
            notes[i] = describe_capture(analysis);
            if (analysis.streams.empty()) throw Error(notes[i]);
            if (analysis.read.stopped_early) warnings[i] = analysis.read.stop_reason;
            std::string lines;
            for (const CaptureStream& stream : analysis.streams) {
                if (!lines.empty()) lines += '\n';
                lines += args.summary_line ? summary_tsv(stream.result) : to_json(analysis, stream);
            }
            return lines;
        });
    }
    auto note = [&](std::size_t i) {
        if (!warnings[i].empty())
            std::fprintf(stderr, "sibilant: warning: %s; the frames before it were analysed\n", warnings[i].c_str());
        if (!args.quiet) std::fprintf(stderr, "sibilant: %s\n", notes[i].c_str());
    };
    run_jsonl_jobs(
        args, jobs, "capture", "captures", args.inputs.size() == 1,
        [&args](std::size_t i, const std::string& error) { return capture_error_json(args.inputs[i], error); }, note);
}

void run_analyze(AnalyzeArgs args, const GivenFlags& given) {
    const bool captures = std::any_of(args.inputs.begin(), args.inputs.end(), is_capture);
    if (captures) {
        if (!args.pairs_path.empty() || !args.reference_dir.empty() || !args.degraded_dir.empty())
            throw CLI::ValidationError("give either captures or --pairs / --ref-dir and --deg-dir");
        if (given.json->count() || given.csv->count() || given.max_events->count())
            throw CLI::ValidationError(
                "captures write JSON Lines, one line per stream (stdout or --jsonl FILE), or --summary-line");
        if (given.channel->count() || given.alignment->count())
            throw CLI::ValidationError("--channel and --alignment are for audio files, not captures");
        if (given.summary_line->count() && given.jsonl->count())
            throw CLI::ValidationError("--summary-line prints to stdout; --jsonl writes JSON: choose one");
        run_captures(args);
        return;
    }
    if (given.payload_type->count() || given.write_audio->count())
        throw CLI::ValidationError("--payload-type and --write-audio are for captures (pcap, pcapng)");
    if (args.inputs.size() > 2)
        throw CLI::ValidationError("more than two files: only captures (pcap, pcapng) can be given many at once");
    if (!args.inputs.empty()) args.reference_path = args.inputs[0];
    if (args.inputs.size() == 2) args.degraded_path = args.inputs[1];
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
        "norms). Many pairs, in parallel: --pairs LIST.csv or --ref-dir A --deg-dir B.\n"
        "Packet captures: sibilant analyze CAPTURE.pcap... (every RTP/Opus stream, each without a reference).");
    cmd->add_option("FILES", args->inputs,
                    "REF DEG: the reference (original) recording and the degraded (processed) one; any format\n"
                    "libsndfile reads, 8-192 kHz; the degraded may differ in rate, length, delay (up to 1 s) and\n"
                    "gain. DEG alone: the recording to judge without a reference. CAPTURE...: pcap or pcapng files\n"
                    "(told by their first bytes, or by a .pcap, .pcapng or .cap name), one or more");
    auto* payload_type =
        cmd->add_option("--payload-type", args->payload_types,
                        "Captures: RTP payload types that carry Opus, repeatable or comma-separated (0-127);\n"
                        "default: find them (dynamic types 96-127 whose packets parse as Opus and whose\n"
                        "timestamps step by the packets' durations)")
            ->delimiter(',')
            ->check(CLI::Range(0, 127));
    auto* write_audio = cmd->add_option(
        "--write-audio", args->write_audio_dir,
        "Captures: write each stream's decoded audio (with concealment, as heard) to\n"
        "DIR/<capture name>-ssrc-<hex>.wav, 48 kHz mono 16-bit; DIR must exist");
    auto* alignment = cmd->add_option("--alignment", args->alignment,
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
                           ->check(whole_number_from(0))
                           ->capture_default_str();

    cmd->add_option("--lisp-threshold", args->options.lisp_flag_threshold,
                    "Flag an event whose lisp score (0..100) reaches this")
        ->check(number_in(0.0, 100.0))
        ->capture_default_str();
    cmd->add_option("--smearing-threshold", args->options.smearing_flag_threshold,
                    "Flag an event whose smearing score (0..100) reaches this")
        ->check(number_in(0.0, 100.0))
        ->capture_default_str();
    auto* channel = cmd->add_option("--channel", args->channel,
                    "Use only this channel of both files (1-based); default mixes all down")
        ->check(whole_number_from(1));

    cmd->add_option("--pairs", args->pairs_path,
                    "Batch: CSV with a header row reference,degraded and one pair per line;\n"
                    "relative paths are relative to the CSV's folder");
    cmd->add_option("--ref-dir", args->reference_dir,
                    "Batch: folder of reference recordings, paired with --deg-dir by file name\n"
                    "(audio files only, by extension; not recursive). A reference without a namesake\n"
                    "gets an error record; degraded files without one are skipped with a note");
    cmd->add_option("--deg-dir", args->degraded_dir, "Batch: folder of degraded recordings");
    auto* jsonl = cmd->add_option("--jsonl", args->jsonl_path,
                                  "Batch and captures: write JSON Lines here, one object per pair (per stream) in input order\n"
                                  "(default or '-': stdout); a failed pair is {\"reference\",\"degraded\",\"error\"}");
    auto* jobs = cmd->add_option("-j,--jobs", args->jobs, "Batch: pairs (or captures) analysed in parallel; 0 = all cores")
                     ->capture_default_str();
    cmd->add_flag("-q,--quiet", args->quiet, "No text summary (one pair), no progress bar (batch)");

    const GivenFlags given{json, csv, summary_line, max_events, jsonl, jobs, channel, alignment, payload_type, write_audio};
    cmd->callback([args, given] { run_analyze(*args, given); });
    cmd->footer(
        "Exit code: 0 on success; 1 on an error (one line on stderr naming the input and the cause), or when\n"
        "some pairs of a batch failed (their records say why; the last stderr line says how many), or when a\n"
        "capture holds no RTP/Opus stream (the message says what it held).\n"
        "A batch shows a progress bar (done/total, rate, ETA) when stderr is a terminal.\n"
        "Outputs appear only when complete: a failed run leaves no partial file.");
}

}  // namespace sibilant::cli
