// The pair page of `sibilant report`: summary, spectrograms with the events
// marked, event table. See sibilant/report.hpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "report/html.hpp"
#include "report/png_image.hpp"
#include "report/spectrogram.hpp"
#include "report/svg_plot.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/output_file.hpp"
#include "sibilant/report.hpp"
#include "sibilant/version.hpp"

namespace sibilant {

using report::Spectrogram;
using report::SpectrogramBuilder;
using report::push_aligned;
using report::html::escape;
using report::html::fixed;
using report::svg::num;

std::string event_verdict(const SibilantEventResult& e) {
    if (!e.compared) return "not-compared";
    if (e.dropout) return "dropout";
    if (e.flagged) return e.lisp >= e.smearing ? "lisp" : "smearing";
    return "clean";
}

namespace {

// The colour scale spans this many dB below the loudest bin of both pictures:
// enough to show a sibilant 60 dB down and the noise floor under it.
constexpr double kDynamicRangeDb = 90.0;
constexpr std::size_t kBlockSamples = 4800;  // 0.1 s at 48 kHz: the file reading block

std::int64_t delay_samples(const AnalysisResult& r) {
    return std::llround(r.alignment.delay_ms * kInternalRateHz / 1000.0);
}

float gain_removal(const AnalysisResult& r) { return static_cast<float>(std::pow(10.0, -r.alignment.gain_db / 20.0)); }

// Panel layout in CSS pixels: event band on top, the image, the time axis.
struct Panel {
    static constexpr double kWidth = 1180, kLeft = 52, kRight = 1168;
    static constexpr double kBandTop = 14, kBandHeight = 10, kImageTop = 28, kImageHeight = 240;
    static constexpr double kHeight = kImageTop + kImageHeight + 38;
};

std::string seconds_text(double s) { return fixed(s, 2) + " s"; }

// One spectrogram as an <svg>: the PNG as <image>, the frequency and time
// axes, and one <g class="event-mark"> per event.
// bandwidth_hz > 0 draws the analysis' degraded bandwidth as a dashed line.
std::string spectrogram_panel(const std::string& role, const Spectrogram& s, double top_db,
                              const std::vector<SibilantEventResult>& events, double bandwidth_hz) {
    using P = Panel;
    const double image_width = P::kRight - P::kLeft;
    const double span_s = std::max(s.seconds(), 1e-3);
    auto x_of = [&](double t) { return P::kLeft + std::clamp((t - s.first_s) / span_s, 0.0, 1.0) * image_width; };
    const double max_hz = s.rows * s.bin_hz;
    auto y_of_hz = [&](double hz) { return P::kImageTop + (1.0 - hz / max_hz) * P::kImageHeight; };

    std::string out = "<svg class=\"spectrogram\" data-role=\"" + role + "\" width=\"" + num(P::kWidth) +
                      "\" height=\"" + num(P::kHeight) + "\" viewBox=\"0 0 " + num(P::kWidth) + " " + num(P::kHeight) +
                      "\" role=\"img\" aria-label=\"" + role + " spectrogram\">\n";
    if (s.columns > 0) {
        const std::string png =
            report::html::data_uri("image/png", report::encode_png(render(s, top_db, top_db - kDynamicRangeDb)));
        out += "<image x=\"" + num(P::kLeft) + "\" y=\"" + num(P::kImageTop) + "\" width=\"" + num(image_width) +
               "\" height=\"" + num(P::kImageHeight) + "\" preserveAspectRatio=\"none\" href=\"" + png + "\"/>\n";
    } else {
        out += "<text x=\"" + num(P::kLeft + 8) + "\" y=\"" + num(P::kImageTop + 20) +
               "\">too short for a spectrogram (under one 10.7 ms frame)</text>\n";
    }

    std::string axis = "<g class=\"axis\">";
    for (double khz = 0; khz * 1000 <= max_hz; khz += 5) {
        const std::string y = num(y_of_hz(khz * 1000));
        axis += "<line x1=\"" + num(P::kLeft - 5) + "\" x2=\"" + num(P::kLeft) + "\" y1=\"" + y + "\" y2=\"" + y +
                "\"/><text x=\"" + num(P::kLeft - 8) + "\" y=\"" + y + "\" dy=\"4\" text-anchor=\"end\">" + num(khz) +
                "</text>";
    }
    axis += "<text transform=\"translate(12 " + num(P::kImageTop + P::kImageHeight / 2) +
            ") rotate(-90)\" text-anchor=\"middle\">kHz</text>";
    const double bottom = P::kImageTop + P::kImageHeight;
    for (double t : report::svg::nice_ticks(0, s.first_s + span_s, 12)) {  // 0 drawn at the first column
        const std::string x = num(x_of(t));
        axis += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + num(bottom) + "\" y2=\"" + num(bottom + 5) +
                "\"/><text x=\"" + x + "\" y=\"" + num(bottom + 18) + "\" text-anchor=\"middle\">" + num(t) + "</text>";
    }
    axis += "<text x=\"" + num(P::kRight) + "\" y=\"" + num(bottom + 34) + "\" text-anchor=\"end\">time (s)</text>";
    out += axis + "</g>\n";
    if (bandwidth_hz > 0 && bandwidth_hz < max_hz) {
        const std::string y = num(y_of_hz(bandwidth_hz));
        out += "<g class=\"bandwidth\"><line x1=\"" + num(P::kLeft) + "\" x2=\"" + num(P::kRight) + "\" y1=\"" + y +
               "\" y2=\"" + y + "\" stroke=\"#fff\" stroke-opacity=\"0.8\" stroke-dasharray=\"6 4\"/><text x=\"" +
               num(P::kRight - 4) + "\" y=\"" + y + "\" dy=\"-5\" text-anchor=\"end\" style=\"fill: #fff\">bandwidth " +
               fixed(bandwidth_hz / 1000, 1) + " kHz</text></g>\n";
    }

    for (std::size_t i = 0; i < events.size(); ++i) {
        const SibilantEventResult& e = events[i];
        const std::string id = std::to_string(i + 1);
        const double x0 = x_of(e.start_s), width = std::max(x_of(e.end_s) - x0, 2.0);
        out += "<g class=\"event-mark v-" + event_verdict(e) + "\" data-event=\"" + id + "\"><title>" +
               escape("#" + id + " " + event_verdict(e) + ": " + e.why) + "</title><a href=\"#event-" + id + "\">";
        out += "<text x=\"" + num(x0 + width / 2) + "\" y=\"" + num(P::kBandTop - 3) + "\" text-anchor=\"middle\">" +
               id + "</text>";
        out += "<rect class=\"band\" x=\"" + num(x0) + "\" y=\"" + num(P::kBandTop) + "\" width=\"" + num(width) +
               "\" height=\"" + num(P::kBandHeight) + "\"/>";
        out += "<rect class=\"span\" x=\"" + num(x0) + "\" y=\"" + num(P::kImageTop + 1) + "\" width=\"" + num(width) +
               "\" height=\"" + num(P::kImageHeight - 2) + "\"/></a></g>\n";
    }
    return out + "</svg>\n";
}

std::string fact(const std::string& name, const std::string& value_html) {
    return "<tr><td>" + escape(name) + "</td><td>" + value_html + "</td></tr>\n";
}

std::string facts_table(const AnalysisResult& r, const Spectrogram& s) {
    const bool blind = r.mode == "no-reference";
    const AnalysisSummary& m = r.summary;
    std::string out = "<table class=\"facts\">\n";
    if (!blind) out += fact("reference", escape(r.reference.empty() ? "(from memory)" : r.reference));
    out += fact(blind ? "recording" : "degraded", escape(r.degraded.empty() ? "(from memory)" : r.degraded));
    out += fact("mode", escape(r.mode) + ", scoring version " + std::to_string(r.scoring_version) + ", sibilant " +
                         escape(version()));
    out += fact("length", seconds_text(s.first_s + s.seconds()));
    if (!blind)
        out += fact("alignment", "delay " + fixed(r.alignment.delay_ms, 2) + " ms, gain " + fixed(r.alignment.gain_db, 2) +
                                     " dB, confidence " + fixed(r.alignment.confidence, 2) +
                                     (r.alignment.segments > 1
                                          ? ", " + std::to_string(r.alignment.segments) +
                                                " segments (delay steps; the picture uses the main one)"
                                          : ""));
    if (!blind) {
        const AlignmentReport& a = r.alignment;
        out += fact("clock drift", std::isfinite(a.drift_ppm)
                                       ? fixed(a.drift_ppm, 1) + " ppm" +
                                             (a.drift_compensated ? " (compensated: the degraded was resampled)" : "")
                                       : "not measured (no waveform correlation to track)");
        if (a.time_varying) out += fact("delay", "varies over time: each event compared at its own delay (see the track)");
        if (!a.warning.empty()) out += fact("alignment warning", escape(a.warning));
    }
    out += fact(blind ? "bandwidth" : "degraded bandwidth", fixed(r.degraded_bandwidth_hz, 0) + " Hz");
    out += fact("sibilants", std::to_string(m.sibilants) + " found, " + std::to_string(m.compared) + " compared, " +
                                 std::to_string(m.flagged) + " flagged (" + std::to_string(m.lisp_flagged) + " lisp, " +
                                 std::to_string(m.smearing_flagged) + " smearing, " + std::to_string(m.dropouts) +
                                 " dropouts)");
    out += fact("lisp_index", "<b>" + fixed(m.lisp_index, 1) + "</b> / 100");
    out += fact("smearing_index", "<b>" + fixed(m.smearing_index, 1) + "</b> / 100");
    out += fact("verdict", "<b>" + escape(m.verdict) + "</b>");
    return out + "</table>\n";
}

std::string legend() {
    std::string out = "<p class=\"legend\">";
    for (const char* v : {"lisp", "smearing", "dropout", "clean", "not-compared"})
        out += std::string("<span class=\"v-") + v + "\"><i class=\"swatch\"></i>" + v + "</span>";
    return out + "</p>\n";
}

// `delays`: a column with the delay each event was compared at (a delay
// that varies over time).
std::string event_table(const std::vector<SibilantEventResult>& events, bool delays) {
    std::string out =
        "<table class=\"events\">\n<tr><th>#</th><th>time (s)</th><th>class</th><th>verdict</th><th>lisp</th>"
        "<th>smearing</th><th>dropout</th>" + std::string(delays ? "<th>delay (ms)</th>" : "") + "<th>why</th></tr>\n";
    for (std::size_t i = 0; i < events.size(); ++i) {
        const SibilantEventResult& e = events[i];
        const std::string verdict = event_verdict(e);
        out += "<tr class=\"event-row v-" + verdict + "\" id=\"event-" + std::to_string(i + 1) + "\"><td class=\"num\">" +
               std::to_string(i + 1) + "</td><td class=\"num\">" + fixed(e.start_s, 2) + "&ndash;" + fixed(e.end_s, 2) +
               "</td><td>/" + escape(e.cls) + "/</td><td><i class=\"swatch\"></i>" + verdict + "</td><td class=\"num\">" +
               fixed(e.lisp, 1) + "</td><td class=\"num\">" + fixed(e.smearing, 1) + "</td><td>" +
               (e.dropout ? "yes" : "no") + "</td>" +
               (delays ? "<td class=\"num\">" + fixed(e.delay_ms, 2) + "</td>" : std::string()) +
               "<td class=\"why\">" + escape(e.why) + "</td></tr>\n";
    }
    return out + "</table>\n";
}

// The delay measured along the file (issue #10): flat for a constant delay,
// a slope for clock drift (before compensation it is removed), steps and
// ramps for a jitter buffer's time-stretch.
std::string delay_track_section(const AlignmentReport& a) {
    report::svg::Series track{.label = "delay", .colour = report::svg::category_colour(0), .x = {}, .y = {}, .low = {}, .high = {}};
    double lo = a.delay_track.front().delay_ms, hi = lo;
    for (const auto& p : a.delay_track) {
        track.x.push_back(p.time_s);
        track.y.push_back(p.delay_ms);
        lo = std::min(lo, p.delay_ms);
        hi = std::max(hi, p.delay_ms);
    }
    const double pad = std::max(1.0, 0.1 * (hi - lo));
    report::svg::LinePlot plot;
    plot.css_class = "delay-track";
    plot.title = "Delay track";
    plot.x_label = "reference time (s)";
    plot.y_label = a.drift_compensated ? "delay after drift compensation (ms)" : "delay (ms)";
    plot.y_min = std::floor(lo - pad);
    plot.y_max = std::ceil(hi + pad);
    plot.series.push_back(std::move(track));
    return "<h2>Delay track</h2>\n<p class=\"note\">The delay of the degraded measured on 0.2 s of reference "
           "speech every 0.1 s (" + std::to_string(a.delay_track.size()) + " points where the waveforms correlate). " +
           (a.time_varying ? "It varies: each event was compared at the delay measured around it (its row's delay)."
                           : "The analysis used the constant delay above.") +
           "</p>\n" + report::svg::line_plot(plot);
}

// The whole page; `reference` is null for a no-reference result.
std::string pair_page(const AnalysisResult& r, const Spectrogram* reference, const Spectrogram& degraded) {
    const bool blind = reference == nullptr;
    const double top_db = std::max(degraded.max_db(), reference ? reference->max_db() : -200.0f);
    const std::string& name = r.degraded.empty() ? std::string("(from memory)") : r.degraded;

    std::string body = facts_table(r, degraded);
    body += "<h2>Spectrograms</h2>\n<p class=\"note\">Power in dB, 0&ndash;20 kHz, one colour scale for both "
            "(yellow: the loudest bin; dark: " + num(kDynamicRangeDb) + " dB below). Each sibilant event is marked "
            "by its verdict; hover a mark for its reason, click it for its row.";
    if (!blind)
        body += " The degraded is shown on the reference's timeline: its delay (" + fixed(r.alignment.delay_ms, 2) +
                " ms) and gain (" + fixed(r.alignment.gain_db, 2) + " dB) removed" +
                (r.alignment.time_varying || r.alignment.drift_compensated
                     ? " (one delay for the picture; the analysis followed the delay track below)."
                     : ".");
    body += "</p>\n" + legend();
    if (!blind) body += "<h3>Reference</h3>\n" + spectrogram_panel("reference", *reference, top_db, r.events, 0);
    body += std::string(blind ? "<h3>Recording (no reference)</h3>\n" : "<h3>Degraded</h3>\n") +
            spectrogram_panel("degraded", degraded, top_db, r.events, r.degraded_bandwidth_hz);
    if (!blind && !r.alignment.delay_track.empty()) body += delay_track_section(r.alignment);
    body += "<h2>Events</h2>\n";
    body += r.events.empty() ? "<p>No sibilant events.</p>\n" : event_table(r.events, r.alignment.time_varying);
    return report::html::page("sibilant report: " + name, body);
}

Spectrogram spectrogram_of(std::span<const float> samples) {
    SpectrogramBuilder builder;
    builder.push(samples);
    return builder.finish();
}

}  // namespace

std::string pair_report_html(const AnalysisResult& result, std::span<const float> reference_48k,
                             std::span<const float> degraded_48k) {
    if (reference_48k.empty()) return pair_page(result, nullptr, spectrogram_of(degraded_48k));
    const Spectrogram reference = spectrogram_of(reference_48k);
    SpectrogramBuilder builder;
    std::size_t pos = 0;
    push_aligned(
        builder,
        [&](std::span<float> block) {
            const std::size_t n = std::min(block.size(), degraded_48k.size() - pos);
            std::copy_n(degraded_48k.begin() + std::ptrdiff_t(pos), n, block.begin());
            pos += n;
            return n;
        },
        delay_samples(result), gain_removal(result), std::int64_t(reference_48k.size()));
    return pair_page(result, &reference, builder.finish());
}

void write_pair_report(const std::string& reference_path, const std::string& degraded_path,
                       const std::string& out_path, const AnalyzeOptions& options) {
    OutputFile out(out_path);  // before the analysis: a bad output path fails at once
    const bool blind = reference_path.empty();
    const AnalysisResult result =
        blind ? analyze_file_no_reference(degraded_path, options) : analyze_files(reference_path, degraded_path, options);

    const ReadOptions read{.channel = options.channel, .target_rate_hz = kInternalRateHz};
    std::vector<float> block(kBlockSamples);
    auto stream = [&](const std::string& path) {
        AudioFileReader file(path, read);
        SpectrogramBuilder builder;
        std::int64_t samples = 0;
        for (std::size_t n; (n = file.read(block)) > 0; samples += std::int64_t(n))
            builder.push(std::span<const float>(block.data(), n));
        return std::pair{builder.finish(), samples};
    };
    if (blind) {
        out.stream() << pair_page(result, nullptr, stream(degraded_path).first);
    } else {
        const auto [reference, reference_samples] = stream(reference_path);
        AudioFileReader degraded(degraded_path, read);
        SpectrogramBuilder builder;
        push_aligned(
            builder, [&](std::span<float> b) { return degraded.read(b); }, delay_samples(result),
            gain_removal(result), reference_samples);
        out.stream() << pair_page(result, &reference, builder.finish());
    }
    out.commit();
}

}  // namespace sibilant
