// sibilant: command-line front end. It parses arguments, calls the library and
// prints; all the work happens in libsibilant.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "sibilant/error.hpp"
#include "sibilant/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"sibilant: measures what speech codecs do to sibilants (/s z sh zh/)."};
    app.set_version_flag("--version", std::string("sibilant ") + sibilant::version());
    app.require_subcommand(1);
    sibilant::cli::add_simulate_command(app);
    sibilant::cli::add_analyze_command(app);
    sibilant::cli::add_sweep_command(app);
    sibilant::cli::add_merge_command(app);
    sibilant::cli::add_compare_command(app);
    sibilant::cli::add_report_command(app);
    sibilant::cli::add_probe_command(app);

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
    return 0;
}
