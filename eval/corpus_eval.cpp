// sibilant_eval_corpus: runs the analyzer (issue #3) on every speech file of
// a corpus under fixed conditions and checks what it must show on real
// speech. Backs eval/corpus_eval.sh.
//
// Conditions, each analysed as reference = the file, degraded = the
// condition's output (all in-process, 48 kHz mono):
//   identity   the file itself
//   delayed    the file delayed by 37 ms and 6 dB quieter
//   opusN      libopus voip, complexity 10, N kbps VBR, 20 ms, no loss
//              (N = 6, 10, 12, 16, 24, 32, 64), seed 1
//   lp4k/lp8k  a zero-phase FFT brick-wall low-pass at 4/8 kHz (the gain
//              falls from 1 to 0 over the 100 Hz below the cut-off with a
//              raised cosine, so the ringing stays short)
// Checks (PASS/FAIL each; exit status 1 if any fails):
//   1. identity and delayed: no flagged event in any file;
//   2. opus64: at most 5% of all the corpus's events flagged;
//   3. lisp_index opus6 > opus12 > opus24 >= opus64, for every file;
//   4. smearing_index at opus16 and at opus24 above opus64, for every file;
//   5. lp4k: at least 90% of all /s/ events flagged for lisp;
//   6. lp8k: lisp_index at least 10 points above opus64 for every file
//      ("clearly higher": a tenth of the scale).
// Files are processed in parallel (-j); results do not depend on it.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "eval_conditions.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "sibilant/opus_channel.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int kRateHz = sibilant::eval::kRateHz;
const std::vector<int> kLadderKbps = {6, 10, 12, 16, 24, 32, 64};

std::vector<std::string> condition_names() {
    std::vector<std::string> names = {"identity", "delayed"};
    for (int kbps : kLadderKbps) names.push_back("opus" + std::to_string(kbps));
    names.push_back("lp4k");
    names.push_back("lp8k");
    return names;
}

using sibilant::eval::make_condition;

struct Outcome {
    bool ok = false;
    std::string error;
    sibilant::AnalysisResult result;
};

struct FileOutcome {
    std::string name;
    std::map<std::string, Outcome> conditions;
};

int s_events(const sibilant::AnalysisResult& r, bool lisp_flagged_only) {
    int n = 0;
    for (const auto& e : r.events)
        if (e.cls == "s" && e.compared && (!lisp_flagged_only || (e.lisp >= 50.0 && !e.dropout))) ++n;
    return n;
}

double nan_safe(double v) { return std::isfinite(v) ? v : -1.0; }

}  // namespace

int main(int argc, char** argv) {
    std::string corpus = "../shared/corpus";
    int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::string events_tsv;
    CLI::App app{"Runs the sibilance analyzer on every file of a corpus under fixed conditions and checks the "
                 "results (issue #3)."};
    app.add_option("CORPUS_DIR", corpus, "Folder of .wav/.flac speech files")->capture_default_str();
    app.add_option("-j,--jobs", jobs, "Files analysed in parallel")->capture_default_str()->check(CLI::Range(1, 64));
    app.add_option("--events", events_tsv, "Also write every event of every condition to this TSV file");
    CLI11_PARSE(app, argc, argv);

    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(corpus, ec)) {
        const std::string ext = entry.path().extension().string();
        if (entry.is_regular_file() && (ext == ".wav" || ext == ".flac" || ext == ".WAV" || ext == ".FLAC"))
            files.push_back(entry.path());
    }
    if (ec || files.empty()) {
        std::fprintf(stderr, "sibilant_eval_corpus: no .wav/.flac files in %s\n", corpus.c_str());
        return 2;
    }
    std::sort(files.begin(), files.end());
    const auto names = condition_names();

    std::vector<FileOutcome> outcomes(files.size());
    std::atomic<std::size_t> next{0};
    std::mutex print_mutex;
    auto worker = [&] {
        for (std::size_t i = next++; i < files.size(); i = next++) {
            FileOutcome& out = outcomes[i];
            out.name = files[i].filename().string();
            try {
                const auto x = sibilant::read_audio_file(files[i].string(), {.channel = -1, .target_rate_hz = kRateHz});
                for (const auto& name : names) {
                    Outcome& o = out.conditions[name];
                    try {
                        o.result = sibilant::analyze(x, make_condition(name, x));
                        o.ok = true;
                    } catch (const std::exception& e) {
                        o.error = e.what();
                    }
                }
            } catch (const std::exception& e) {
                for (const auto& name : names) out.conditions[name].error = e.what();
            }
            std::lock_guard lock(print_mutex);
            std::fprintf(stderr, "  %s done\n", out.name.c_str());
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < std::min<int>(jobs, static_cast<int>(files.size())); ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();

    // --- tables -------------------------------------------------------------
    auto print_table = [&](const char* title, auto cell) {
        std::printf("\n%s\n%-38s", title, "file");
        for (const auto& name : names) std::printf(" %8s", name.c_str());
        std::printf("\n");
        for (const auto& f : outcomes) {
            std::printf("%-38s", f.name.c_str());
            for (const auto& name : names) {
                const Outcome& o = f.conditions.at(name);
                std::printf(" %8s", o.ok ? cell(o.result).c_str() : "ERROR");
            }
            std::printf("\n");
        }
    };
    auto fmt1 = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%.1f", v);
        return std::string(b);
    };
    print_table("lisp_index", [&](const sibilant::AnalysisResult& r) { return fmt1(r.summary.lisp_index); });
    print_table("smearing_index", [&](const sibilant::AnalysisResult& r) { return fmt1(r.summary.smearing_index); });
    print_table("flagged/total", [&](const sibilant::AnalysisResult& r) {
        return std::to_string(r.summary.flagged) + "/" + std::to_string(r.summary.sibilants);
    });
    print_table("degraded bandwidth (kHz)", [&](const sibilant::AnalysisResult& r) { return fmt1(r.degraded_bandwidth_hz / 1000.0); });
    print_table("verdict", [&](const sibilant::AnalysisResult& r) { return r.summary.verdict.substr(0, 8); });
    for (const auto& f : outcomes)
        for (const auto& name : names)
            if (!f.conditions.at(name).ok)
                std::printf("ERROR %s %s: %s\n", f.name.c_str(), name.c_str(), f.conditions.at(name).error.c_str());

    if (!events_tsv.empty()) {
        std::ofstream tsv(events_tsv);
        tsv << "file\tcondition\tstart_s\tend_s\tclass\tcompared\tlisp\tsmearing\tdropout\tflagged\tbandwidth_hz\t"
               "high_band_loss_db\tcog_ref_hz\tcog_deg_hz\tshape_correlation\thigh_flat_ref\thigh_flat_deg\t"
               "tonal_gain_db\tpre_echo_db\tpre_echo_added_db\tonset_ref\tonset_deg\tdur_ref_s\tdur_deg_s\t"
               "carried_loss_db\tgap_s\tlow_band_change_db\ttop_loss_db\tcentre_drop_cams\tlisp_energy\tlisp_top\tlisp_cog\tsmear_shape\tsmear_flatness\t"
               "smear_tonal\tsmear_pre_echo\tsmear_onset\tpeak_ref_hz\tpeak_deg_hz\twhy\n";
        for (const auto& f : outcomes)
            for (const auto& name : names) {
                const Outcome& o = f.conditions.at(name);
                if (!o.ok) continue;
                for (const auto& e : o.result.events) {
                    const auto& d = e.degraded ? *e.degraded : sibilant::SibilantMeasures{};
                    tsv << f.name << '\t' << name << '\t' << e.start_s << '\t' << e.end_s << '\t' << e.cls << '\t'
                        << e.compared << '\t' << e.lisp << '\t' << e.smearing << '\t' << e.dropout << '\t' << e.flagged
                        << '\t' << e.bandwidth_hz << '\t' << e.high_band_loss_db << '\t' << e.reference.cog_hz << '\t'
                        << d.cog_hz << '\t' << nan_safe(e.shape_correlation) << '\t' << nan_safe(e.reference.high_flatness)
                        << '\t' << nan_safe(d.high_flatness) << '\t' << e.tonal_gain_db << '\t' << e.pre_echo_db << '\t'
                        << e.pre_echo_added_db << '\t' << e.reference.onset_slope_db_per_ms << '\t'
                        << d.onset_slope_db_per_ms << '\t' << e.reference.duration_s << '\t' << d.duration_s << '\t'
                        << e.carried_loss_db << '\t' << e.gap_s << '\t' << e.low_band_change_db << '\t' << e.top_loss_db
                        << '\t' << e.centre_drop_cams << '\t' << e.lisp_energy << '\t' << e.lisp_top << '\t'
                        << e.lisp_cog << '\t' << e.smear_shape << '\t' << e.smear_flatness << '\t' << e.smear_tonal
                        << '\t' << e.smear_pre_echo << '\t' << e.smear_onset << '\t'
                        << e.reference.peak_hz << '\t' << d.peak_hz << '\t' << e.why << '\n';
                }
            }
    }

    // --- checks ---------------------------------------------------------------
    bool all_pass = true;
    auto report = [&](bool pass, const std::string& what, const std::string& detail) {
        all_pass = all_pass && pass;
        std::printf("%s  %s: %s\n", pass ? "PASS" : "FAIL", what.c_str(), detail.c_str());
    };
    auto summary = [&](const FileOutcome& f, const std::string& name) -> const sibilant::AnalysisSummary* {
        const Outcome& o = f.conditions.at(name);
        return o.ok ? &o.result.summary : nullptr;
    };
    std::printf("\nchecks (%zu files)\n", outcomes.size());
    {
        int flagged = 0, errors = 0;
        std::string where;
        for (const auto& f : outcomes)
            for (const char* name : {"identity", "delayed"}) {
                const auto* s = summary(f, name);
                if (!s) ++errors;
                else if (s->flagged > 0) {
                    flagged += s->flagged;
                    where += " " + f.name + "/" + name;
                }
            }
        report(flagged == 0 && errors == 0, "identity and 37 ms/-6 dB copy: no flagged events",
               std::to_string(flagged) + " flagged, " + std::to_string(errors) + " errors" + where);
    }
    {
        int flagged = 0, total = 0, errors = 0;
        for (const auto& f : outcomes) {
            const auto* s = summary(f, "opus64");
            if (!s) ++errors;
            else flagged += s->flagged, total += s->sibilants;
        }
        const double share = total > 0 ? 100.0 * flagged / total : 0.0;
        char detail[128];
        std::snprintf(detail, sizeof detail, "%d of %d events flagged (%.1f%%), %d errors", flagged, total, share, errors);
        report(errors == 0 && share <= 5.0, "opus voip c10 64 kbps: <= 5% of events flagged", detail);
    }
    {
        std::string bad;
        for (const auto& f : outcomes) {
            const auto *a = summary(f, "opus6"), *b = summary(f, "opus12"), *c = summary(f, "opus24"), *d = summary(f, "opus64");
            if (!a || !b || !c || !d) {
                bad += " " + f.name + " (error)";
            } else if (!(a->lisp_index > b->lisp_index && b->lisp_index > c->lisp_index &&
                         c->lisp_index >= d->lisp_index)) {
                char numbers[96];
                std::snprintf(numbers, sizeof numbers, " (%.1f, %.1f, %.1f, %.1f)", a->lisp_index, b->lisp_index,
                              c->lisp_index, d->lisp_index);
                bad += " " + f.name + numbers;
            }
        }
        report(bad.empty(), "lisp_index 6 > 12 > 24 >= 64 kbps for every file", bad.empty() ? "all files" : "not in" + bad);
    }
    {
        std::string bad;
        double s16 = 0, s24 = 0, s64 = 0;
        for (const auto& f : outcomes) {
            const auto *a = summary(f, "opus16"), *b = summary(f, "opus24"), *c = summary(f, "opus64");
            if (!a || !b || !c || !(a->smearing_index > c->smearing_index && b->smearing_index > c->smearing_index)) {
                bad += " " + f.name;
                continue;
            }
            s16 += a->smearing_index, s24 += b->smearing_index, s64 += c->smearing_index;
        }
        char detail[160];
        const double n = static_cast<double>(outcomes.size());
        std::snprintf(detail, sizeof detail, "corpus means 16k %.1f, 24k %.1f, 64k %.1f", s16 / n, s24 / n, s64 / n);
        report(bad.empty(), "smearing_index at 16 and 24 kbps above 64 kbps for every file",
               bad.empty() ? detail : "not in" + bad);
    }
    {
        int flagged = 0, total = 0;
        for (const auto& f : outcomes) {
            const Outcome& o = f.conditions.at("lp4k");
            if (!o.ok) continue;
            flagged += s_events(o.result, true);
            total += s_events(o.result, false);
        }
        const double share = total > 0 ? 100.0 * flagged / total : 0.0;
        char detail[96];
        std::snprintf(detail, sizeof detail, "%d of %d /s/ events (%.1f%%)", flagged, total, share);
        report(total > 0 && share >= 90.0, "4 kHz low-pass flags >= 90% of /s/ events as lisp", detail);
    }
    {
        std::string bad;
        double min_gap = 1e9;
        for (const auto& f : outcomes) {
            const auto *a = summary(f, "lp8k"), *b = summary(f, "opus64");
            if (!a || !b || a->lisp_index < b->lisp_index + 10.0) bad += " " + f.name;
            if (a && b) min_gap = std::min(min_gap, a->lisp_index - b->lisp_index);
        }
        char detail[96];
        std::snprintf(detail, sizeof detail, "smallest lisp_index gap %.1f", min_gap);
        report(bad.empty(), "8 kHz low-pass lisp_index >= 64 kbps + 10 for every file",
               bad.empty() ? detail : std::string(detail) + "; not in" + bad);
    }
    std::printf("%s\n", all_pass ? "ALL PASS" : "SOME CHECKS FAILED");
    return all_pass ? 0 : 1;
}
