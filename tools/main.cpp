// sibilant: command-line front end. It parses arguments, calls the library and
// prints; all the work happens in libsibilant.
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "sibilant/error.hpp"
#include "sibilant/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"sibilant: measures what speech codecs do to sibilants (/s z sh zh/)."};
    app.set_version_flag("--version", std::string("sibilant ") + sibilant::version());
    app.require_subcommand(1);
    // The one table of exit codes (README "Exit codes" says the same).
    app.footer(
        "Exit codes:\n"
        "  0  success (probe: stopped by SIGINT or SIGTERM).\n"
        "  1  error: one line on stderr names the input, output or setting and the cause, and no output file\n"
        "     is left (a sweep's folder keeps the jobs it finished, to resume). Also when some pairs of a batch\n"
        "     (analyze --pairs, --ref-dir, several captures) or some jobs of a sweep failed: the others are\n"
        "     written, the failed ones' records say why, and the last stderr line says how many. Also a\n"
        "     setting the library refuses, naming it and its range: simulate's Opus settings, --loss,\n"
        "     --format and --out-rate; compare --pairs naming profiles the results do not have.\n"
        "  2  usage error: an unknown flag, a missing or extra argument, flags that do not go together, or a\n"
        "     value that is not a number or fails the check its type shows in --help (NUMBER in 0..100).\n"
        "  3  internal error (a bug; please report it with the command line).");
    sibilant::cli::add_simulate_command(app);
    sibilant::cli::add_analyze_command(app);
    sibilant::cli::add_sweep_command(app);
    sibilant::cli::add_merge_command(app);
    sibilant::cli::add_compare_command(app);
    sibilant::cli::add_report_command(app);
    sibilant::cli::add_probe_command(app);

    // Over a file-size limit (ulimit -f, a quota) a write must fail with
    // EFBIG, which the outputs report and clean up after, rather than the
    // default SIGXFSZ killing the process with its temporary files left behind.
    std::signal(SIGXFSZ, SIG_IGN);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version end here with 0; any other parse error is a
        // usage error, exit code 2 (CLI11's own codes are 105-109).
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    } catch (const sibilant::Error& e) {
        std::fprintf(stderr, "sibilant: error: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc& e) {
        // Not a bug in sibilant: the machine ran out of memory.
        std::fprintf(stderr, "sibilant: error: out of memory (%s)\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sibilant: internal error: %s\n", e.what());
        return 3;
    }
    // Results printed to stdout (--json -, a batch's JSON Lines, the text
    // summary) count as outputs: a failed write is an error, not exit 0.
    std::cout.flush();
    if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "sibilant: error: standard output: write failed (disk full?)\n");
        return 1;
    }
    return 0;
}
