// JSON, CSV and text renderings of analysis results, whole (to_json,
// to_csv, to_text) or an event at a time (AnalysisWriter), the two sharing
// every piece so that they write the same bytes. nlohmann::json stays inside
// the library (pipeline/analysis_json.hpp); the public API hands out strings.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/csv.hpp"
#include "io/temp_file.hpp"
#include "pipeline/analysis_json.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/error.hpp"

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

json delay_point_json(const DelayTrackPoint& p) {
    return {{"time_s", rounded(p.time_s, 3)}, {"delay_ms", rounded(p.delay_ms, 3)}, {"confidence", rounded(p.confidence, 3)}};
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


// The result as JSON with its two long arrays, the delay track's points and
// the events, left empty.
json result_frame_json(const AnalysisResult& r) {
    const AnalysisSummary& s = r.summary;
    const bool blind = r.mode == "no-reference";
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
                {"delay_track", json::array()}}},
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
              {"events", json::array()}};
    if (blind) j["alignment"] = nullptr;
    return j;
}

// to_json()'s text of a result, cut where its two long arrays go, so that
// they can be written an item at a time between the parts (a long analysis
// is then written without its whole document in memory). The parts are
// nlohmann's dump of result_frame_json(), whose arrays are empty.
struct JsonFrame {
    static constexpr int kTrackIndent = 4;   // "delay_track" is a key of "alignment"
    static constexpr int kEventsIndent = 2;  // "events" is a key of the document
    JsonFrame(const AnalysisResult& r, bool pretty) {
        const std::string text = result_frame_json(r).dump(pretty ? 2 : -1);
        // With the newline and indent (pretty) or the quotes and colon
        // (compact), these are keys: inside a JSON string every quote and
        // newline is escaped.
        const std::string events_key = pretty ? "\n  \"events\": []" : "\"events\":[]";
        const std::string track_key = pretty ? "\n    \"delay_track\": []" : "\"delay_track\":[]";
        const std::size_t events = text.rfind(events_key) + events_key.size() - 2;
        const std::size_t track = text.find(track_key);
        has_track = track != std::string::npos;
        const std::size_t track_at = has_track ? track + track_key.size() - 2 : events;
        before_track = text.substr(0, track_at);
        if (has_track) between = text.substr(track_at + 2, events - track_at - 2);
        after_events = text.substr(events + 2);
    }
    bool has_track = false;  // no-reference results have no alignment
    std::string before_track, between, after_events;
};

// The items of one array of the document, written one at a time as nlohmann
// would write the whole array at that indent.
class ArrayWriter {
public:
    ArrayWriter(int indent, bool pretty) : indent_(indent), pretty_(pretty) {}
    std::string item(const json& j) {
        std::string out = first_ ? "[" : ",";
        first_ = false;
        if (!pretty_) return out + j.dump();
        const std::string margin(std::size_t(indent_ + 2), ' ');
        out += '\n' + margin;
        for (char c : j.dump(2)) {
            out += c;
            if (c == '\n') out += margin;
        }
        return out;
    }
    std::string close() const {
        if (first_) return "[]";
        return pretty_ ? '\n' + std::string(std::size_t(indent_), ' ') + ']' : "]";
    }

private:
    int indent_;
    bool pretty_;
    bool first_ = true;
};

std::string csv_header() {
    return "reference,degraded,start_s,end_s,class,compared,lisp,smearing,dropout,flagged,high_band_loss_db,"
           "cog_reference_hz,cog_degraded_hz,shape_correlation,tonal_gain_db,pre_echo_db,bandwidth_hz,why\n";
}

// Without a reference the comparison columns are empty.
std::string csv_row(const std::string& reference, const std::string& degraded, bool blind,
                    const SibilantEventResult& e) {
    const bool d = e.compared && e.degraded.has_value();
    const bool c = e.compared && !blind;
    std::ostringstream out;
    out << csv_field(reference) << ',' << csv_field(degraded) << ',' << format("%.3f", e.start_s) << ','
        << format("%.3f", e.end_s) << ',' << e.cls << ',' << (e.compared ? "true" : "false") << ','
        << format("%.1f", e.lisp) << ',' << format("%.1f", e.smearing) << ',' << (e.dropout ? "true" : "false")
        << ',' << (e.flagged ? "true" : "false") << ',' << (c ? csv_number(e.high_band_loss_db, "%.2f") : "") << ','
        << (c ? csv_number(e.reference.cog_hz, "%.1f") : "") << ','
        << (d ? csv_number(e.degraded->cog_hz, "%.1f") : "") << ','
        << (c ? csv_number(e.shape_correlation, "%.3f") : "") << ','
        << (c ? csv_number(e.tonal_gain_db, "%.2f") : "") << ',' << (c ? csv_number(e.pre_echo_db, "%.2f") : "")
        << ',' << (e.compared ? csv_number(e.bandwidth_hz, "%.0f") : "") << ',' << csv_field(e.why) << '\n';
    return out.str();
}

// What to_text() shows of the events, gathered an event at a time: the /s/
// count and the why of the worst max_events compared ones, worst first, ties
// in time order (what a stable sort of them all by severity gives).
class WorstEvents {
public:
    explicit WorstEvents(int max_events) : max_(std::size_t(std::max(0, max_events))) {}
    void add(const SibilantEventResult& e) {
        s_count_ += e.cls == "s";
        if (!e.compared || max_ == 0) return;
        const double bad = severity(e);
        const auto at = std::partition_point(worst_.begin(), worst_.end(), [&](const auto& w) { return w.first >= bad; });
        if (at == worst_.end() && worst_.size() == max_) return;
        worst_.insert(at, {bad, e.why});
        if (worst_.size() > max_) worst_.pop_back();
    }
    int s_count() const { return s_count_; }
    const std::vector<std::pair<double, std::string>>& worst() const { return worst_; }

private:
    std::size_t max_;
    int s_count_ = 0;
    std::vector<std::pair<double, std::string>> worst_;
};

std::string text_of(const AnalysisResult& r, const WorstEvents& events) {
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
    const int s_count = events.s_count();
    out << "sibilants  " << s.sibilants << " (" << s_count << " /s/, " << (s.sibilants - s_count) << " /sh/)";
    if (s.compared != s.sibilants) out << ", " << s.compared << " compared";
    out << "; " << s.flagged << " flagged";
    if (s.sibilants > 0) out << format(" (%.0f%%)", 100.0 * s.flagged / s.sibilants);
    out << ", " << s.dropouts << " dropouts\n";
    out << "lisp       index " << format("%.1f", s.lisp_index) << " (" << s.lisp_flagged << " flagged)\n";
    out << "smearing   index " << format("%.1f", s.smearing_index) << " (" << s.smearing_flagged << " flagged)\n";
    out << "verdict    " << s.verdict << "\n";

    if (!events.worst().empty()) {
        out << "worst events:\n";
        for (const auto& w : events.worst()) out << "  " << w.second << "\n";
    }
    return out.str();
}

// The document: the frame's parts, the delay track's points (from the
// result) and the events (write_events writes the whole array).
template <class WriteEvents>
void write_document(std::ostream& out, const AnalysisResult& r, bool pretty, WriteEvents&& write_events) {
    const JsonFrame frame(r, pretty);
    out << frame.before_track;
    if (frame.has_track) {
        ArrayWriter track(JsonFrame::kTrackIndent, pretty);
        for (const auto& p : r.alignment.delay_track) out << track.item(delay_point_json(p));
        out << track.close() << frame.between;
    }
    write_events(out);
    out << frame.after_events;
}

// The JSON's events wait here for the summary that comes before them: a
// temporary file (io/temp_file) unlinked at once, gone however the process ends.
std::FILE* open_spool(const std::string& folder) {
    const std::filesystem::path dir = folder.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(folder);
    io::TempFile temp;
    try {
        temp = io::create_temp_beside((dir / "sibilant-events").string());
    } catch (const Error& e) {
        throw Error(std::string("analysis output: cannot create the temporary file for the JSON's events: ") + e.what());
    }
    ::unlink(temp.path.c_str());
    std::FILE* file = fdopen(temp.fd, "w+");
    if (!file) {
        const int error_number = errno;
        ::close(temp.fd);
        throw Error(std::string("analysis output: cannot open the temporary file for the JSON's events: ") +
                    std::strerror(error_number));
    }
    return file;
}

}  // namespace

std::string event_to_json(const SibilantEventResult& event, bool no_reference) {
    return event_json(event, no_reference).dump();
}

json pipeline::result_json(const AnalysisResult& r) {
    json j = result_frame_json(r);
    const bool blind = r.mode == "no-reference";
    if (!blind)
        for (const auto& p : r.alignment.delay_track) j["alignment"]["delay_track"].push_back(delay_point_json(p));
    for (const auto& e : r.events) j["events"].push_back(event_json(e, blind));
    return j;
}

std::string to_json(const AnalysisResult& r, bool pretty) {
    std::ostringstream out;
    const bool blind = r.mode == "no-reference";
    write_document(out, r, pretty, [&](std::ostream& o) {
        ArrayWriter events(JsonFrame::kEventsIndent, pretty);
        for (const auto& e : r.events) o << events.item(event_json(e, blind));
        o << events.close();
    });
    return out.str();
}

std::string to_csv(const AnalysisResult& r) {
    std::string out = csv_header();
    const bool blind = r.mode == "no-reference";
    for (const auto& e : r.events) out += csv_row(r.reference, r.degraded, blind, e);
    return out;
}

std::string to_text(const AnalysisResult& r, int max_events) {
    WorstEvents worst(max_events);
    for (const auto& e : r.events) worst.add(e);
    return text_of(r, worst);
}

struct AnalysisWriter::Impl {
    Outputs outputs;
    std::string reference, degraded;
    bool blind;
    std::FILE* spool = nullptr;
    ArrayWriter events{JsonFrame::kEventsIndent, true};
    WorstEvents worst;
    Impl(const Outputs& o, std::string ref, std::string deg, bool no_reference)
        : outputs(o), reference(std::move(ref)), degraded(std::move(deg)), blind(no_reference), worst(o.max_events) {}
    ~Impl() {
        if (spool) std::fclose(spool);
    }
};

AnalysisWriter::AnalysisWriter(const Outputs& outputs, std::string reference, std::string degraded, bool no_reference)
    : impl_(std::make_unique<Impl>(outputs, std::move(reference), std::move(degraded), no_reference)) {
    if (outputs.json) impl_->spool = open_spool(outputs.spool_folder);
    if (outputs.csv) *outputs.csv << csv_header();
}

AnalysisWriter::~AnalysisWriter() = default;

void AnalysisWriter::add(const SibilantEventResult& event) {
    Impl& w = *impl_;
    if (w.outputs.csv) *w.outputs.csv << csv_row(w.reference, w.degraded, w.blind, event);
    if (w.spool) {
        const std::string item = w.events.item(event_json(event, w.blind));
        if (std::fwrite(item.data(), 1, item.size(), w.spool) != item.size())
            throw Error(std::string("analysis output: cannot write the JSON's events to the temporary file: ") +
                        std::strerror(errno));
    }
    w.worst.add(event);
}

void AnalysisWriter::finish(const AnalysisResult& result) {
    Impl& w = *impl_;
    if (std::ostream* out = w.outputs.json) {
        write_document(*out, result, true, [&](std::ostream& o) {
            std::fflush(w.spool);
            std::rewind(w.spool);
            char block[1 << 16];
            for (std::size_t n; (n = std::fread(block, 1, sizeof block, w.spool)) > 0;) o.write(block, std::streamsize(n));
            if (std::ferror(w.spool))
                throw Error(std::string("analysis output: cannot read back the JSON's events: ") + std::strerror(errno));
            o << w.events.close();
        });
        *out << '\n';
    }
    if (w.outputs.text) *w.outputs.text << text_of(result, w.worst);
}

}  // namespace sibilant
