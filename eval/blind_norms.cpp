// sibilant_eval_blind: clean-speech norms for the no-reference (blind)
// analysis, and its corpus evaluation (issue #4). Backs eval/blind_eval.sh.
//
//   sibilant_eval_blind norms CORPUS_DIR
//     Derives the norms from the clean files: for each file x (48 kHz mono),
//     sibilant::analyze(x, x) (identity: the reference measures are the clean
//     event's own), every compared event's reference measures, the 0-11 kHz
//     Praat centre of gravity of its 40 ms middle (for the comparison with
//     Jongman et al. 2000), and own_bandwidth_hz() of the file's long-term
//     spectrum. Prints the norms as the C++ initializer that
//     lib/src/dsp/blind_judge.cpp ships (between its GENERATED NORMS marks),
//     and the comparison with the published values.
//
//   sibilant_eval_blind eval CORPUS_DIR
//     For each file and condition (eval/eval_conditions.hpp: identity, Opus
//     voip c10 at 6/10/12/16/24/32/64 kbps, 4 and 8 kHz low-pass) runs
//     sibilant::analyze_no_reference() on the condition alone, then judges
//     its events twice: with the shipped norms and with leave-one-file-out
//     norms (from the other files' originals only). Detection does not
//     depend on the norms, so re-judging the kernel's events
//     (score_event_blind() with the event's bandwidth, summarise_blind() with
//     the signal's) is what the kernel would give with those norms. Prints
//     tables per file x condition and the acceptance checks, PASS/FAIL:
//       1. identity and opus64: verdict "clean" for every file;
//       2. opus6: verdict includes "lisp" for every file;
//       3. opus10 and opus12: lisp_index above opus64's for every file;
//     and, for information, the bandwidth classes (NB < 5 kHz, WB 7-9.5 kHz,
//     FB >= 19 kHz) and the low-pass conditions.
//     Exit status: 0 all checks pass, 1 some failed, 2 set-up problem.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "dsp/blind_judge.hpp"
#include "dsp/spectral_moments.hpp"
#include "dsp/stft.hpp"
#include "eval_conditions.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"

namespace fs = std::filesystem;
using sibilant::dsp::NormsBuilder;
using sibilant::dsp::SibilantNorms;

namespace {

constexpr int kRateHz = sibilant::eval::kRateHz;

const std::vector<std::string> kConditions = {"identity", "opus6",  "opus10", "opus12", "opus16", "opus24",
                                              "opus32",   "opus64", "lp4k",   "lp8k"};

struct CleanEvent {
    std::string cls;
    sibilant::SibilantMeasures m;
    double cog_11k_hz;
};

struct FileData {
    std::string name;
    std::string error;
    std::vector<CleanEvent> clean_events;
    double clean_bandwidth_hz = 0;
    std::map<std::string, sibilant::AnalysisResult> blind;  // per condition
    std::map<std::string, std::string> blind_error;
};

double long_term_bandwidth_hz(const std::vector<float>& x) {
    sibilant::dsp::Stft stft;
    std::vector<double> sum(static_cast<std::size_t>(stft.bins()), 0.0);
    stft.push(std::span<const float>(x), [&](const sibilant::dsp::StftFrame& f) {
        for (std::size_t k = 0; k < sum.size(); ++k) sum[k] += f.power[k];
    });
    return sibilant::dsp::own_bandwidth_hz(sum, stft.bin_hz());
}

// Praat centre of gravity over 0-11 kHz of the event's centred 40 ms (the cut
// the comparer uses for cog_hz): Jongman et al.'s range.
double cog_11k_hz(const std::vector<float>& x, const sibilant::SibilantEventResult& e) {
    const auto count = static_cast<std::int64_t>(std::lround(0.040 * kRateHz));
    const auto n = static_cast<std::int64_t>(x.size());
    if (n < count) return std::nan("");
    const auto centre = static_cast<std::int64_t>(std::lround(0.5 * (e.start_s + e.end_s) * kRateHz));
    const std::int64_t first = std::clamp<std::int64_t>(centre - count / 2, 0, n - count);
    const auto spectrum = sibilant::dsp::praat_power_spectrum(
        std::span<const float>(x.data() + first, static_cast<std::size_t>(count)), kRateHz);
    return sibilant::dsp::spectral_moments(spectrum.power, spectrum.bin_hz, {.low_hz = 0.0, .high_hz = 11000.0})
        .cog_hz;
}

void measure_clean(const std::vector<float>& x, FileData& out) {
    const sibilant::AnalysisResult r = sibilant::analyze(x, x);
    for (const auto& e : r.events)
        if (e.compared) out.clean_events.push_back({e.cls, e.reference, cog_11k_hz(x, e)});
    out.clean_bandwidth_hz = long_term_bandwidth_hz(x);
}

SibilantNorms norms_without(const std::vector<FileData>& files, int left_out) {
    NormsBuilder b;
    for (int i = 0; i < static_cast<int>(files.size()); ++i) {
        if (i == left_out || !files[static_cast<std::size_t>(i)].error.empty()) continue;
        for (const auto& e : files[static_cast<std::size_t>(i)].clean_events) b.add_event(e.cls, e.m, e.cog_11k_hz);
        b.add_file_bandwidth(files[static_cast<std::size_t>(i)].clean_bandwidth_hz);
    }
    return b.build();
}

void print_norms_cpp(const SibilantNorms& n) {
    auto cls = [](const char* name, const sibilant::dsp::ClassNorms& c) {
        std::printf("    /* %s */ {%d, {%.1f, %.1f}, {%.1f, %.1f}, {%.2f, %.2f}, {%.1f, %.1f}, {%.3f, %.3f}, {%.3f, %.3f},\n"
                    "             {%.4f, %.4f, %.4f, %.4f, %.4f}},\n",
                    name, c.events, c.cog_hz.mean, c.cog_hz.sd, c.cog_11k_hz.mean, c.cog_11k_hz.sd,
                    c.high_re_mid_db.mean, c.high_re_mid_db.sd, c.peak_hz.mean, c.peak_hz.sd, c.tonality_db.mean,
                    c.tonality_db.sd, c.high_flatness.mean, c.high_flatness.sd, c.band_share[0], c.band_share[1],
                    c.band_share[2], c.band_share[3], c.band_share[4]);
    };
    std::printf("// BEGIN GENERATED NORMS\nconstexpr SibilantNorms kCleanSpeechNorms = {\n");
    cls("s", n.s);
    cls("sh", n.sh);
    std::printf("    /* files */ %d,\n    /* bandwidth_hz */ {%.1f, %.1f},\n    /* min_bandwidth_hz */ %.1f,\n};\n"
                "// END GENERATED NORMS\n",
                n.files, n.bandwidth_hz.mean, n.bandwidth_hz.sd, n.min_bandwidth_hz);
}

void print_jongman(const SibilantNorms& n) {
    auto line = [](const char* what, double ours, double theirs) {
        std::printf("  %-44s %7.0f Hz  vs %5.0f Hz (%+.0f%%)\n", what, ours, theirs, 100.0 * (ours / theirs - 1.0));
    };
    std::printf("\nagainst Jongman, Wayland & Wong (2000), GUIDE.md section 2:\n");
    line("/s/ centre of gravity, 0-11 kHz (their range)", n.s.cog_11k_hz.mean, 6100.0);
    line("/sh/ centre of gravity, 0-11 kHz (their range)", n.sh.cog_11k_hz.mean, 4200.0);
    line("/s/ centre of gravity, 1-20 kHz (scored)", n.s.cog_hz.mean, 6100.0);
    line("/sh/ centre of gravity, 1-20 kHz (scored)", n.sh.cog_hz.mean, 4200.0);
    std::printf("  /s/ 8-20 kHz re 2-8 kHz: %.1f +- %.1f dB (energy well above 10 kHz: share above 8 kHz %.0f%%)\n",
                n.s.high_re_mid_db.mean, n.s.high_re_mid_db.sd,
                100.0 * (n.s.band_share[2] + n.s.band_share[3] + n.s.band_share[4]));
    std::printf("  /sh/ 8-20 kHz re 2-8 kHz: %.1f +- %.1f dB (share above 8 kHz %.0f%%)\n", n.sh.high_re_mid_db.mean,
                n.sh.high_re_mid_db.sd, 100.0 * (n.sh.band_share[2] + n.sh.band_share[3] + n.sh.band_share[4]));
    std::printf("  /s/ 0-11 kHz cog sd %.0f Hz (variance %.1f MHz^2; Jongman /s/ variance ~2.9 MHz^2 is of the spectrum, "
                "not across tokens)\n",
                n.s.cog_11k_hz.sd, n.s.cog_11k_hz.sd * n.s.cog_11k_hz.sd / 1e6);
    std::printf("  no-sibilant bandwidth (/s/ cog mean - 2 sd): %.0f Hz\n",
                sibilant::dsp::no_sibilant_bandwidth_hz(n));
}

// The kernel's events re-judged with `norms`, and the blind summary.
sibilant::AnalysisResult rejudge(sibilant::AnalysisResult r, const SibilantNorms& norms,
                                 const sibilant::AnalyzeOptions& options) {
    for (auto& e : r.events)
        if (e.compared && e.degraded)
            sibilant::dsp::score_event_blind(e, norms, e.bandwidth_hz, options.lisp_flag_threshold,
                                             options.smearing_flag_threshold);
    r.summary = sibilant::dsp::summarise_blind(r.events, r.degraded_bandwidth_hz, true, options, norms);
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::string corpus = "../shared/corpus";
    std::string mode;
    int jobs = 2;
    CLI::App app{"Clean-speech norms for the no-reference analysis and its corpus evaluation (issue #4)."};
    app.add_option("MODE", mode, "norms | eval")->required()->check(CLI::IsMember({"norms", "eval"}));
    app.add_option("CORPUS_DIR", corpus, "Folder of clean fullband .wav/.flac speech files")->capture_default_str();
    app.add_option("-j,--jobs", jobs, "Files processed in parallel")->capture_default_str()->check(CLI::Range(1, 64));
    CLI11_PARSE(app, argc, argv);

    std::vector<fs::path> paths;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(corpus, ec)) {
        const std::string ext = entry.path().extension().string();
        if (entry.is_regular_file() && (ext == ".wav" || ext == ".flac" || ext == ".WAV" || ext == ".FLAC"))
            paths.push_back(entry.path());
    }
    if (ec || paths.empty()) {
        std::fprintf(stderr, "sibilant_eval_blind: no .wav/.flac files in %s\n", corpus.c_str());
        return 2;
    }
    std::sort(paths.begin(), paths.end());
    const bool eval = mode == "eval";

    std::vector<FileData> files(paths.size());
    std::atomic<std::size_t> next{0};
    std::mutex print_mutex;
    auto worker = [&] {
        for (std::size_t i = next++; i < paths.size(); i = next++) {
            FileData& f = files[i];
            f.name = paths[i].filename().string();
            try {
                const auto x = sibilant::read_audio_file(paths[i].string(), {.channel = -1, .target_rate_hz = kRateHz});
                measure_clean(x, f);
                if (eval)
                    for (const auto& c : kConditions) {
                        try {
                            f.blind[c] = sibilant::analyze_no_reference(sibilant::eval::make_condition(c, x));
                        } catch (const std::exception& e) {
                            f.blind_error[c] = e.what();
                        }
                    }
            } catch (const std::exception& e) {
                f.error = e.what();
            }
            std::lock_guard lock(print_mutex);
            std::fprintf(stderr, "  %s done\n", f.name.c_str());
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < std::min<int>(jobs, static_cast<int>(paths.size())); ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    for (const auto& f : files)
        if (!f.error.empty()) {
            std::fprintf(stderr, "sibilant_eval_blind: %s: %s\n", f.name.c_str(), f.error.c_str());
            return 2;
        }

    const SibilantNorms all = norms_without(files, -1);
    if (!eval) {
        std::printf("Norms from %d clean files of %s (sibilant::analyze(x, x), reference measures; "
                    "regenerate with: sibilant_eval_blind norms %s):\n\n",
                    all.files, corpus.c_str(), corpus.c_str());
        print_norms_cpp(all);
        print_jongman(all);
        std::printf("\nper-file clean bandwidth (own_bandwidth_hz) and events (s/sh):\n");
        for (const auto& f : files) {
            int s = 0, sh = 0;
            for (const auto& e : f.clean_events) (e.cls == "sh" ? sh : s)++;
            std::printf("  %-38s %7.0f Hz  %3d /s/ %3d /sh/\n", f.name.c_str(), f.clean_bandwidth_hz, s, sh);
        }
        return 0;
    }

    // --- judge: shipped norms and leave-one-file-out ----------------------------
    const sibilant::AnalyzeOptions options;
    const SibilantNorms& shipped = sibilant::dsp::clean_speech_norms();
    struct Judged {
        std::map<std::string, sibilant::AnalysisResult> shipped, loo;
    };
    std::vector<Judged> judged(files.size());
    for (std::size_t i = 0; i < files.size(); ++i) {
        const SibilantNorms loo = norms_without(files, static_cast<int>(i));
        for (const auto& [c, r] : files[i].blind) {
            judged[i].shipped[c] = rejudge(r, shipped, options);
            judged[i].loo[c] = rejudge(r, loo, options);
        }
    }

    auto fmt1 = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%.1f", v);
        return std::string(b);
    };
    auto table = [&](const char* title, bool use_loo, auto cell) {
        std::printf("\n%s\n%-34s", title, "file");
        for (const auto& c : kConditions) std::printf(" %9s", c.c_str());
        std::printf("\n");
        for (std::size_t i = 0; i < files.size(); ++i) {
            std::printf("%-34s", files[i].name.substr(0, 34).c_str());
            const auto& m = use_loo ? judged[i].loo : judged[i].shipped;
            for (const auto& c : kConditions) {
                const auto it = m.find(c);
                std::printf(" %9s", it == m.end() ? "ERROR" : cell(it->second).c_str());
            }
            std::printf("\n");
        }
    };
    std::printf("No-reference analysis (sibilant::analyze_no_reference) of %zu files; norms: shipped = "
                "clean_speech_norms() (%d files), leave-one-out = the other files' originals\n",
                files.size(), shipped.files);
    table("own bandwidth (kHz)", false, [&](const sibilant::AnalysisResult& r) { return fmt1(r.degraded_bandwidth_hz / 1000.0); });
    table("flagged/events (shipped norms)", false, [&](const sibilant::AnalysisResult& r) {
        return std::to_string(r.summary.flagged) + "/" + std::to_string(r.summary.sibilants);
    });
    for (const bool use_loo : {false, true}) {
        const char* which = use_loo ? "leave-one-out norms" : "shipped norms";
        table((std::string("lisp_index (") + which + ")").c_str(), use_loo,
              [&](const sibilant::AnalysisResult& r) { return fmt1(r.summary.lisp_index); });
        table((std::string("smearing_index (") + which + ")").c_str(), use_loo,
              [&](const sibilant::AnalysisResult& r) { return fmt1(r.summary.smearing_index); });
        table((std::string("verdict (") + which + ")").c_str(), use_loo,
              [&](const sibilant::AnalysisResult& r) { return r.summary.verdict.substr(0, 9); });
    }
    for (const auto& f : files)
        for (const auto& [c, e] : f.blind_error) std::printf("ERROR %s %s: %s\n", f.name.c_str(), c.c_str(), e.c_str());

    // The kernel's own summary (what analyze_no_reference returned) against
    // the re-judged one with the shipped norms: they differ only if the
    // kernel does not apply the blind summary rule (or uses other norms).
    {
        int differ = 0;
        std::string where;
        for (std::size_t i = 0; i < files.size(); ++i)
            for (const auto& [c, r] : files[i].blind) {
                const auto& a = r.summary;
                const auto& b = judged[i].shipped.at(c).summary;
                if (a.verdict != b.verdict || std::abs(a.lisp_index - b.lisp_index) > 1e-9 ||
                    std::abs(a.smearing_index - b.smearing_index) > 1e-9) {
                    ++differ;
                    if (differ <= 6) where += " " + files[i].name + "/" + c + " (" + a.verdict + " " + fmt1(a.lisp_index) +
                                              " vs " + b.verdict + " " + fmt1(b.lisp_index) + ")";
                }
            }
        std::printf("\nkernel summary vs re-judged with shipped norms: %d of %zu differ%s\n", differ,
                    files.size() * kConditions.size(), where.c_str());
    }

    // --- checks ---------------------------------------------------------------------
    bool all_pass = true;
    auto report = [&](bool acceptance, bool pass, const std::string& what, const std::string& detail) {
        if (acceptance) all_pass = all_pass && pass;
        std::printf("%s  %s%s: %s\n", pass ? "PASS" : "FAIL", acceptance ? "" : "(info) ", what.c_str(), detail.c_str());
    };
    for (const bool use_loo : {false, true}) {
        const std::string tag = use_loo ? " [leave-one-out norms]" : " [shipped norms]";
        auto summary = [&](std::size_t i, const std::string& c) -> const sibilant::AnalysisSummary* {
            const auto& m = use_loo ? judged[i].loo : judged[i].shipped;
            const auto it = m.find(c);
            return it == m.end() ? nullptr : &it->second.summary;
        };
        std::printf("\nchecks%s\n", tag.c_str());
        for (const char* c : {"identity", "opus64"}) {
            std::string bad;
            for (std::size_t i = 0; i < files.size(); ++i) {
                const auto* s = summary(i, c);
                if (!s || s->verdict != "clean") bad += " " + files[i].name + "(" + (s ? s->verdict : "error") + ")";
            }
            report(true, bad.empty(), std::string(c) + ": verdict clean for every file", bad.empty() ? "all files" : "not" + bad);
        }
        {
            std::string bad;
            for (std::size_t i = 0; i < files.size(); ++i) {
                const auto* s = summary(i, "opus6");
                if (!s || s->verdict.find("lisp") == std::string::npos)
                    bad += " " + files[i].name + "(" + (s ? s->verdict : "error") + ")";
            }
            report(true, bad.empty(), "opus6 (NB): verdict lisp for every file", bad.empty() ? "all files" : "not" + bad);
        }
        for (const char* c : {"opus10", "opus12"}) {
            std::string bad;
            double min_gap = 1e9;
            for (std::size_t i = 0; i < files.size(); ++i) {
                const auto *a = summary(i, c), *b = summary(i, "opus64");
                if (!a || !b || !(a->lisp_index > b->lisp_index)) bad += " " + files[i].name;
                if (a && b) min_gap = std::min(min_gap, a->lisp_index - b->lisp_index);
            }
            report(true, bad.empty(), std::string(c) + " (WB): lisp_index above opus64 for every file",
                   "smallest gap " + fmt1(min_gap) + (bad.empty() ? "" : "; not in" + bad));
        }
        {
            std::string bad;
            for (std::size_t i = 0; i < files.size(); ++i) {
                const auto* s = summary(i, "lp4k");
                if (!s || s->verdict.find("lisp") == std::string::npos) bad += " " + files[i].name;
            }
            report(false, bad.empty(), "lp4k: verdict lisp for every file", bad.empty() ? "all files" : "not" + bad);
            bad.clear();
            for (std::size_t i = 0; i < files.size(); ++i) {
                const auto *a = summary(i, "lp8k"), *b = summary(i, "opus64");
                if (!a || !b || !(a->lisp_index > b->lisp_index)) bad += " " + files[i].name;
            }
            report(false, bad.empty(), "lp8k: lisp_index above opus64 for every file", bad.empty() ? "all files" : "not" + bad);
        }
    }
    {
        // Bandwidth classes (the same with either norms).
        auto count = [&](const char* c, double lo, double hi) {
            int n = 0;
            for (const auto& f : files) {
                const auto it = f.blind.find(c);
                if (it != f.blind.end() && it->second.degraded_bandwidth_hz >= lo && it->second.degraded_bandwidth_hz < hi) ++n;
            }
            return n;
        };
        const int nb = count("opus6", 3500, 5000), wb = count("opus10", 7000, 9500) + count("opus12", 7000, 9500);
        int fb = 0;
        for (const char* c : {"identity", "opus16", "opus24", "opus32", "opus64"}) fb += count(c, 19000, 20001);
        const int n = static_cast<int>(files.size());
        std::printf("\n");
        report(false, nb == n && wb == 2 * n && fb == 5 * n, "own bandwidth classes",
               "NB opus6 in 3.5-5 kHz: " + std::to_string(nb) + "/" + std::to_string(n) +
                   "; WB opus10/12 in 7-9.5 kHz: " + std::to_string(wb) + "/" + std::to_string(2 * n) +
                   "; FB identity/opus16-64 >= 19 kHz: " + std::to_string(fb) + "/" + std::to_string(5 * n));
    }
    std::printf("%s\n", all_pass ? "ALL ACCEPTANCE CHECKS PASS" : "SOME ACCEPTANCE CHECKS FAILED");
    return all_pass ? 0 : 1;
}
