#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checks.hpp"
#include "commands.hpp"
#include "sibilant/compare.hpp"
#include "sibilant/error.hpp"
#include "sibilant/output_file.hpp"

namespace sibilant::cli {

namespace {

struct CompareArgs {
    std::string results_path;
    std::string json_path;
    std::vector<std::string> pairs;  // "all", "none" or "A,B"
    CompareOptions options;
};

// Splits "A,B" into two profile names. Grid profile names hold commas
// themselves ("ladder/bitrate_bps=6000,loss=none"), so try every comma and
// keep the split where both sides are profiles of the results.
std::pair<std::string, std::string> split_pair(const std::string& text, const std::vector<std::string>& profiles) {
    const auto known = [&](const std::string& name) {
        return std::find(profiles.begin(), profiles.end(), name) != profiles.end();
    };
    std::vector<std::pair<std::string, std::string>> fits;
    for (std::size_t comma = text.find(','); comma != std::string::npos; comma = text.find(',', comma + 1)) {
        std::pair<std::string, std::string> split{text.substr(0, comma), text.substr(comma + 1)};
        if (known(split.first) && known(split.second)) fits.push_back(std::move(split));
    }
    if (fits.size() == 1) return fits[0];
    if (fits.size() > 1) throw Error("--pairs '" + text + "': more than one way to read it as two profile names");
    if (text.find(',') == std::string::npos)
        throw CLI::ValidationError("--pairs", "expected all, none or A,B (two profile names), not '" + text + "'");
    std::string list;
    for (const std::string& p : profiles) list += (list.empty() ? "" : ", ") + p;
    throw Error("--pairs '" + text + "': not two profile names of the results (profiles: " + list + ")");
}

void run_compare(CompareArgs args) {
    // Opened first so that a bad output path fails before the work.
    std::optional<OutputFile> json;
    if (!args.json_path.empty() && args.json_path != "-") json.emplace(args.json_path);

    const std::vector<SweepRow> rows = read_sweep_results(args.results_path);
    std::vector<std::string> profiles;
    for (const SweepRow& row : rows)
        if (std::find(profiles.begin(), profiles.end(), row.profile) == profiles.end()) profiles.push_back(row.profile);
    for (const std::string& p : args.pairs) {
        if (p == "all") args.options.pair_selection = PairSelection::All;
        else if (p == "none") args.options.pair_selection = PairSelection::None;
        else args.options.extra_pairs.push_back(split_pair(p, profiles));
    }
    const SweepStats stats = compare_profiles(rows, args.options);

    if (json) {
        json->stream() << to_json(stats) << '\n';
        json->commit();
    }
    if (args.json_path == "-") std::cout << to_json(stats) << '\n';
    else std::cout << to_text(stats);
}

}  // namespace

void add_compare_command(CLI::App& app) {
    auto args = std::make_shared<CompareArgs>();
    CLI::App* cmd = app.add_subcommand(
        "compare",
        "Statistics over a sweep: per profile, the mean lisp_index and smearing_index over files with\n"
        "bootstrap confidence intervals; paired comparisons between profiles over the files both have;\n"
        "and per loss group (profiles equal in all but bitrate) the lowest bitrate whose mean lisp_index\n"
        "is under --threshold (the knee).");
    cmd->add_option("RESULTS", args->results_path, "A sweep's output folder, or its results.csv")->required();
    cmd->add_option("--threshold", args->options.knee_lisp_threshold,
                    "Knee: the lisp_index (0..100 points) a bitrate's mean must stay under")
        ->check(number_in(0.0, 100.0))
        ->capture_default_str();
    cmd->add_option("--bootstrap", args->options.bootstrap_resamples,
                    "Bootstrap resamples B per interval (1..10000000; 1000 or more for 95% tails)")
        ->check(CLI::Range(1, 10'000'000))
        ->capture_default_str();
    cmd->add_option("--seed", args->options.seed, "Seed of the bootstrap's random numbers")
        ->check(whole_number_from(0))
        ->capture_default_str();
    cmd->add_option("--confidence", args->options.confidence, "Confidence level of the intervals, between 0 and 1")
        ->check([](const std::string& text) -> std::string {
            try {
                const double c = std::stod(text);
                if (c > 0.0 && c < 1.0) return "";
            } catch (const std::exception&) {
            }
            return "must be a number between 0 and 1 (exclusive), e.g. 0.95";
        })
        ->capture_default_str();
    cmd->add_option("--json", args->json_path, "Also write the statistics as JSON to this file ('-': stdout, no text)");
    cmd->add_option("--pairs", args->pairs,
                    "Which paired comparisons: all, none, or A,B (profile A against B; repeatable, added to\n"
                    "the default). Default: all pairs when there are at most 12 profiles, otherwise each\n"
                    "profile against the next higher bitrate of its loss group")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->callback([args] { run_compare(*args); });
    cmd->footer(
        "Statistics: files are the unit. Each interval is a percentile bootstrap: B resamples of the files\n"
        "with replacement, the mean of each, and the middle --confidence share of those means. A paired\n"
        "comparison resamples the per-file differences A - B over the files both profiles have.\n"
        "Deterministic: the same results and --seed give the same output on every platform.\n"
        "Exit code: 0 on success; 1 on an error (a missing or malformed RESULTS, an unknown profile in\n"
        "--pairs; one line on stderr naming it); 2 on a usage error.");
}

}  // namespace sibilant::cli
