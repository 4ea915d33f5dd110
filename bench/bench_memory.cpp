// Peak memory of simulate_file on a long recording: writes a synthetic
// speech-like file of the given length (default 60 min, 44.1 kHz, 16-bit WAV)
// block by block, simulates it, and prints the peak resident set size.
// Usage: sibilant_bench_memory [MINUTES] [WORK_DIR]
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

#include "sibilant/audio.hpp"
#include "sibilant/simulate.hpp"

namespace {

double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// One second of a vowel-like tone followed by a hiss, so that the codec has
// both voiced and fricative content to work on.
void fill_second(std::vector<float>& block, int rate_hz, std::uint32_t& noise_state) {
    for (std::size_t i = 0; i < block.size(); ++i) {
        const double t = static_cast<double>(i) / rate_hz;
        if (t < 0.7) {
            block[i] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * 150 * t) +
                                          0.1 * std::sin(2 * std::numbers::pi * 1200 * t));
        } else {
            noise_state = noise_state * 1664525u + 1013904223u;
            block[i] = 0.1f * (static_cast<float>(noise_state >> 8) / 8388608.0f - 1.0f);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int minutes = argc > 1 ? std::atoi(argv[1]) : 60;
    const std::filesystem::path work = argc > 2 ? argv[2] : std::filesystem::temp_directory_path();
    const int rate_hz = 44100;
    const auto in = (work / "sibilant_bench_long.wav").string();
    const auto out = (work / "sibilant_bench_long_out.wav").string();

    {
        sibilant::AudioFileWriter writer(in, rate_hz, sibilant::SampleFormat::Pcm16);
        std::vector<float> second(static_cast<std::size_t>(rate_hz));
        std::uint32_t noise_state = 1;
        for (int s = 0; s < minutes * 60; ++s) {
            fill_second(second, rate_hz, noise_state);
            writer.write(second);
        }
        writer.commit();
    }
    const double rss_before_mib = peak_rss_mib();

    sibilant::SimulateOptions options;
    options.opus.bitrate_bps = 16000;
    const auto report = sibilant::simulate_file(in, out, options);
    const double rss_after_mib = peak_rss_mib();

    std::printf("simulated %d min (%lld frames at %d Hz, %lld packets)\n", minutes,
                static_cast<long long>(report.input.frames), rate_hz, static_cast<long long>(report.channel.packets));
    std::printf("peak RSS: %.1f MiB after writing the input, %.1f MiB after simulate\n", rss_before_mib,
                rss_after_mib);
    std::filesystem::remove(in);
    std::filesystem::remove(out);
    return 0;
}
