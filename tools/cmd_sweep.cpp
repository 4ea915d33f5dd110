#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checks.hpp"
#include "commands.hpp"
#include "progress_bar.hpp"
#include "sibilant/error.hpp"
#include "sibilant/sweep.hpp"

namespace sibilant::cli {

namespace {

struct SweepArgs {
    std::string profiles_path;
    std::string corpus_dir;
    std::string out_dir;
    unsigned jobs = 0;  // 0: all cores
    std::string shard;
    std::optional<std::uint64_t> seed;
    bool keep_audio = false;
    bool quiet = false;
};

void run_sweep_command(const SweepArgs& args) {
    SweepOptions options;
    if (!args.shard.empty()) {
        try {
            options.shard = parse_sweep_shard(args.shard);
        } catch (const Error& e) {
            throw CLI::ValidationError("--shard", e.what());  // a usage error: exit 2
        }
    }
    const SweepProfiles profiles = read_sweep_profiles(args.profiles_path);
    options.corpus_dir = args.corpus_dir;
    options.out_dir = args.out_dir;
    options.seed = args.seed;
    options.threads = args.jobs;
    options.keep_audio = args.keep_audio;

    const bool show_progress = !args.quiet && isatty(STDERR_FILENO);
    ProgressBar bar("jobs");
    if (show_progress) options.on_progress = [&bar](const BatchProgress& p) { bar.draw(p); };
    options.on_job = [&](const SweepJobDone& job) {
        if (job.ok) return;
        bar.clear();
        std::fprintf(stderr, "sibilant: job %zu (%s, %s) failed: %s\n", job.job, job.file.c_str(), job.profile.c_str(),
                     job.error.c_str());
        bar.redraw();
    };

    const SweepReport report = run_sweep(profiles, options);

    if (!args.quiet) {
        const double cpu_s = report.read_cpu_s + report.simulate_cpu_s + report.analyze_cpu_s;
        std::fprintf(stderr,
                     "sweep: %zu jobs in %s (%zu done before), %zu failed, %.1f s; CPU %.1f s: read %.1f s, "
                     "simulate %.1f s (%.0f%%), analyze %.1f s (%.0f%%)\n",
                     report.jobs, args.out_dir.c_str(), report.skipped, report.failed, report.wall_s, cpu_s,
                     report.read_cpu_s, report.simulate_cpu_s, cpu_s > 0 ? 100.0 * report.simulate_cpu_s / cpu_s : 0.0,
                     report.analyze_cpu_s, cpu_s > 0 ? 100.0 * report.analyze_cpu_s / cpu_s : 0.0);
    }
    if (report.failed > 0)
        throw Error(std::to_string(report.failed) + " of " + std::to_string(report.jobs) +
                    " jobs failed (status=error rows in " + args.out_dir + "/results.csv)");
}

}  // namespace

void add_sweep_command(CLI::App& app) {
    auto args = std::make_shared<SweepArgs>();
    CLI::App* cmd = app.add_subcommand(
        "sweep",
        "Run every profile (Opus settings + loss model) on every file of a corpus: simulate and analyse in\n"
        "memory, in parallel, into OUT/results.csv (one row per file x profile), OUT/events.jsonl (the full\n"
        "analysis of each) and OUT/sweep.json (what was run). Rerunning the same command resumes an\n"
        "interrupted sweep; --shard splits it across machines and `sibilant merge` joins the parts.");
    cmd->add_option("--profiles", args->profiles_path,
                    "Profiles file (JSON): {\"seed\": N, \"profiles\": [{\"name\", settings...}],\n"
                    "\"grids\": [{\"name\", \"base\": {settings}, \"vary\": {setting: [values]}}]}; settings as\n"
                    "`sibilant simulate`: bitrate_bps, application, complexity, frame_ms, bandwidth,\n"
                    "max_bandwidth, rate_control, signal, fec, expected_loss_percent, dtx, loss")
        ->required();
    cmd->add_option("--corpus", args->corpus_dir,
                    "Folder of recordings (searched recursively; audio files by extension, hidden ones skipped)")
        ->required();
    cmd->add_option("--out", args->out_dir, "Output folder; created if missing, resumed if it holds this sweep")
        ->required();
    cmd->add_option("-j,--jobs", args->jobs, "Jobs run in parallel; 0 = all cores")->capture_default_str();
    cmd->add_option("--shard", args->shard,
                    "Run only the jobs with job % N == I-1 (I/N, 1 <= I <= N); merge the shards with\n"
                    "`sibilant merge`");
    cmd->add_option("--seed", args->seed,
                    "Base seed (overrides the profiles file's); each job's loss seed derives from it, the\n"
                    "file and the profile")
        ->check(whole_number_from(0));
    cmd->add_flag("--keep-audio", args->keep_audio,
                  "Also write each decoded signal to OUT/audio/<file>__<profile>.wav (48 kHz)");
    cmd->add_flag("-q,--quiet", args->quiet, "No progress bar and no closing summary line");
    cmd->callback([args] { run_sweep_command(*args); });
    cmd->footer(
        "Exit code: 0 on success; 2 on a usage error; 1 on an error (one line on stderr naming the input and\n"
        "the cause; nothing written) or when some jobs failed (their rows have status=error; the last stderr\n"
        "line says how many). A bar shows jobs done/total, rate and time left when stderr is a terminal.");
}

void add_merge_command(CLI::App& app) {
    auto out_dir = std::make_shared<std::string>();
    auto shard_dirs = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = app.add_subcommand(
        "merge",
        "Join the output folders of `sibilant sweep --shard I/N` runs into one, byte-identical to the same\n"
        "sweep run unsharded. Checks that the shards are of one sweep and that every job is there once.");
    cmd->add_option("SHARD_DIR", *shard_dirs, "Output folders of the shards")->required();
    cmd->add_option("--out", *out_dir, "Output folder for the merged sweep (new, or without a sweep.json)")
        ->required();
    cmd->callback([out_dir, shard_dirs] {
        const MergeReport report = merge_sweeps(*shard_dirs, *out_dir);
        std::fprintf(stderr, "merge: %zu jobs into %s", report.jobs, out_dir->c_str());
        if (report.failed > 0) std::fprintf(stderr, " (%zu with status=error)", report.failed);
        std::fputc('\n', stderr);
    });
    cmd->footer("Exit code: 0 on success; 2 on a usage error; 1 on an error (nothing written).");
}

}  // namespace sibilant::cli
