// sibilant_eval_praat_segments: cuts the middle of every detected sibilant
// out of speech files, writes each cut as a WAV and prints our spectral
// moments of it, so that eval/praat_cog_check.sh can ask Praat for the same
// moments of the same samples.
//
// For each input file (any rate, mixed to mono, resampled to 48 kHz):
//  - sibilants from dsp::detect_sibilants() (the detector the analyzer uses);
//  - segment: a centred 40 ms (--segment-ms) around each event's midpoint.
//    Events last at least 50 ms, so the cut lies inside the sibilant and
//    leaves out the onset and offset transitions; 40 ms is the window of
//    Jongman et al. (2000) and 1920 samples pad to a 2048-point FFT;
//  - moments of the Praat-style spectrum of the segment (no window, zero
//    padding to a power of two, every bin weighted by |S|^2) over
//    --low-hz..--high-hz, by default 1-20 kHz: the detector's range for the
//    centre of gravity it reports for the codec analysis (voicing and F1
//    below 1 kHz left out; 20 kHz is the top of Opus fullband);
//  - the segment is written as 32-bit float WAV so that Praat reads exactly
//    the samples we measured.
//
// Output: OUT_DIR/<stem>_<nn>.wav per segment and OUT_DIR/ours.tsv.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "dsp/sibilant_detector.hpp"
#include "dsp/spectral_moments.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"

namespace fs = std::filesystem;

namespace {

struct Options {
    double segment_ms = 40.0;
    double low_hz = sibilant::dsp::kCogLowHz;
    double high_hz = sibilant::dsp::kTopHz;
    std::string out_dir;
    std::vector<std::string> inputs;
};

int run(const Options& o) {
    constexpr int kRateHz = sibilant::kInternalRateHz;
    const auto segment_samples = static_cast<std::int64_t>(std::lround(o.segment_ms * 1e-3 * kRateHz));
    if (segment_samples < 2) throw sibilant::Error("--segment-ms: too short");
    fs::create_directories(o.out_dir);

    const fs::path tsv_path = fs::path(o.out_dir) / "ours.tsv";
    std::FILE* tsv = std::fopen(tsv_path.c_str(), "w");
    if (!tsv) throw sibilant::Error(tsv_path.string() + ": cannot write");
    std::fprintf(tsv,
                 "source\tsegment\tclass\tevent_start_s\tevent_end_s\tsegment_start_s\tsegment_samples\t"
                 "wav\tcog_hz\tsd_hz\tskewness\tkurtosis\n");

    const sibilant::dsp::MomentOptions range{.low_hz = o.low_hz, .high_hz = o.high_hz};
    for (const auto& input : o.inputs) {
        const auto x = sibilant::read_audio_file(input, {.channel = -1, .target_rate_hz = kRateHz});
        const auto events = sibilant::dsp::detect_sibilants(x);
        const std::string stem = fs::path(input).stem().string();
        int written = 0;
        for (const auto& e : events) {
            const auto centre = static_cast<std::int64_t>(std::lround(0.5 * (e.start_s + e.end_s) * kRateHz));
            std::int64_t first = centre - segment_samples / 2;
            // Events lie inside the signal, but keep the cut inside too.
            first = std::clamp<std::int64_t>(first, 0, static_cast<std::int64_t>(x.size()) - segment_samples);
            if (first < 0) continue;  // signal shorter than a segment
            const std::span<const float> seg(x.data() + first, static_cast<std::size_t>(segment_samples));

            const auto spectrum = sibilant::dsp::praat_power_spectrum(seg, kRateHz);
            const auto m = sibilant::dsp::spectral_moments(spectrum.power, spectrum.bin_hz, range);

            char name[64];
            std::snprintf(name, sizeof name, "_%02d.wav", written);
            const std::string wav = stem + name;
            sibilant::write_audio_file((fs::path(o.out_dir) / wav).string(), seg, kRateHz,
                                       sibilant::SampleFormat::Float32);
            std::fprintf(tsv, "%s\t%d\t%s\t%.4f\t%.4f\t%.6f\t%lld\t%s\t%.6f\t%.6f\t%.6f\t%.6f\n",
                         fs::path(input).filename().c_str(), written, sibilant::dsp::to_string(e.cls),
                         e.start_s, e.end_s, static_cast<double>(first) / kRateHz,
                         static_cast<long long>(segment_samples), wav.c_str(), m.cog_hz, m.sd_hz,
                         m.skewness, m.kurtosis);
            ++written;
        }
        std::fprintf(stderr, "%s: %d sibilant segments\n", input.c_str(), written);
    }
    if (std::fclose(tsv) != 0) throw sibilant::Error(tsv_path.string() + ": write failed");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"Cuts the middle of each detected sibilant into OUT_DIR/<stem>_<nn>.wav (48 kHz float) "
                 "and writes our Praat-style spectral moments of each cut to OUT_DIR/ours.tsv."};
    app.add_option("--segment-ms", o.segment_ms, "Length of the centred cut (ms)")->capture_default_str();
    app.add_option("--low-hz", o.low_hz, "Lowest frequency counted (Hz)")->capture_default_str();
    app.add_option("--high-hz", o.high_hz, "Highest frequency counted (Hz); 0 = Nyquist")->capture_default_str();
    app.add_option("OUT_DIR", o.out_dir, "Work folder")->required();
    app.add_option("FILES", o.inputs, "Speech files")->required()->check(CLI::ExistingFile);
    try {
        app.parse(argc, argv);
        if (o.high_hz == 0.0) o.high_hz = sibilant::kInternalRateHz / 2.0;
        return run(o);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sibilant_eval_praat_segments: error: %s\n", e.what());
        return 1;
    }
}
