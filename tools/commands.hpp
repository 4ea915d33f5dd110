// Sub-commands of the `sibilant` tool. Each registers its options on the app;
// its callback throws sibilant::Error on failure, which main() reports.
#pragma once

#include <CLI/CLI.hpp>

namespace sibilant::cli {

void add_simulate_command(CLI::App& app);
void add_analyze_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_probe_command(CLI::App& app);

}  // namespace sibilant::cli
