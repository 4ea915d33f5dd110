// JSON, CSV and text renderings of analysis results. nlohmann::json stays
// inside the library (pipeline/analysis_json.hpp); the public API hands out
// strings.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/csv.hpp"
#include "pipeline/analysis_json.hpp"
#include "sibilant/analyze.hpp"

namespace sibilant {

namespace pipeline {

json rounded(double value, int decimals) {
    if (!std::isfinite(value)) return nullptr;
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale + 0.0;  // + 0.0 turns -0 into 0
}

}  // namespace pipeline

namespace {

using pipeline::json;
using pipeline::rounded;

json measures_json(const SibilantMeasures& m) {
    json bands = json::array();
    for (double b : m.band_db) bands.push_back(rounded(b, 2));
    return {{"band_db", bands},
            {"cog_hz", rounded(m.cog_hz, 1)},
            {"spread_hz", rounded(m.spread_hz, 1)},
            {"skewness", rounded(m.skewness, 3)},
            {"kurtosis", rounded(m.kurtosis, 3)},
            {"peak_hz", rounded(m.peak_hz, 1)},
            {"peak_prominence_db", rounded(m.peak_prominence_db, 2)},
            {"flatness", rounded(m.flatness, 3)},
            {"high_flatness", rounded(m.high_flatness, 3)},
            {"tonality_db", rounded(m.tonality_db, 2)},
            {"onset_slope_db_per_ms", rounded(m.onset_slope_db_per_ms, 2)},
            {"offset_slope_db_per_ms", rounded(m.offset_slope_db_per_ms, 2)},
            {"duration_s", rounded(m.duration_s, 3)}};
}

json delay_track_json(const std::vector<DelayTrackPoint>& track) {
    json points = json::array();
    for (const auto& p : track)
        points.push_back({{"time_s", rounded(p.time_s, 3)},
                          {"delay_ms", rounded(p.delay_ms, 3)},
                          {"confidence", rounded(p.confidence, 3)}});
    return points;
}

json event_json(const SibilantEventResult& e, bool blind) {
    json j = {{"start_s", rounded(e.start_s, 3)},
              {"end_s", rounded(e.end_s, 3)},
              {"class", e.cls},
              {"lisp", rounded(e.lisp, 1)},
              {"smearing", rounded(e.smearing, 1)},
              {"dropout", e.dropout},
              {"flagged", e.flagged},
              {"why", e.why},
              {"compared", e.compared}};
    if (!e.compared) return j;
    j["bandwidth_hz"] = rounded(e.bandwidth_hz, 0);
    if (blind) {
        // Judged on the degraded alone: its own measures and the score parts;
        // there is nothing to compare.
        j["parts"] = {{"lisp_energy", rounded(e.lisp_energy, 1)}, {"lisp_top", rounded(e.lisp_top, 1)},
                      {"lisp_cog", rounded(e.lisp_cog, 1)}, {"smear_tonal", rounded(e.smear_tonal, 1)},
                      {"smear_flatness", rounded(e.smear_flatness, 1)}};
        j["reference"] = nullptr;
        j["degraded"] = e.degraded ? measures_json(*e.degraded) : json(nullptr);
        return j;
    }
    j["delay_ms"] = rounded(e.delay_ms, 3);
    j["high_band_loss_db"] = rounded(e.high_band_loss_db, 2);
    j["shape_correlation"] = rounded(e.shape_correlation, 3);
    j["tonal_gain_db"] = rounded(e.tonal_gain_db, 2);
    j["pre_echo_db"] = rounded(e.pre_echo_db, 2);
    j["pre_echo_added_db"] = rounded(e.pre_echo_added_db, 2);
    j["carried_loss_db"] = rounded(e.carried_loss_db, 2);
    j["low_band_change_db"] = rounded(e.low_band_change_db, 2);
    j["gap_s"] = rounded(e.gap_s, 3);
    j["top_loss_db"] = rounded(e.top_loss_db, 2);
    j["centre_drop_cams"] = rounded(e.centre_drop_cams, 3);
    j["parts"] = {{"lisp_energy", rounded(e.lisp_energy, 1)},       {"lisp_top", rounded(e.lisp_top, 1)},
                  {"lisp_cog", rounded(e.lisp_cog, 1)},
                  {"smear_shape", rounded(e.smear_shape, 1)},       {"smear_flatness", rounded(e.smear_flatness, 1)},
                  {"smear_tonal", rounded(e.smear_tonal, 1)},       {"smear_pre_echo", rounded(e.smear_pre_echo, 1)},
                  {"smear_onset", rounded(e.smear_onset, 1)}};
    j["reference"] = measures_json(e.reference);
    j["degraded"] = e.degraded ? measures_json(*e.degraded) : json(nullptr);
    return j;
}

std::string format(const char* fmt, double a) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, a);
    return buf;
}

std::string csv_number(double value, const char* fmt) { return std::isfinite(value) ? format(fmt, value) : ""; }

// How bad an event is, for picking the worst ones to show.
double severity(const SibilantEventResult& e) {
    if (!e.compared) return -1.0;
    return (e.dropout ? 1000.0 : 0.0) + std::max(e.lisp, e.smearing);
}

}  // namespace

std::string event_to_json(const SibilantEventResult& event, bool no_reference) {
    return event_json(event, no_reference).dump();
}

json pipeline::result_json(const AnalysisResult& r) {
    json events = json::array();
    const bool blind = r.mode == "no-reference";
    for (const auto& e : r.events) events.push_back(event_json(e, blind));
    const AnalysisSummary& s = r.summary;
    json j = {{"mode", r.mode},
              {"reference", blind ? json(nullptr) : json(r.reference)},
              {"degraded", r.degraded},
              {"scoring_version", r.scoring_version},
              {"alignment",
               {{"delay_ms", rounded(r.alignment.delay_ms, 3)},
                {"gain_db", rounded(r.alignment.gain_db, 2)},
                {"confidence", rounded(r.alignment.confidence, 3)},
                {"segments", r.alignment.segments},
                {"method", r.alignment.method},
                {"warning", r.alignment.warning.empty() ? json(nullptr) : json(r.alignment.warning)},
                {"drift_ppm", std::isfinite(r.alignment.drift_ppm) ? json(rounded(r.alignment.drift_ppm, 2)) : json(nullptr)},
                {"drift_compensated", r.alignment.drift_compensated},
                {"time_varying", r.alignment.time_varying},
                {"skipped_s", rounded(r.alignment.skipped_s, 3)},
                {"delay_track", delay_track_json(r.alignment.delay_track)}}},
              {"degraded_bandwidth_hz", rounded(r.degraded_bandwidth_hz, 0)},
              {"summary",
               {{"sibilants", s.sibilants},
                {"flagged", s.flagged},
                {"lisp_index", rounded(s.lisp_index, 1)},
                {"smearing_index", rounded(s.smearing_index, 1)},
                {"dropouts", s.dropouts},
                {"verdict", s.verdict},
                {"compared", s.compared},
                {"lisp_flagged", s.lisp_flagged},
                {"smearing_flagged", s.smearing_flagged}}},
              {"events", events}};
    if (blind) j["alignment"] = nullptr;
    return j;
}

std::string to_json(const AnalysisResult& r, bool pretty) {
    const json j = pipeline::result_json(r);
    return pretty ? j.dump(2) : j.dump();
}

std::string to_csv(const AnalysisResult& r) {
    std::ostringstream out;
    out << "reference,degraded,start_s,end_s,class,compared,lisp,smearing,dropout,flagged,high_band_loss_db,"
           "cog_reference_hz,cog_degraded_hz,shape_correlation,tonal_gain_db,pre_echo_db,bandwidth_hz,why\n";
    // Without a reference the comparison columns are empty.
    const bool blind = r.mode == "no-reference";
    for (const auto& e : r.events) {
        const bool d = e.compared && e.degraded.has_value();
        const bool c = e.compared && !blind;
        out << csv_field(r.reference) << ',' << csv_field(r.degraded) << ',' << format("%.3f", e.start_s) << ','
            << format("%.3f", e.end_s) << ',' << e.cls << ',' << (e.compared ? "true" : "false") << ','
            << format("%.1f", e.lisp) << ',' << format("%.1f", e.smearing) << ',' << (e.dropout ? "true" : "false")
            << ',' << (e.flagged ? "true" : "false") << ','
            << (c ? csv_number(e.high_band_loss_db, "%.2f") : "") << ','
            << (c ? csv_number(e.reference.cog_hz, "%.1f") : "") << ','
            << (d ? csv_number(e.degraded->cog_hz, "%.1f") : "") << ','
            << (c ? csv_number(e.shape_correlation, "%.3f") : "") << ','
            << (c ? csv_number(e.tonal_gain_db, "%.2f") : "") << ','
            << (c ? csv_number(e.pre_echo_db, "%.2f") : "") << ','
            << (e.compared ? csv_number(e.bandwidth_hz, "%.0f") : "") << ',' << csv_field(e.why) << '\n';
    }
    return out.str();
}

std::string to_text(const AnalysisResult& r, int max_events) {
    const AnalysisSummary& s = r.summary;
    std::ostringstream out;
    if (!r.reference.empty()) out << "reference  " << r.reference << "\n";
    if (!r.degraded.empty()) out << "degraded   " << r.degraded << "\n";
    if (r.mode == "no-reference") {
        out << "mode       no reference: judged against clean-speech norms\n";
        out << "bandwidth  " << format("%.1f kHz", r.degraded_bandwidth_hz / 1000.0) << " (the signal's own)\n";
    } else {
        out << "alignment  delay " << format("%.2f ms", r.alignment.delay_ms) << ", gain "
            << format("%+.2f dB", r.alignment.gain_db) << " (confidence " << format("%.2f", r.alignment.confidence)
            << ", " << r.alignment.segments << (r.alignment.segments == 1 ? " segment" : " segments")
            << (r.alignment.method == "waveform" ? "" : ", by the " + r.alignment.method) << ")\n";
        if (r.alignment.drift_compensated)
            out << "drift      " << format("%+.1f ppm", r.alignment.drift_ppm)
                << " (the degraded's clock; resampled to undo it before the analysis)\n";
        if (r.alignment.time_varying)
            out << "delay      varies over time (" << r.alignment.delay_track.size()
                << " track points): each event compared at its own delay\n";
        if (!r.alignment.warning.empty()) out << "warning    " << r.alignment.warning << "\n";
        out << "bandwidth  " << format("%.1f kHz", r.degraded_bandwidth_hz / 1000.0) << " carried by the degraded\n";
    }
    int s_count = 0;
    for (const auto& e : r.events) s_count += e.cls == "s";
    out << "sibilants  " << s.sibilants << " (" << s_count << " /s/, " << (s.sibilants - s_count) << " /sh/)";
    if (s.compared != s.sibilants) out << ", " << s.compared << " compared";
    out << "; " << s.flagged << " flagged";
    if (s.sibilants > 0) out << format(" (%.0f%%)", 100.0 * s.flagged / s.sibilants);
    out << ", " << s.dropouts << " dropouts\n";
    out << "lisp       index " << format("%.1f", s.lisp_index) << " (" << s.lisp_flagged << " flagged)\n";
    out << "smearing   index " << format("%.1f", s.smearing_index) << " (" << s.smearing_flagged << " flagged)\n";
    out << "verdict    " << s.verdict << "\n";

    std::vector<const SibilantEventResult*> worst;
    for (const auto& e : r.events)
        if (e.compared) worst.push_back(&e);
    std::stable_sort(worst.begin(), worst.end(),
                     [](const auto* a, const auto* b) { return severity(*a) > severity(*b); });
    if (max_events > 0 && !worst.empty()) {
        out << "worst events:\n";
        for (std::size_t i = 0; i < worst.size() && i < static_cast<std::size_t>(max_events); ++i)
            out << "  " << worst[i]->why << "\n";
    }
    return out.str();
}

}  // namespace sibilant
