// sibilant_eval_warp: clock drift and time-stretch with a known truth, so that
// the aligner's drift estimate and delay track (issue #10) can be checked
// against something it did not compute (eval/drift_stretch.sh,
// tests/cli/test_drift_stretch.sh).
//
//   sibilant_eval_warp IN OUT.wav --drift-ppm P [--truth MAP.tsv] [--format F]
//       resamples IN (read at 48 kHz, mixed to mono) with libsoxr from 48000
//       to 48000 * (1 + P * 1e-6) Hz and labels the result 48 kHz: positive P
//       makes the output longer, out[n * (1 + P * 1e-6)] ~ in[n] (the sign
//       the aligner reports). The resampler removes its own delay, so there
//       is no offset.
//   sibilant_eval_warp IN OUT.wav --stretch --seed S [--truth MAP.tsv] [--format F]
//       a seeded, deterministic time-stretch of the kind a jitter buffer or
//       `sox tempo` makes, pitch kept:
//        - a few pauses edited first: 20-60 ms of digital silence inserted at
//          the middle of up to 2 pauses, and 20-60 ms cut out of the middle of
//          up to 2 others (5 ms cross-fade), only where the input stays quiet
//          for at least 20 ms either side of the cut. A pause is a run of at
//          least 100 ms of 10 ms frames 35 dB below the file's speech level
//          (95th percentile of the frame levels), not at either end;
//        - then segments of 1-3 s, each played at a tempo in [0.95, 1.05]
//          (the first two at the extremes, 0.950-0.955 and 1.045-1.050, in a
//          seeded order; every third one after them at an extreme too), by
//          WSOLA: 25 ms periodic Hann frames overlap-added at a 12.5 ms hop,
//          each frame taken from within +-10 ms of where the tempo puts it,
//          at the best normalised match to the natural continuation of the
//          frame before (and never less than half a hop or more than one and
//          a half hops after it, so that the mapping stays monotonic).
//       The silence lengths are drawn in 21-57 ms before the tempo, so they
//       are 20-60 ms in the output.
//   --truth MAP.tsv   the true mapping, "ref_s<TAB>deg_s" with a header: IN
//       time -> OUT time in seconds every 5 ms of IN (and twice, before and
//       after, at an inserted silence). For the stretch, OUT time is the
//       output position of the WSOLA frame centres that carry that input,
//       interpolated linearly between frame centres.
//   --format F        pcm24 (default), pcm16, pcm32 or float. Not pcm16 by
//       default: requantising to 16 bits alone moved lisp by up to 4 points
//       on a 12 kbps Opus file (vctk_p232_400), where 24 bits and float
//       leave it as it was. Not float: a float WAV holds libsndfile's PEAK
//       chunk, whose time stamp makes two runs differ in those bytes; the
//       integer formats are byte-identical run to run.
//   sibilant_eval_warp check IN OUT MAP.tsv
//       an independent look at a truth map: every 50 ms of IN that is loud
//       (a 20 ms window within 30 dB of the loudest), the lag within +-5 ms
//       at which OUT best matches it around the mapped point; prints
//       "check points N median_ms M max_ms X low_corr K" (K: points whose best
//       normalised correlation is under 0.9).
// Both outputs appear only when the run succeeded. Prints one summary line
// ("drift ..." or "stretch ...") on stdout. Errors: one line naming the input
// and the cause, exit 1; usage errors exit 2.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <numbers>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "dsp/stable_random.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "sibilant/output_file.hpp"
#include "sibilant/resampler.hpp"

namespace {

constexpr int kRate = sibilant::kInternalRateHz;
constexpr double kMaxPpm = 100000.0;  // 10 %: far beyond any clock

// A point of the true mapping, in samples at 48 kHz: input -> output.
struct MapPoint {
    double in = 0.0;
    double out = 0.0;
};

std::int64_t samples_of_ms(double ms) { return std::llround(ms * 1e-3 * kRate); }

// --- drift -------------------------------------------------------------------

struct Warped {
    std::vector<float> audio;
    std::vector<MapPoint> truth;  // every 5 ms of the input
    std::string summary;
};

Warped drift(const std::vector<float>& x, double ppm) {
    const double ratio = 1.0 + ppm * 1e-6;
    Warped w;
    w.audio = sibilant::resample(x, kRate, kRate * ratio);
    const std::int64_t step = samples_of_ms(5.0);
    for (std::int64_t n = 0; n <= std::int64_t(x.size()); n += step) w.truth.push_back({double(n), double(n) * ratio});
    char buf[160];
    std::snprintf(buf, sizeof buf, "drift %+.1f ppm: %zu -> %zu samples", ppm, x.size(), w.audio.size());
    w.summary = buf;
    return w;
}

// --- stretch: pauses and their edits -------------------------------------------

struct Span {
    std::int64_t begin = 0;
    std::int64_t end = 0;
    std::int64_t length() const { return end - begin; }
};

// Internal pauses: runs of >= 100 ms of 10 ms frames 35 dB under the speech level.
std::vector<Span> find_pauses(const std::vector<float>& x) {
    const std::int64_t frame = samples_of_ms(10.0);
    const std::int64_t frames = std::int64_t(x.size()) / frame;
    if (frames < 3) return {};
    std::vector<double> db(static_cast<std::size_t>(frames));
    for (std::int64_t f = 0; f < frames; ++f) {
        double s = 0.0;
        for (std::int64_t i = f * frame; i < (f + 1) * frame; ++i) s += double(x[std::size_t(i)]) * x[std::size_t(i)];
        db[std::size_t(f)] = 10.0 * std::log10(s / double(frame) + 1e-20);
    }
    std::vector<double> sorted = db;
    std::sort(sorted.begin(), sorted.end());
    const double level = sorted[std::size_t(0.95 * double(frames - 1))];
    std::vector<Span> pauses;
    std::int64_t run_start = -1;
    for (std::int64_t f = 0; f <= frames; ++f) {
        const bool quiet = f < frames && db[std::size_t(f)] < level - 35.0;
        if (quiet && run_start < 0) run_start = f;
        if (!quiet && run_start >= 0) {
            // Not touching either end: those are leading and trailing silence.
            if (run_start > 0 && f < frames && f - run_start >= 10) pauses.push_back({run_start * frame, f * frame});
            run_start = -1;
        }
    }
    return pauses;
}

struct Edit {
    std::int64_t at = 0;      // input sample: insertion point, or start of the cut
    std::int64_t length = 0;  // samples inserted (> 0) or cut (< 0)
};

constexpr std::int64_t kFade = 240;  // 5 ms cross-fade across a cut

std::vector<Edit> plan_edits(const std::vector<Span>& pauses, sibilant::SplitMix64& rng) {
    std::vector<std::size_t> order(pauses.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.index(i)]);
    std::vector<Edit> edits;
    int inserts = 0, cuts = 0;
    const std::int64_t margin = samples_of_ms(20.0);
    // Inserts and cuts alternate, the first kind drawn (a file with one pause
    // gets either).
    const std::size_t first_cut = rng.uniform() < 0.5 ? 1 : 0;
    for (std::size_t k = 0; k < order.size() && (inserts < 2 || cuts < 2); ++k) {
        const Span& p = pauses[order[k]];
        const std::int64_t length = samples_of_ms(21.0 + 36.0 * rng.uniform());
        const bool want_cut = ((k + first_cut) % 2 == 1 || inserts >= 2) && cuts < 2;
        if (want_cut && p.length() >= length + 2 * margin) {
            edits.push_back({p.begin + (p.length() - length) / 2, -length});
            ++cuts;
        } else if (inserts < 2) {
            edits.push_back({p.begin + p.length() / 2, length});
            ++inserts;
        }
    }
    std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.at < b.at; });
    return edits;
}

std::vector<float> apply_edits(const std::vector<float>& x, const std::vector<Edit>& edits) {
    std::vector<float> y;
    y.reserve(x.size() + std::size_t(samples_of_ms(150.0)));
    std::int64_t from = 0;  // next input sample to copy
    for (const Edit& e : edits) {
        if (e.length > 0) {
            y.insert(y.end(), x.begin() + from, x.begin() + e.at);
            y.insert(y.end(), std::size_t(e.length), 0.0f);
            from = e.at;
        } else {
            // Keep up to the cut minus the fade; fade from x[at - F..at) into
            // x[at + L - F..at + L); go on after the cut.
            const std::int64_t cut = -e.length;
            y.insert(y.end(), x.begin() + from, x.begin() + (e.at - kFade));
            for (std::int64_t j = 0; j < kFade; ++j) {
                const double w = (double(j) + 0.5) / double(kFade);
                const double before = x[std::size_t(e.at - kFade + j)];
                const double after = x[std::size_t(e.at + cut - kFade + j)];
                y.push_back(float((1.0 - w) * before + w * after));
            }
            from = e.at + cut;
        }
    }
    y.insert(y.end(), x.begin() + from, x.end());
    return y;
}

// Input sample -> edited sample. At an insertion point, `after` picks the
// position after the inserted silence.
double edited_position(double n, const std::vector<Edit>& edits, bool after) {
    double shift = 0.0;
    for (const Edit& e : edits) {
        if (e.length > 0) {
            if (n > double(e.at) || (after && n == double(e.at))) shift += double(e.length);
        } else {
            shift -= std::clamp(n - double(e.at), 0.0, double(-e.length));
        }
    }
    return n + shift;
}

// --- stretch: tempo segments and WSOLA --------------------------------------------

struct Segment {
    std::int64_t in_begin = 0;  // in the edited signal
    std::int64_t in_end = 0;
    double tempo = 1.0;  // input samples per output sample
    double out_begin = 0.0;
};

std::vector<Segment> plan_segments(std::int64_t length, sibilant::SplitMix64& rng) {
    std::vector<std::int64_t> bounds{0};
    while (length - bounds.back() > 0) {
        const std::int64_t left = length - bounds.back();
        const std::int64_t want = samples_of_ms(1000.0 + 2000.0 * rng.uniform());
        if (left < want + kRate) {
            // What is left would make a segment under 1 s: the last one takes
            // it, split in two halves when that makes it longer than 3 s.
            if (left > 3 * kRate) bounds.push_back(bounds.back() + left / 2);
            bounds.push_back(length);
        } else {
            bounds.push_back(bounds.back() + want);
        }
    }
    const bool slow_first = rng.uniform() < 0.5;
    std::vector<Segment> segments;
    double out = 0.0;
    for (std::size_t j = 0; j + 1 < bounds.size(); ++j) {
        const double u = rng.uniform();
        double tempo;
        const bool extreme = j < 2 || j % 3 == 2;
        if (extreme) {
            const bool slow = j < 2 ? ((j == 0) == slow_first) : rng.uniform() < 0.5;
            tempo = slow ? 0.950 + 0.005 * u : 1.045 + 0.005 * u;
        } else {
            tempo = 0.95 + 0.10 * u;
        }
        segments.push_back({bounds[j], bounds[j + 1], tempo, out});
        out += double(bounds[j + 1] - bounds[j]) / tempo;
    }
    return segments;
}

// Nominal input position of output position o (both in samples).
double nominal_input(const std::vector<Segment>& segments, double o) {
    const Segment* s = &segments.front();
    for (const Segment& seg : segments)
        if (o >= seg.out_begin) s = &seg;
    return double(s->in_begin) + (o - s->out_begin) * s->tempo;
}

struct Wsola {
    std::vector<float> audio;
    std::vector<MapPoint> centres;  // input centre -> output centre of every frame
};

Wsola wsola(const std::vector<float>& x, const std::vector<Segment>& segments) {
    constexpr std::int64_t kFrame = 1200;  // 25 ms
    constexpr std::int64_t kHop = kFrame / 2;
    const std::int64_t radius = samples_of_ms(10.0);
    const std::int64_t n = std::int64_t(x.size());
    const auto at = [&](std::int64_t i) { return i >= 0 && i < n ? x[std::size_t(i)] : 0.0f; };
    // Energies of x over [i, i + kHop) from prefix sums (zero outside x).
    std::vector<double> prefix(std::size_t(n) + 1, 0.0);
    for (std::size_t i = 0; i < x.size(); ++i) prefix[i + 1] = prefix[i] + double(x[i]) * x[i];
    const auto energy = [&](std::int64_t i) {
        const std::int64_t a = std::clamp<std::int64_t>(i, 0, n), b = std::clamp<std::int64_t>(i + kHop, 0, n);
        return prefix[std::size_t(b)] - prefix[std::size_t(a)];
    };
    std::vector<float> window(kFrame);
    for (std::int64_t i = 0; i < kFrame; ++i)  // periodic: sums to 1 at a half-frame hop
        window[std::size_t(i)] = float(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * double(i) / kFrame));

    const Segment& last = segments.back();
    const double end = last.out_begin + double(last.in_end - last.in_begin) / last.tempo;
    const auto out_length = std::int64_t(std::llround(end));
    Wsola w;
    w.audio.assign(std::size_t(out_length + kFrame), 0.0f);
    std::int64_t previous = 0;
    for (std::int64_t k = 0; k * kHop < out_length; ++k) {
        const std::int64_t o = k * kHop;
        const auto nominal = std::int64_t(std::llround(nominal_input(segments, double(o + kHop)))) - kHop;
        std::int64_t start = nominal;
        if (k > 0) {
            const std::int64_t lo = std::max(nominal - radius, previous + kHop / 2);
            const std::int64_t hi = std::max(lo, std::min(nominal + radius, previous + 3 * kHop / 2));
            const std::int64_t natural = previous + kHop;  // the template: what would follow the last frame
            const double template_energy = energy(natural);
            start = std::clamp(nominal, lo, hi);
            if (template_energy > 1e-12) {
                const auto score = [&](std::int64_t c) {
                    double s = 0.0;
                    for (std::int64_t i = 0; i < kHop; ++i) s += double(at(natural + i)) * at(c + i);
                    return s / std::sqrt(energy(c) + 1e-12);
                };
                double best = -1e300;
                for (std::int64_t c = lo; c <= hi; c += 4)
                    if (const double s = score(c); s > best) best = s, start = c;
                const std::int64_t coarse = start;
                for (std::int64_t c = std::max(lo, coarse - 3); c <= std::min(hi, coarse + 3); ++c)
                    if (const double s = score(c); s > best) best = s, start = c;
            }
        }
        for (std::int64_t i = 0; i < kFrame; ++i) w.audio[std::size_t(o + i)] += window[std::size_t(i)] * at(start + i);
        w.centres.push_back({double(start + kHop), double(o + kHop)});
        previous = start;
    }
    w.audio.resize(std::size_t(out_length));
    return w;
}

// Output position of edited input position e, from the frame centres
// (linear between them, at the outer segments' tempo beyond them).
double output_position(const Wsola& w, const std::vector<Segment>& segments, double e) {
    const auto& c = w.centres;
    if (e <= c.front().in) return c.front().out + (e - c.front().in) / segments.front().tempo;
    if (e >= c.back().in) return c.back().out + (e - c.back().in) / segments.back().tempo;
    const auto hi = std::upper_bound(c.begin(), c.end(), e, [](double v, const MapPoint& p) { return v < p.in; });
    const auto lo = hi - 1;
    return lo->out + (e - lo->in) * (hi->out - lo->out) / (hi->in - lo->in);
}

Warped stretch(const std::vector<float>& x, std::uint64_t seed) {
    sibilant::SplitMix64 rng(sibilant::splitmix64(seed));
    const std::vector<Edit> edits = plan_edits(find_pauses(x), rng);
    const std::vector<float> edited = apply_edits(x, edits);
    const std::vector<Segment> segments = plan_segments(std::int64_t(edited.size()), rng);
    Wsola w = wsola(edited, segments);

    Warped result;
    result.audio = std::move(w.audio);
    const auto add = [&](double n, bool after) {
        result.truth.push_back({n, output_position(w, segments, edited_position(n, edits, after))});
    };
    // Every 5 ms of the input, and each insertion point twice: just before and
    // just after its silence.
    std::vector<std::int64_t> rows;
    for (std::int64_t n = 0; n <= std::int64_t(x.size()); n += samples_of_ms(5.0)) rows.push_back(n);
    for (const Edit& e : edits)
        if (e.length > 0) rows.push_back(e.at);
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    for (const std::int64_t n : rows) {
        if (std::any_of(edits.begin(), edits.end(), [&](const Edit& e) { return e.length > 0 && e.at == n; }))
            add(double(n), false);
        add(double(n), true);
    }

    char buf[512];
    double lo = 2.0, hi = 0.0;
    for (const Segment& s : segments) lo = std::min(lo, s.tempo), hi = std::max(hi, s.tempo);
    int written = std::snprintf(buf, sizeof buf,
                                "stretch seed %llu: %zu segment%s, tempo %.3f-%.3f; %zu -> %zu samples;",
                                static_cast<unsigned long long>(seed), segments.size(), segments.size() == 1 ? "" : "s",
                                lo, hi, x.size(),
                                result.audio.size());
    std::string summary = buf;
    for (const Edit& e : edits) {
        written = std::snprintf(buf, sizeof buf, " %s %.1f ms at %.3f s;", e.length > 0 ? "inserted" : "cut",
                                1000.0 * double(std::abs(e.length)) / kRate, double(e.at) / kRate);
        if (written > 0) summary += buf;
    }
    if (edits.empty()) summary += " no pause long enough to edit;";
    summary.pop_back();
    result.summary = summary;
    return result;
}

// --- check: does OUT hold IN where the map says? ------------------------------------

// Reads a truth map written by --truth (samples at 48 kHz).
std::vector<MapPoint> read_map(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (!f) throw sibilant::Error(path + ": cannot open the truth map");
    std::vector<MapPoint> map;
    char line[256];
    int number = 0;
    while (std::fgets(line, sizeof line, f)) {
        ++number;
        double a = 0.0, b = 0.0;
        if (number == 1 && std::string(line).rfind("ref_s", 0) == 0) continue;
        if (std::sscanf(line, "%lf %lf", &a, &b) != 2) {
            std::fclose(f);
            throw sibilant::Error(path + ": line " + std::to_string(number) + " is not 'ref_s<TAB>deg_s'");
        }
        map.push_back({a * kRate, b * kRate});
    }
    std::fclose(f);
    if (map.size() < 2) throw sibilant::Error(path + ": fewer than two rows");
    return map;
}

// Every 50 ms of IN where a 20 ms window is within 30 dB of the speech level:
// the lag (within +-5 ms) at which OUT best matches it around the mapped
// point. Prints "check points <n> median_ms <m> max_ms <x> low_corr <k>" (low_corr:
// points whose best normalised correlation is under 0.9).
int check(const std::string& in_path, const std::string& out_path, const std::string& map_path) {
    const std::vector<float> x = sibilant::read_audio_file(in_path);
    const std::vector<float> y = sibilant::read_audio_file(out_path);
    const std::vector<MapPoint> map = read_map(map_path);
    const std::int64_t half = samples_of_ms(10.0), radius = samples_of_ms(5.0);
    const auto sq = [](const std::vector<float>& v, std::int64_t a, std::int64_t b) {
        double s = 0.0;
        for (std::int64_t i = std::max<std::int64_t>(a, 0); i < std::min<std::int64_t>(b, std::int64_t(v.size())); ++i)
            s += double(v[std::size_t(i)]) * v[std::size_t(i)];
        return s;
    };
    double peak = 0.0;
    for (std::int64_t c = half; c + half < std::int64_t(x.size()); c += half)
        peak = std::max(peak, sq(x, c - half, c + half));
    std::vector<double> lags;
    int low = 0;
    for (std::size_t k = 0; k < map.size(); k += 10) {
        const auto c = std::int64_t(std::llround(map[k].in));
        const auto d = std::int64_t(std::llround(map[k].out));
        const double ex = sq(x, c - half, c + half);
        if (c - half < 0 || c + half > std::int64_t(x.size()) || ex < peak * 1e-3) continue;
        double best = -2.0;
        std::int64_t best_lag = 0;
        for (std::int64_t lag = -radius; lag <= radius; ++lag) {
            const std::int64_t from = d + lag - half;
            if (from < 0 || from + 2 * half > std::int64_t(y.size())) continue;
            double s = 0.0;
            for (std::int64_t i = 0; i < 2 * half; ++i)
                s += double(x[std::size_t(c - half + i)]) * y[std::size_t(from + i)];
            const double r = s / std::sqrt(ex * sq(y, from, from + 2 * half) + 1e-30);
            if (r > best) best = r, best_lag = lag;
        }
        if (best < -1.5) continue;
        lags.push_back(1000.0 * double(std::abs(best_lag)) / kRate);
        low += best < 0.9;
    }
    if (lags.empty()) throw sibilant::Error(in_path + ": no loud point to check");
    std::sort(lags.begin(), lags.end());
    std::printf("check points %zu median_ms %.3f max_ms %.3f low_corr %d\n", lags.size(), lags[lags.size() / 2],
                lags.back(), low);
    return 0;
}

// --- main ------------------------------------------------------------------------

struct Options {
    std::string input;
    std::string output;
    std::string truth;
    std::string format = "pcm24";
    std::optional<double> drift_ppm;
    bool stretch = false;
    std::uint64_t seed = 1;
};

int run(const Options& o) {
    const sibilant::SampleFormat format = sibilant::parse_sample_format(o.format);
    if (o.drift_ppm && !(std::abs(*o.drift_ppm) <= kMaxPpm))
    {
        char buf[96];
        std::snprintf(buf, sizeof buf, "--drift-ppm %g: outside -100000..100000", *o.drift_ppm);
        throw sibilant::Error(buf);
    }
    const std::vector<float> x = sibilant::read_audio_file(o.input);
    // Both outputs are opened before the work, so that a bad path fails at once
    // and a failed run leaves neither behind.
    sibilant::AudioFileWriter writer(o.output, kRate, format);
    std::optional<sibilant::OutputFile> truth;
    if (!o.truth.empty()) truth.emplace(o.truth);

    const Warped w = o.drift_ppm ? drift(x, *o.drift_ppm) : stretch(x, o.seed);
    writer.write(w.audio);
    if (truth) {
        std::ostream& out = truth->stream();
        out << "ref_s\tdeg_s\n";
        char buf[64];
        for (const MapPoint& p : w.truth) {
            std::snprintf(buf, sizeof buf, "%.6f\t%.6f\n", p.in / kRate, p.out / kRate);
            out << buf;
        }
    }
    writer.commit();
    if (truth) truth->commit();
    std::printf("%s\n", w.summary.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "check") {
        if (argc != 5) {
            std::fprintf(stderr, "usage: sibilant_eval_warp check IN OUT MAP.tsv\n");
            return 2;
        }
        try {
            return check(argv[2], argv[3], argv[4]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "sibilant_eval_warp: checking %s: %s\n", argv[3], e.what());
            return 1;
        }
    }
    Options o;
    CLI::App app{"Clock drift or a WSOLA time-stretch of a speech file, with the true time mapping "
                 "(48 kHz mono output; see eval/warp.cpp)"};
    app.add_option("IN", o.input, "Input audio (read at 48 kHz, mixed to mono)")->required();
    app.add_option("OUT", o.output, "Output audio, .wav (or .flac for pcm16/pcm24)")->required();
    auto* drift_opt = app.add_option("--drift-ppm", o.drift_ppm,
                                     "Resample by 1 + P * 1e-6 and label 48 kHz (P > 0: the output is longer)");
    auto* stretch_opt = app.add_flag("--stretch", o.stretch, "Seeded WSOLA time-stretch with pause edits");
    app.add_option("--seed", o.seed, "Seed of the stretch: the same seed gives the same output")->capture_default_str();
    app.add_option("--truth", o.truth, "Write the true mapping, IN seconds -> OUT seconds, as TSV");
    app.add_option("--format", o.format, "Output sample format: pcm24, pcm16, pcm32 or float")->capture_default_str();
    drift_opt->excludes(stretch_opt);
    try {
        app.parse(argc, argv);
        if (!o.drift_ppm && !o.stretch) throw CLI::RequiredError("--drift-ppm or --stretch");
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        return run(o);
    } catch (const std::exception& e) {
        // The library's messages about the input already start with its name.
        const std::string what = e.what();
        if (what.rfind(o.input + ":", 0) == 0)
            std::fprintf(stderr, "sibilant_eval_warp: %s\n", what.c_str());
        else
            std::fprintf(stderr, "sibilant_eval_warp: warping %s: %s\n", o.input.c_str(), what.c_str());
        return 1;
    }
}
