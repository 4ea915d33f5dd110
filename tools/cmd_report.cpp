#include <memory>
#include <string>

#include "checks.hpp"
#include "commands.hpp"
#include "sibilant/report.hpp"

namespace sibilant::cli {

namespace {

struct ReportArgs {
    std::string first_path;   // REF, or DEG alone (no reference)
    std::string second_path;  // DEG
    std::string sweep;
    std::string out_path;
    AnalyzeOptions options;
    int channel = 0;  // 1-based; 0 mixes all channels down
    CompareOptions compare;
};

void run_report(ReportArgs args, const CLI::Option* pair_only_flag_given, const CLI::Option* sweep_only_flag_given) {
    const bool pair = !args.first_path.empty();
    if (pair == !args.sweep.empty()) throw CLI::ValidationError("give REF DEG, DEG (no reference), or --sweep DIR");
    if (!pair && pair_only_flag_given) throw CLI::ValidationError(pair_only_flag_given->get_name() + " is for a pair report");
    // Refused rather than ignored: the user meant it to change something.
    if (pair && sweep_only_flag_given) throw CLI::ValidationError(sweep_only_flag_given->get_name() + " is for a sweep report");
    if (!pair) {
        write_sweep_report(args.sweep, args.out_path, args.compare);
        return;
    }
    args.options.channel = args.channel - 1;
    if (args.second_path.empty()) write_pair_report("", args.first_path, args.out_path, args.options);
    else write_pair_report(args.first_path, args.second_path, args.out_path, args.options);
}

}  // namespace

void add_report_command(CLI::App& app) {
    auto args = std::make_shared<ReportArgs>();
    CLI::App* cmd = app.add_subcommand(
        "report",
        "Write one self-contained HTML page (no network needed to view it).\n"
        "A pair (sibilant report REF DEG, or DEG alone without a reference): spectrograms of both, aligned,\n"
        "with every sibilant event marked by its verdict, and the event table with each reason.\n"
        "A sweep (sibilant report --sweep DIR): lisp and smearing vs bitrate per loss group with CI bands,\n"
        "the per-profile table, the knees and the paired comparisons.");
    cmd->add_option("REF", args->first_path, "Reference recording (alone: the recording to judge without one)");
    cmd->add_option("DEG", args->second_path, "Degraded recording");
    cmd->add_option("--sweep", args->sweep, "A sweep's output folder (or its results.csv)");
    cmd->add_option("-o,--out", args->out_path, "The HTML file to write")->required();
    auto* lisp = cmd->add_option("--lisp-threshold", args->options.lisp_flag_threshold,
                                 "Pair: flag an event whose lisp score (0..100) reaches this")
                     ->check(number_in(0.0, 100.0))
                     ->capture_default_str();
    auto* smearing = cmd->add_option("--smearing-threshold", args->options.smearing_flag_threshold,
                                     "Pair: flag an event whose smearing score (0..100) reaches this")
                         ->check(number_in(0.0, 100.0))
                         ->capture_default_str();
    auto* channel = cmd->add_option("--channel", args->channel, "Pair: use only this channel (1-based)")
                        ->check(whole_number_from(1));
    auto* threshold =
        cmd->add_option("--threshold", args->compare.knee_lisp_threshold,
                        "Sweep: the knee is the lowest bitrate whose mean lisp_index is under this (0..100)")
            ->check(number_in(0.0, 100.0))
            ->capture_default_str();
    cmd->callback([args, lisp, smearing, channel, threshold] {
        const CLI::Option* pair_only = nullptr;
        for (const CLI::Option* o : {lisp, smearing, channel})
            if (o->count()) pair_only = o;
        run_report(*args, pair_only, threshold->count() ? threshold : nullptr);
    });
    cmd->footer(
        "Exit code: 0 on success; 1 on an error (one line on stderr naming the input and the cause); 2 on a\n"
        "usage error. The page appears only when complete: a failed run leaves no partial file.");
}

}  // namespace sibilant::cli
