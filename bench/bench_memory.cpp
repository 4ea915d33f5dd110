// Peak memory of the file-level jobs on a long recording.
//
// Writes a speech file of the given length (default 60 min, 44.1 kHz, 16-bit
// WAV) block by block, then measures, each in a fresh process of its own so
// that one job's peak does not hide the other's:
//  - simulate: simulate_file on it (Opus 16 kbps), peak RSS after;
//  - analyze:  analyze_files(long file, its simulate output), peak RSS after
//              (target: under 200 MB for an hour);
//  - cli:      the whole command a user runs, `sibilant analyze REF DEG
//              --json J --csv C` with the text summary, peak RSS of that
//              process (what it holds to write the outputs included).
// simulate runs in every mode: its output is the degraded for analyze.
//
// Usage: sibilant_bench_memory [simulate|analyze|cli|all] [MINUTES] [WORK_DIR]
//        (defaults: all 60 $TMPDIR)
//
// The input is the project's testdata/speech/*.flac, concatenated over and
// over with a random gain and a random pause per clip (fixed seed): real
// speech gives the detector a realistic number of events, and, unlike a tone
// pattern repeating every second, it cannot fool the aligner's +-1 s delay
// search.
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "sibilant/analyze.hpp"
#include "bench_support.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/simulate.hpp"

namespace {

constexpr int kRateHz = 44100;

double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}


// Speech clips in random order, each with a gain of -6..0 dB and followed by
// 0.1-0.8 s of faint noise (digital silence would not be speech-like either).
void write_speech(const std::string& path, int minutes) {
    const std::vector<std::vector<float>> clips = sibilant::bench::load_test_speech_clips(kRateHz);
    std::mt19937 rng(1);
    std::uniform_int_distribution<std::size_t> pick(0, clips.size() - 1);
    std::uniform_real_distribution<double> gain_db(-6.0, 0.0), pause_s(0.1, 0.8), noise(-1.0, 1.0);
    const auto total = static_cast<std::int64_t>(minutes) * 60 * kRateHz;
    sibilant::AudioFileWriter writer(path, kRateHz, sibilant::SampleFormat::Pcm16);
    std::vector<float> block;
    std::int64_t written = 0;
    while (written < total) {
        const std::vector<float>& clip = clips[pick(rng)];
        const auto gain = static_cast<float>(std::pow(10.0, gain_db(rng) / 20.0));
        block.assign(clip.begin(), clip.end());
        for (float& x : block) x *= gain;
        const auto pause = static_cast<std::size_t>(pause_s(rng) * kRateHz);
        for (std::size_t i = 0; i < pause; ++i) block.push_back(static_cast<float>(1e-4 * noise(rng)));
        const auto n = static_cast<std::size_t>(std::min<std::int64_t>(total - written, std::int64_t(block.size())));
        writer.write(std::span<const float>(block.data(), n));
        written += static_cast<std::int64_t>(n);
    }
    writer.commit();
}

// The two jobs, each run in a fresh process (see run_job).
int job(const std::string& name, const std::string& in, const std::string& out, int minutes) {
    try {
        if (name == "simulate") {
            sibilant::SimulateOptions options;
            options.opus.bitrate_bps = 16000;
            const auto report = sibilant::simulate_file(in, out, options);
            std::printf("simulate: %d min (%lld frames at %d Hz, %lld packets): peak RSS %.1f MiB\n", minutes,
                        static_cast<long long>(report.input.frames), kRateHz,
                        static_cast<long long>(report.channel.packets), peak_rss_mib());
        } else {
            const sibilant::AnalysisResult result = sibilant::analyze_files(in, out);
            std::printf("analyze: %d min, %d sibilants (%d compared), verdict %s, delay %.2f ms, %d segment(s): "
                        "peak RSS %.1f MiB (target < 200 MB = 190.7 MiB)\n",
                        minutes, result.summary.sibilants, result.summary.compared, result.summary.verdict.c_str(),
                        result.alignment.delay_ms, result.alignment.segments, peak_rss_mib());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
        return 1;
    }
    return 0;
}

// Runs `program` with `args` (args[0] first, no terminating null) in a fresh
// process, its stdout sent to stdout_path unless that is empty; returns its
// exit status (1 if it could not be started) and, through peak_rss_mib, the
// child's peak RSS as wait4() reports it. A fresh process (exec, not a plain
// fork) so that the peak is the child's own: not what writing the input or
// another job used, nor skewed by a fork's shared pages.
int run_process(const char* program, const std::vector<std::string>& args, const std::string& stdout_path,
                double* peak_rss_mib = nullptr) {
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0) {
        std::perror("fork");
        return 1;
    }
    if (pid == 0) {
        if (!stdout_path.empty() && !std::freopen(stdout_path.c_str(), "w", stdout)) _exit(1);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(program, argv.data());
        std::perror(program);
        _exit(1);
    }
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    if (peak_rss_mib) *peak_rss_mib = double(usage.ru_maxrss) / 1024.0;  // KiB on Linux
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// The CLI on the pair; the outputs are removed afterwards.
int cli_job(const std::string& in, const std::string& out, int minutes) {
    const std::string json = out + ".json", csv = out + ".csv", text = out + ".txt";
    double peak_mib = 0.0;
    const int status = run_process(SIBILANT_CLI_PATH, {"sibilant", "analyze", in, out, "--json", json, "--csv", csv},
                                   text, &peak_mib);
    std::error_code ignored;
    std::printf("cli: %d min, sibilant analyze --json (%.1f MB) --csv (%.1f MB) and text: %s, peak RSS %.1f MiB\n",
                minutes, double(std::filesystem::file_size(json, ignored)) / 1e6,
                double(std::filesystem::file_size(csv, ignored)) / 1e6, status == 0 ? "ok" : "FAILED", peak_mib);
    for (const auto& f : {json, csv, text}) std::filesystem::remove(f, ignored);
    return status;
}

// A job of this program's in a process of its own (the job prints its peak).
int run_job(const std::string& name, const std::string& in, const std::string& out, int minutes) {
    return run_process("/proc/self/exe", {"sibilant_bench_memory", "--job", name, in, out, std::to_string(minutes)}, "");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 6 && std::strcmp(argv[1], "--job") == 0) return job(argv[2], argv[3], argv[4], std::atoi(argv[5]));
    const std::string mode = argc > 1 ? argv[1] : "all";
    if (mode != "simulate" && mode != "analyze" && mode != "cli" && mode != "all") {
        std::fprintf(stderr, "usage: sibilant_bench_memory [simulate|analyze|cli|all] [MINUTES] [WORK_DIR]\n");
        return 2;
    }
    const int minutes = argc > 2 ? std::atoi(argv[2]) : 60;
    const std::filesystem::path work = argc > 3 ? argv[3] : std::filesystem::temp_directory_path();
    if (minutes < 1) {
        std::fprintf(stderr, "MINUTES must be at least 1\n");
        return 2;
    }
    const auto in = (work / "sibilant_bench_long.wav").string();
    const auto out = (work / "sibilant_bench_long_out.wav").string();

    write_speech(in, minutes);
    std::printf("wrote %d min of speech (%d Hz, pcm16); peak RSS %.1f MiB so far\n", minutes, kRateHz,
                peak_rss_mib());

    // simulate always runs: its output is the degraded for analyze.
    int status = run_job("simulate", in, out, minutes);
    if (status == 0 && (mode == "analyze" || mode == "all")) status = run_job("analyze", in, out, minutes);
    if (status == 0 && (mode == "cli" || mode == "all")) status = cli_job(in, out, minutes);

    std::filesystem::remove(in);
    std::filesystem::remove(out);
    return status;
}
