#include "sibilant/sweep.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "io/csv.hpp"
#include "dsp/stable_random.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "sibilant/output_file.hpp"
#include "sibilant/version.hpp"

namespace sibilant {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace {

constexpr const char* kSweepJson = "sweep.json";
constexpr const char* kResultsCsv = "results.csv";
constexpr const char* kEventsJsonl = "events.jsonl";

std::string format(const char* fmt, double value) {
    char text[64];
    std::snprintf(text, sizeof text, fmt, value);
    return text;
}

// Shortest text that reads back as the same double ("20", "2.5").
std::string number_text(double value) {
    char text[64];
    const auto result = std::to_chars(text, text + sizeof text, value);
    return std::string(text, result.ptr);
}

const char* bool_text(bool value) { return value ? "true" : "false"; }

// Rows must stay one line each (resume reads them line by line).
std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}

// JSON text of a string that need not be UTF-8 (file names): bad bytes are
// replaced rather than failing the record.
std::string json_string(const std::string& text) {
    return ordered_json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool has_control_char(const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

// ---------------------------------------------------------------- profiles

const char* const kSettingKeys[] = {"bitrate_bps", "application", "complexity", "frame_ms",
                                    "bandwidth",   "max_bandwidth", "rate_control", "signal",
                                    "fec",         "expected_loss_percent", "dtx", "loss"};

bool is_setting_key(const std::string& key) {
    return std::find(std::begin(kSettingKeys), std::end(kSettingKeys), key) != std::end(kSettingKeys);
}

std::string setting_keys_text() {
    std::string text;
    for (const char* key : kSettingKeys) text += (text.empty() ? "" : ", ") + std::string(key);
    return text;
}

const char* rate_control_text(RateControl value) { return to_string(value); }

RateControl parse_rate_control(const std::string& name) {
    if (name == "vbr") return RateControl::Vbr;
    if (name == "cvbr") return RateControl::ConstrainedVbr;
    if (name == "cbr") return RateControl::Cbr;
    throw Error("\"" + name + "\" is not one of vbr, cvbr, cbr");
}

struct ProfileParser {
    std::string source;
    std::string base_dir;

    int integer(const ordered_json& value) const {
        if (!value.is_number_integer()) throw Error("expected an integer, got " + value.dump());
        const auto v = value.get<std::int64_t>();
        if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) throw Error(value.dump() + " is out of range");
        return static_cast<int>(v);
    }
    static bool boolean(const ordered_json& value) {
        if (!value.is_boolean()) throw Error("expected true or false, got " + value.dump());
        return value.get<bool>();
    }
    static std::string text(const ordered_json& value) {
        if (!value.is_string()) throw Error("expected a string, got " + value.dump());
        return value.get<std::string>();
    }

    // Applies one setting. Errors say what is wrong with the value; the
    // caller adds the file, profile and key.
    void apply(SweepProfile& p, const std::string& key, const ordered_json& value) const {
        OpusSettings& o = p.opus;
        if (key == "bitrate_bps") o.bitrate_bps = integer(value);
        else if (key == "application") o.application = parse_application(text(value));
        else if (key == "complexity") o.complexity = integer(value);
        else if (key == "frame_ms") {
            if (!value.is_number()) throw Error("expected a number, got " + value.dump());
            o.frame_ms = value.get<double>();
        } else if (key == "bandwidth") o.forced_bandwidth = parse_bandwidth(text(value));
        else if (key == "max_bandwidth") o.max_bandwidth = parse_bandwidth(text(value));
        else if (key == "rate_control") o.rate_control = parse_rate_control(text(value));
        else if (key == "signal") o.signal = parse_signal_hint(text(value));
        else if (key == "fec") o.inband_fec = boolean(value);
        else if (key == "expected_loss_percent") o.expected_loss_pct = integer(value);
        else if (key == "dtx") o.dtx = boolean(value);
        else if (key == "loss") {
            const std::string spec = text(value);
            std::string resolved = spec;
            // Trace files are found beside the profiles file, not in the
            // current folder, so a profiles file can travel with its traces.
            if (spec.rfind("trace:", 0) == 0) {
                const fs::path trace(spec.substr(6));
                if (!trace.empty() && trace.is_relative() && !base_dir.empty())
                    resolved = "trace:" + (fs::path(base_dir) / trace).string();
            }
            p.loss = parse_loss_spec(resolved);
            p.loss_spec = p.loss.kind == LossKind::Trace ? spec : describe(p.loss);
        } else {
            throw Error("unknown key (expected name or one of " + setting_keys_text() + ")");
        }
        // validate() names the field; everything set before was valid, so a
        // failure here is this key's.
        validate(o);
    }

    void apply_all(SweepProfile& p, const ordered_json& object, const std::string& where,
                   const std::set<std::string>& skip = {}) const {
        for (const auto& [key, value] : object.items()) {
            if (skip.count(key)) continue;
            try {
                apply(p, key, value);
            } catch (const Error& e) {
                throw Error(where + ": key '" + key + "': " + e.what());
            }
        }
    }
};

// The value of a setting as results.csv writes it (grid profile names use it).
std::string setting_text(const SweepProfile& p, const std::string& key) {
    const OpusSettings& o = p.opus;
    if (key == "bitrate_bps") return std::to_string(o.bitrate_bps);
    if (key == "application") return to_string(o.application);
    if (key == "complexity") return std::to_string(o.complexity);
    if (key == "frame_ms") return number_text(o.frame_ms);
    if (key == "bandwidth") return to_string(o.forced_bandwidth);
    if (key == "max_bandwidth") return to_string(o.max_bandwidth);
    if (key == "rate_control") return rate_control_text(o.rate_control);
    if (key == "signal") return to_string(o.signal);
    if (key == "fec") return bool_text(o.inband_fec);
    if (key == "expected_loss_percent") return std::to_string(o.expected_loss_pct);
    if (key == "dtx") return bool_text(o.dtx);
    return p.loss_spec;  // "loss"
}

ordered_json settings_json(const SweepProfile& p) {
    const OpusSettings& o = p.opus;
    return ordered_json{{"bitrate_bps", o.bitrate_bps},
                        {"application", to_string(o.application)},
                        {"complexity", o.complexity},
                        {"frame_ms", o.frame_ms},
                        {"bandwidth", to_string(o.forced_bandwidth)},
                        {"max_bandwidth", to_string(o.max_bandwidth)},
                        {"rate_control", rate_control_text(o.rate_control)},
                        {"signal", to_string(o.signal)},
                        {"fec", o.inband_fec},
                        {"expected_loss_percent", o.expected_loss_pct},
                        {"dtx", o.dtx},
                        {"loss", p.loss_spec}};
}

// results.csv columns bitrate_bps .. loss_percent of a profile.
std::string settings_csv(const SweepProfile& p) {
    std::string row;
    for (const char* key : kSettingKeys) row += csv_field(setting_text(p, key)) + ',';
    return row + format("%.2f", nominal_loss_percent(p.loss));
}

void check_name(const std::string& name, const std::string& where) {
    if (name.empty()) throw Error(where + ": empty name");
    if (has_control_char(name)) throw Error(where + ": the name holds a control character (line break, tab)");
}

void expand_grid(const ProfileParser& parser, const ordered_json& grid, std::size_t index,
                 std::vector<SweepProfile>& out) {
    const std::string& source = parser.source;
    std::string where = source + ": grid " + std::to_string(index + 1);
    if (!grid.is_object()) throw Error(where + ": expected an object {\"name\", \"base\", \"vary\"}");
    if (!grid.contains("name") || !grid["name"].is_string()) throw Error(where + ": needs a \"name\" (a string)");
    const std::string name = grid["name"].get<std::string>();
    where = source + ": grid '" + name + "'";
    check_name(name, where);
    for (const auto& [key, value] : grid.items())
        if (key != "name" && key != "base" && key != "vary")
            throw Error(where + ": key '" + key + "': unknown key (expected name, base, vary)");

    SweepProfile base;
    base.name = name;
    if (grid.contains("base")) {
        const ordered_json& b = grid["base"];
        if (!b.is_object()) throw Error(where + ": key 'base': expected an object of settings");
        parser.apply_all(base, b, where + " (base)");
    }
    if (!grid.contains("vary") || !grid["vary"].is_object() || grid["vary"].empty())
        throw Error(where + ": key 'vary': expected an object of setting -> list of values");
    std::vector<std::pair<std::string, std::vector<ordered_json>>> axes;
    for (const auto& [key, values] : grid["vary"].items()) {
        const std::string key_where = where + ": key 'vary." + key + "'";
        if (!is_setting_key(key)) throw Error(key_where + ": unknown setting (expected one of " + setting_keys_text() + ")");
        if (grid.contains("base") && grid["base"].contains(key))
            throw Error(key_where + ": also set in base; set it in one place");
        if (!values.is_array() || values.empty()) throw Error(key_where + ": expected a non-empty list of values");
        axes.emplace_back(key, std::vector<ordered_json>(values.begin(), values.end()));
    }

    // Odometer over the axes, last key fastest.
    std::vector<std::size_t> at(axes.size(), 0);
    while (true) {
        SweepProfile p = base;
        std::string suffix;
        for (std::size_t a = 0; a < axes.size(); ++a) {
            const auto& [key, values] = axes[a];
            try {
                parser.apply(p, key, values[at[a]]);
            } catch (const Error& e) {
                throw Error(where + ": key 'vary." + key + "' value " + values[at[a]].dump() + ": " + e.what());
            }
            suffix += (a ? "," : "") + key + "=" + setting_text(p, key);
        }
        p.name = name + "/" + suffix;
        out.push_back(std::move(p));
        std::size_t a = axes.size();
        while (a > 0 && ++at[a - 1] == axes[a - 1].second.size()) at[--a] = 0;
        if (a == 0) break;
    }
}

}  // namespace

SweepProfiles parse_sweep_profiles(const std::string& json_text, const std::string& source,
                                   const std::string& base_dir) {
    ordered_json doc;
    try {
        doc = ordered_json::parse(json_text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + ": not valid JSON: " + e.what());
    }
    if (!doc.is_object()) throw Error(source + ": expected a JSON object {\"seed\", \"profiles\", \"grids\"}");

    const ProfileParser parser{source, base_dir};
    SweepProfiles result;
    result.source = source;
    for (const auto& [key, value] : doc.items()) {
        if (key == "seed") {
            if (!value.is_number_unsigned()) throw Error(source + ": key 'seed': expected an unsigned integer, got " + value.dump());
            result.seed = value.get<std::uint64_t>();
        } else if (key == "profiles") {
            if (!value.is_array()) throw Error(source + ": key 'profiles': expected a list of objects");
            for (std::size_t i = 0; i < value.size(); ++i) {
                const ordered_json& entry = value[i];
                std::string where = source + ": profile " + std::to_string(i + 1);
                if (!entry.is_object()) throw Error(where + ": expected an object");
                if (!entry.contains("name") || !entry["name"].is_string())
                    throw Error(where + ": needs a \"name\" (a string)");
                SweepProfile p;
                p.name = entry["name"].get<std::string>();
                where = source + ": profile '" + p.name + "'";
                check_name(p.name, where);
                parser.apply_all(p, entry, where, {"name"});
                result.profiles.push_back(std::move(p));
            }
        } else if (key == "grids") {
            if (!value.is_array()) throw Error(source + ": key 'grids': expected a list of objects");
            for (std::size_t i = 0; i < value.size(); ++i) expand_grid(parser, value[i], i, result.profiles);
        } else {
            throw Error(source + ": unknown key '" + key + "' at the top level (expected seed, profiles, grids)");
        }
    }
    if (result.profiles.empty()) throw Error(source + ": no profiles (give \"profiles\" or \"grids\")");
    std::set<std::string> names;
    for (const SweepProfile& p : result.profiles)
        if (!names.insert(p.name).second) throw Error(source + ": profile '" + p.name + "': duplicate name");
    return result;
}

SweepProfiles read_sweep_profiles(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path + ": no such file");
    if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, not a profiles file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open for reading");
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) throw Error(path + ": read error");
    return parse_sweep_profiles(text.str(), path, fs::path(path).parent_path().string());
}

double nominal_loss_percent(const LossModelConfig& loss) {
    switch (loss.kind) {
    case LossKind::None:
        return 0.0;
    case LossKind::Bernoulli:
        return 100.0 * loss.loss_probability;
    case LossKind::GilbertElliott: {
        // Stationary share of the bad state p / (p + r); the chain starts good
        // and stays there when both are 0.
        const double sum = loss.p_good_to_bad + loss.r_bad_to_good;
        const double bad = sum > 0 ? loss.p_good_to_bad / sum : 0.0;
        return 100.0 * ((1.0 - bad) * loss.loss_in_good + bad * loss.loss_in_bad);
    }
    case LossKind::Trace: {
        if (loss.trace.empty()) return 0.0;
        const auto lost = std::count(loss.trace.begin(), loss.trace.end(), std::uint8_t{1});
        return 100.0 * static_cast<double>(lost) / static_cast<double>(loss.trace.size());
    }
    }
    return 0.0;
}

std::uint64_t sweep_job_seed(std::uint64_t base_seed, const std::string& file, const std::string& profile) {
    return splitmix64(splitmix64(base_seed ^ fnv1a64(file)) ^ fnv1a64(profile));
}

SweepShard parse_sweep_shard(const std::string& text) {
    const std::string bad = "shard '" + text + "': expected I/N with 1 <= I <= N (e.g. 2/8)";
    const std::size_t slash = text.find('/');
    if (slash == std::string::npos) throw Error(bad);
    auto number = [&](const std::string& part) {
        int value = 0;
        const auto r = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || r.ec != std::errc() || r.ptr != part.data() + part.size()) throw Error(bad);
        return value;
    };
    SweepShard shard{number(text.substr(0, slash)), number(text.substr(slash + 1))};
    if (shard.count < 1 || shard.index < 1 || shard.index > shard.count) throw Error(bad);
    return shard;
}

std::vector<std::string> list_sweep_corpus(const std::string& corpus_dir) {
    std::error_code ec;
    if (!fs::exists(corpus_dir, ec)) throw Error("corpus " + corpus_dir + ": no such folder");
    if (!fs::is_directory(corpus_dir, ec)) throw Error("corpus " + corpus_dir + ": not a folder");
    std::vector<std::string> files;
    fs::path base = fs::path(corpus_dir).lexically_normal();
    if (!base.has_filename()) base = base.parent_path();  // "corpus/" -> "corpus"
    fs::recursive_directory_iterator it(corpus_dir, ec), end;
    if (ec) throw Error("corpus " + corpus_dir + ": cannot list: " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw Error("corpus " + corpus_dir + ": cannot list: " + ec.message());
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (!is_audio_file_name(name) || !it->is_regular_file(ec)) continue;
        // Lexically, not fs::relative(): that resolves symbolic links, and a
        // corpus of links to files elsewhere must keep the links' names.
        const std::string relative = it->path().lexically_normal().lexically_relative(base).generic_string();
        if (has_control_char(relative))
            throw Error("corpus " + corpus_dir + ": file name with a control character (line break, tab): " +
                        one_line(relative));
        files.push_back(relative);
    }
    if (files.empty()) throw Error("corpus " + corpus_dir + ": no audio files (by extension: .wav .flac .ogg ...)");
    std::sort(files.begin(), files.end());
    return files;
}

namespace {

// ---------------------------------------------------------------- the plan

std::string shard_text(const std::optional<SweepShard>& shard) {
    return shard ? std::to_string(shard->index) + "/" + std::to_string(shard->count) : "";
}

ordered_json sweep_json(const std::string& corpus, std::uint64_t seed, const std::vector<std::string>& files,
                        const std::vector<SweepProfile>& profiles, const std::optional<SweepShard>& shard) {
    ordered_json j;
    j["sibilant_version"] = version();
    j["scoring_version"] = kScoringVersion;
    j["corpus"] = corpus;
    j["seed"] = seed;
    j["files"] = files;
    ordered_json list = ordered_json::array();
    for (const SweepProfile& p : profiles) list.push_back(ordered_json{{"name", p.name}, {"settings", settings_json(p)}});
    j["profiles"] = std::move(list);
    j["shard"] = shard ? ordered_json(shard_text(shard)) : ordered_json(nullptr);
    return j;
}

std::string sweep_json_text(const ordered_json& j) {
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

ordered_json read_sweep_json(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open for reading");
    try {
        ordered_json j = ordered_json::parse(in);
        if (!j.is_object() || !j.contains("files") || !j.contains("profiles") || !j["files"].is_array() ||
            !j["profiles"].is_array())
            throw Error(path.string() + ": not a sweep description (no files or profiles)");
        for (const ordered_json& p : j["profiles"])
            if (!p.is_object() || !p.contains("name") || !p["name"].is_string())
                throw Error(path.string() + ": a profile without a name");
        for (const ordered_json& f : j["files"])
            if (!f.is_string()) throw Error(path.string() + ": a file that is not a string");
        return j;
    } catch (const nlohmann::json::exception& e) {
        throw Error(path.string() + ": not valid JSON: " + e.what());
    }
}

// What differs between two sweep descriptions, key by key ("" when equal).
// `skip` is left out of the comparison.
std::string describe_difference(const ordered_json& now, const ordered_json& before, const std::string& skip = "") {
    std::string text;
    std::set<std::string> keys;
    for (const auto& [key, value] : now.items()) keys.insert(key);
    for (const auto& [key, value] : before.items()) keys.insert(key);
    for (const std::string& key : keys) {
        if (key == skip) continue;
        const ordered_json a = now.contains(key) ? now[key] : ordered_json();
        const ordered_json b = before.contains(key) ? before[key] : ordered_json();
        if (a == b) continue;
        std::string what = key;
        if (a.is_array() && b.is_array()) {
            std::size_t i = 0;
            while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
            what += " (" + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + "; first difference at #" +
                    std::to_string(i + 1);
            auto item = [](const ordered_json& list, std::size_t k) {
                if (k >= list.size()) return std::string("none");
                const ordered_json& v = list[k];
                return v.is_object() && v.contains("name") ? v["name"].dump() : v.dump();
            };
            what += ": " + item(a, i) + " vs " + item(b, i) + ")";
        } else {
            what += " (" + a.dump() + " vs " + b.dump() + ")";
        }
        text += (text.empty() ? "" : ", ") + what;
    }
    return text;
}

// The jobs of a sweep, from its description.
struct Plan {
    std::vector<std::string> files;
    std::vector<std::string> profiles;
    std::size_t jobs() const { return files.size() * profiles.size(); }
    const std::string& file_of(std::size_t job) const { return files[job / profiles.size()]; }
    const std::string& profile_of(std::size_t job) const { return profiles[job % profiles.size()]; }
};

Plan plan_of(const ordered_json& sweep) {
    Plan plan;
    for (const ordered_json& f : sweep["files"]) plan.files.push_back(f.get<std::string>());
    for (const ordered_json& p : sweep["profiles"]) plan.profiles.push_back(p["name"].get<std::string>());
    return plan;
}

bool in_shard(std::size_t job, const std::optional<SweepShard>& shard) {
    return !shard || job % static_cast<std::size_t>(shard->count) == static_cast<std::size_t>(shard->index - 1);
}

// ---------------------------------------------------------------- result lines

// Where one complete line of results.csv or events.jsonl sits in its file.
struct LineRef {
    std::size_t source = 0;      // index into the list of files read
    std::streamoff offset = 0;
    std::size_t length = 0;      // including the '\n'
    bool ok = false;             // results.csv: status ok
};

// The complete lines of one output folder, by job. Incomplete lines (no line
// end, unparsable, not a job of the plan) are counted and left out.
struct IndexedLines {
    std::map<std::size_t, LineRef> rows;    // results.csv
    std::map<std::size_t, LineRef> events;  // events.jsonl
    std::size_t dropped = 0;
};

bool parse_job(const std::string& text, std::size_t& job) {
    const auto r = std::from_chars(text.data(), text.data() + text.size(), job);
    return !text.empty() && r.ec == std::errc() && r.ptr == text.data() + text.size();
}

// Reads results.csv and events.jsonl of `dir` (either may be missing) and
// indexes their complete lines. `source_rows`/`source_events` identify the
// files in the LineRefs.
void index_lines(const fs::path& dir, const Plan& plan, std::size_t source_rows, std::size_t source_events,
                 IndexedLines& out) {
    const fs::path csv_path = dir / kResultsCsv;
    if (std::ifstream in{csv_path, std::ios::binary}) {
        std::string line;
        std::streamoff offset = 0;
        bool header = true;
        while (std::getline(in, line)) {
            const bool complete = !in.eof();
            const std::size_t length = line.size() + (complete ? 1 : 0);
            const std::streamoff at = offset;
            offset += static_cast<std::streamoff>(length);
            if (header) {
                header = false;
                if (line != kSweepCsvHeader)
                    throw Error(csv_path.string() + ": unexpected header (not a sweep's results, or another version)");
                continue;
            }
            std::size_t job = 0;
            std::vector<std::string> fields;
            try {
                fields = split_csv_line(line, csv_path.string());
            } catch (const Error&) {
                fields.clear();
            }
            if (!complete || fields.size() < 4 || !parse_job(fields[0], job) || job >= plan.jobs() ||
                fields[1] != plan.file_of(job) || fields[2] != plan.profile_of(job) ||
                (fields[3] != "ok" && fields[3] != "error") || out.rows.count(job)) {
                ++out.dropped;
                continue;
            }
            out.rows[job] = LineRef{source_rows, at, length, fields[3] == "ok"};
        }
        if (in.bad()) throw Error(csv_path.string() + ": read error");
    }
    const fs::path events_path = dir / kEventsJsonl;
    if (std::ifstream in{events_path, std::ios::binary}) {
        std::string line;
        std::streamoff offset = 0;
        static const std::string kPrefix = "{\"job\":";
        while (std::getline(in, line)) {
            const bool complete = !in.eof();
            const std::size_t length = line.size() + (complete ? 1 : 0);
            const std::streamoff at = offset;
            offset += static_cast<std::streamoff>(length);
            std::size_t job = 0;
            const std::size_t comma = line.find(',');
            if (!complete || line.rfind(kPrefix, 0) != 0 || comma == std::string::npos ||
                !parse_job(line.substr(kPrefix.size(), comma - kPrefix.size()), job) || job >= plan.jobs() ||
                line.back() != '}' || out.events.count(job)) {
                ++out.dropped;
                continue;
            }
            out.events[job] = LineRef{source_events, at, length, true};
        }
        if (in.bad()) throw Error(events_path.string() + ": read error");
    }
}

// Keeps the rows that count as done: ok rows with their events line. Error
// rows are dropped so that failed jobs run again; events lines without a row
// are dropped (the row is the commit mark).
void keep_done(IndexedLines& lines) {
    for (auto it = lines.rows.begin(); it != lines.rows.end();) {
        if (it->second.ok && lines.events.count(it->first)) ++it;
        else it = lines.rows.erase(it);
    }
    for (auto it = lines.events.begin(); it != lines.events.end();) {
        if (lines.rows.count(it->first)) ++it;
        else it = lines.events.erase(it);
    }
}

// Writes `lines` (sorted by job, as std::map keeps them) to `path`, copying
// each from its source file; atomically (temp + rename).
void write_sorted(const fs::path& path, const std::string& header, const std::vector<fs::path>& sources,
                  const std::map<std::size_t, LineRef>& lines) {
    std::vector<std::unique_ptr<std::ifstream>> in;
    for (const fs::path& s : sources) in.push_back(std::make_unique<std::ifstream>(s, std::ios::binary));
    OutputFile out(path.string());
    out.stream() << header;
    std::string buffer;
    for (const auto& [job, ref] : lines) {
        std::ifstream& src = *in.at(ref.source);
        buffer.resize(ref.length);
        src.clear();
        src.seekg(ref.offset);
        if (!src.read(buffer.data(), static_cast<std::streamsize>(ref.length)))
            throw Error(sources[ref.source].string() + ": read error");
        out.stream() << buffer;
    }
    out.commit();
}

void write_text_file(const fs::path& path, const std::string& text) {
    OutputFile out(path.string());
    out.stream() << text;
    out.commit();
}

// Holds an exclusive lock on a folder while it lives, so that two sweeps
// cannot write to the same output at once.
class FolderLock {
public:
    explicit FolderLock(const fs::path& dir) {
        fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd_ < 0) throw Error(dir.string() + ": cannot open folder");
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd_);
            throw Error(dir.string() + ": another sweep is writing to this folder");
        }
    }
    ~FolderLock() { ::close(fd_); }
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int fd_ = -1;
};

// An append-only output file, flushed line by line.
class AppendFile {
public:
    explicit AppendFile(const fs::path& path) : path_(path), out_(path, std::ios::binary | std::ios::app) {
        if (!out_) throw Error(path.string() + ": cannot open for appending");
    }
    void write_line(const std::string& line) {
        out_ << line << '\n';
        out_.flush();
        if (!out_) throw Error(path_.string() + ": write failed (disk full?)");
    }

private:
    fs::path path_;
    std::ofstream out_;
};

// ---------------------------------------------------------------- jobs

double thread_cpu_s() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct CorpusAudio {
    std::vector<float> samples;  // 48 kHz mono
    AudioInfo info;
};

// Each corpus file is read once and shared by its jobs; it is freed when its
// last job of this run is done. Jobs run roughly in job order, so only the
// files in flight are in memory.
class AudioCache {
public:
    AudioCache(const fs::path& corpus, const std::vector<std::string>& files, const std::vector<std::size_t>& jobs_per_file)
        : corpus_(corpus), files_(files), slots_(files.size()) {
        for (std::size_t f = 0; f < files.size(); ++f) slots_[f].remaining = jobs_per_file[f];
    }

    // Throws Error (the read error, for every job of the file) when the file
    // cannot be read. `read_cpu_s` gets the CPU time spent reading, if any.
    std::shared_ptr<const CorpusAudio> acquire(std::size_t f, double& read_cpu_s) {
        Slot& slot = slots_[f];
        std::lock_guard<std::mutex> lock(slot.mutex);
        if (!slot.loaded) {
            slot.loaded = true;
            const double start = thread_cpu_s();
            try {
                auto audio = std::make_shared<CorpusAudio>();
                audio->samples = read_audio_file((corpus_ / files_[f]).string(), ReadOptions{}, &audio->info);
                slot.audio = std::move(audio);
            } catch (const std::exception& e) {
                slot.error = e.what();
            }
            read_cpu_s = thread_cpu_s() - start;
        }
        if (!slot.audio) throw Error(slot.error);
        return slot.audio;
    }

    void release(std::size_t f) {
        Slot& slot = slots_[f];
        std::lock_guard<std::mutex> lock(slot.mutex);
        if (slot.remaining > 0 && --slot.remaining == 0) slot.audio.reset();
    }

private:
    struct Slot {
        std::mutex mutex;
        bool loaded = false;
        std::shared_ptr<const CorpusAudio> audio;
        std::string error;
        std::size_t remaining = 0;
    };
    fs::path corpus_;
    const std::vector<std::string>& files_;
    std::vector<Slot> slots_;
};

// What a job hands to the writer (each job owns its slot until it finishes).
struct JobOutput {
    std::string row;     // results.csv, without the line end
    std::string events;  // events.jsonl, without the line end
    double read_cpu_s = 0, simulate_cpu_s = 0, analyze_cpu_s = 0;
};

std::string row_prefix(std::size_t job, const std::string& file, const SweepProfile& profile, bool ok,
                       const std::string& error, std::uint64_t seed) {
    return std::to_string(job) + ',' + csv_field(file) + ',' + csv_field(profile.name) + ',' + (ok ? "ok" : "error") +
           ',' + csv_field(one_line(error)) + ',' + std::to_string(seed) + ',' + settings_csv(profile);
}

std::string ok_row(std::size_t job, const std::string& file, const SweepProfile& profile, std::uint64_t seed,
                   const ChannelStats& channel, const AudioInfo& info, const AnalysisResult& r) {
    const AnalysisSummary& s = r.summary;
    return row_prefix(job, file, profile, true, "", seed) + ',' + format("%.2f", 100.0 * channel.loss.loss_rate()) +
           ',' + format("%.3f", info.duration_s()) + ',' + std::to_string(s.sibilants) + ',' +
           std::to_string(s.compared) + ',' + std::to_string(s.flagged) + ',' + std::to_string(s.lisp_flagged) + ',' +
           std::to_string(s.smearing_flagged) + ',' + std::to_string(s.dropouts) + ',' + format("%.2f", s.lisp_index) +
           ',' + format("%.2f", s.smearing_index) + ',' + format("%.0f", r.degraded_bandwidth_hz) + ',' +
           csv_field(s.verdict) + ',' + format("%.2f", r.alignment.delay_ms) + ',' + format("%.2f", r.alignment.gain_db);
}

std::string error_row(std::size_t job, const std::string& file, const SweepProfile& profile, std::uint64_t seed,
                      const std::string& error) {
    // The measured columns, realised_loss_percent .. gain_db, stay empty.
    return row_prefix(job, file, profile, false, error, seed) + std::string(14, ',');
}

// File names of kept audio: characters outside [A-Za-z0-9._=+-] become '_'.
std::string sanitised(const std::string& text) {
    std::string out = text;
    for (char& c : out) {
        const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '.' || c == '_' || c == '=' || c == '+' || c == '-';
        if (!keep) c = '_';
    }
    return out;
}

std::string audio_name(const std::string& file, const std::string& profile) {
    const fs::path relative(file);
    const std::string stem = (relative.parent_path() / relative.stem()).generic_string();
    return sanitised(stem) + "__" + sanitised(profile) + ".wav";
}

bool is_inside(const fs::path& inner, const fs::path& outer) {
    std::error_code ec;
    const fs::path a = fs::weakly_canonical(fs::absolute(inner, ec), ec);
    const fs::path b = fs::weakly_canonical(fs::absolute(outer, ec), ec);
    auto ai = a.begin();
    for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
        if (bi->empty()) continue;  // a trailing '/'
        if (ai == a.end() || *ai != *bi) return false;
    }
    return true;
}

// Creates `dir` (and its parents) if missing; returns whether it did.
bool make_folder(const fs::path& dir, const char* role) {
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec)) throw Error(std::string(role) + " " + dir.string() + ": not a folder");
        return false;
    }
    fs::create_directories(dir, ec);
    if (ec) throw Error(std::string(role) + " " + dir.string() + ": cannot create the folder: " + ec.message());
    return true;
}

}  // namespace

SweepReport run_sweep(const SweepProfiles& profiles, const SweepOptions& options) {
    const auto wall_start = std::chrono::steady_clock::now();
    if (profiles.profiles.empty()) throw Error(profiles.source + ": no profiles");
    if (options.out_dir.empty()) throw Error("no output folder given");
    const std::vector<std::string> files = list_sweep_corpus(options.corpus_dir);
    const fs::path out_dir(options.out_dir);
    if (is_inside(out_dir, options.corpus_dir))
        throw Error("output folder " + options.out_dir + " is inside the corpus " + options.corpus_dir +
                    ": its files would join the corpus; choose another --out");

    const std::uint64_t base_seed = options.seed.value_or(profiles.seed);
    const std::vector<SweepProfile>& list = profiles.profiles;
    const ordered_json description = sweep_json(options.corpus_dir, base_seed, files, list, options.shard);
    Plan plan;
    plan.files = files;
    for (const SweepProfile& p : list) plan.profiles.push_back(p.name);

    if (options.keep_audio) {
        std::map<std::string, std::size_t> names;
        for (std::size_t job = 0; job < plan.jobs(); ++job) {
            const auto [it, fresh] = names.emplace(audio_name(plan.file_of(job), plan.profile_of(job)), job);
            if (!fresh)
                throw Error("--keep-audio: jobs " + std::to_string(it->second) + " and " + std::to_string(job) +
                            " would both write audio/" + it->first + " (file and profile names too alike)");
        }
    }

    // Set up the folder; if that fails, leave nothing behind.
    const bool created = make_folder(out_dir, "output folder");
    std::unique_ptr<FolderLock> lock;
    IndexedLines done;
    try {
        lock = std::make_unique<FolderLock>(out_dir);
        const fs::path sweep_path = out_dir / kSweepJson;
        std::error_code ec;
        if (fs::exists(sweep_path, ec)) {
            const std::string difference = describe_difference(description, read_sweep_json(sweep_path));
            if (!difference.empty())
                throw Error(options.out_dir + " holds another sweep; it differs in " + difference +
                            ". Use a new --out (or remove that folder)");
        } else if (fs::exists(out_dir / kResultsCsv, ec) || fs::exists(out_dir / kEventsJsonl, ec)) {
            throw Error(options.out_dir + " holds results.csv or events.jsonl but no sweep.json; use a new --out");
        } else {
            write_text_file(sweep_path, sweep_json_text(description));
        }
        if (options.keep_audio) make_folder(out_dir / "audio", "audio folder");
        index_lines(out_dir, plan, 0, 1, done);
        keep_done(done);
        for (auto it = done.rows.begin(); it != done.rows.end();) {  // a row of another shard does not count
            if (in_shard(it->first, options.shard)) ++it;
            else it = done.rows.erase(it);
        }
        for (auto it = done.events.begin(); it != done.events.end();) {
            if (done.rows.count(it->first)) ++it;
            else it = done.events.erase(it);
        }
        const std::vector<fs::path> sources = {out_dir / kResultsCsv, out_dir / kEventsJsonl};
        write_sorted(sources[0], std::string(kSweepCsvHeader) + "\n", sources, done.rows);
        write_sorted(sources[1], "", sources, done.events);
    } catch (...) {
        lock.reset();
        std::error_code ec;
        if (created) fs::remove_all(out_dir, ec);
        throw;
    }

    SweepReport report;
    std::vector<std::size_t> todo;
    std::vector<std::size_t> jobs_per_file(files.size(), 0);
    for (std::size_t job = 0; job < plan.jobs(); ++job) {
        if (!in_shard(job, options.shard)) continue;
        ++report.jobs;
        if (done.rows.count(job)) {
            ++report.skipped;
            continue;
        }
        todo.push_back(job);
        ++jobs_per_file[job / list.size()];
    }

    AudioCache cache(options.corpus_dir, files, jobs_per_file);
    std::vector<JobOutput> outputs(todo.size());
    std::vector<BatchJob> jobs;
    jobs.reserve(todo.size());
    for (std::size_t i = 0; i < todo.size(); ++i) {
        jobs.emplace_back([&, i]() -> std::string {
            const std::size_t job = todo[i];
            const std::size_t f = job / list.size();
            const SweepProfile& profile = list[job % list.size()];
            const std::string& file = files[f];
            JobOutput& out = outputs[i];
            struct Release {
                AudioCache& cache;
                std::size_t f;
                ~Release() { cache.release(f); }
            } release{cache, f};
            const std::shared_ptr<const CorpusAudio> audio = cache.acquire(f, out.read_cpu_s);

            const std::uint64_t seed = sweep_job_seed(base_seed, file, profile.name);
            OpusSettings opus = profile.opus;
            // As simulate_file: the opus_demo path for 16-bit sources.
            opus.input_depth_bits = audio->info.sample_format == SampleFormat::Pcm16 ? 16 : 24;
            const double t0 = thread_cpu_s();
            ChannelStats channel;
            const std::vector<float> decoded = run_opus_channel(audio->samples, opus, profile.loss, seed, &channel);
            const double t1 = thread_cpu_s();
            out.simulate_cpu_s = t1 - t0;
            if (options.keep_audio)
                write_audio_file((out_dir / "audio" / audio_name(file, profile.name)).string(), decoded,
                                 kInternalRateHz, audio->info.sample_format);
            const double t2 = thread_cpu_s();
            AnalysisResult result = analyze(audio->samples, decoded);
            out.analyze_cpu_s = thread_cpu_s() - t2;
            result.reference = file;
            result.degraded.clear();

            out.row = ok_row(job, file, profile, seed, channel, audio->info, result);
            out.events = "{\"job\":" + std::to_string(job) + ",\"file\":" + json_string(file) +
                         ",\"profile\":" + json_string(profile.name) + ",\"seed\":" + std::to_string(seed) +
                         ",\"result\":" + to_json(result, false) + "}";
            return {};
        });
    }

    {
        AppendFile events(out_dir / kEventsJsonl);
        AppendFile rows(out_dir / kResultsCsv);
        BatchOptions batch;
        batch.threads = options.threads;
        batch.on_progress = options.on_progress;
        batch.on_result = [&](std::size_t i, const BatchResult& r) {
            const std::size_t job = todo[i];
            const std::string& file = plan.file_of(job);
            const SweepProfile& profile = list[job % list.size()];
            JobOutput& out = outputs[i];
            report.read_cpu_s += out.read_cpu_s;
            report.simulate_cpu_s += out.simulate_cpu_s;
            report.analyze_cpu_s += out.analyze_cpu_s;
            if (r.ok) {
                events.write_line(out.events);  // first: the row below marks the job done
                rows.write_line(out.row);
            } else {
                rows.write_line(error_row(job, file, profile, sweep_job_seed(base_seed, file, profile.name), r.error));
            }
            out = JobOutput{};  // free the text
            if (options.on_job) options.on_job(SweepJobDone{job, file, profile.name, r.ok, r.ok ? "" : r.error});
        };
        run_batch(jobs, batch);
    }

    // Finished: both files sorted by job, as an uninterrupted run writes them.
    IndexedLines final_lines;
    index_lines(out_dir, plan, 0, 1, final_lines);
    const std::vector<fs::path> sources = {out_dir / kResultsCsv, out_dir / kEventsJsonl};
    write_sorted(sources[0], std::string(kSweepCsvHeader) + "\n", sources, final_lines.rows);
    write_sorted(sources[1], "", sources, final_lines.events);
    for (const auto& [job, ref] : final_lines.rows) report.failed += ref.ok ? 0 : 1;
    report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return report;
}

MergeReport merge_sweeps(const std::vector<std::string>& shard_dirs, const std::string& out_dir) {
    if (shard_dirs.empty()) throw Error("merge: no shard folders given");
    std::vector<ordered_json> descriptions;
    for (const std::string& dir : shard_dirs) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) throw Error("shard folder " + dir + ": no such folder");
        const fs::path path = fs::path(dir) / kSweepJson;
        if (!fs::exists(path, ec)) throw Error("shard folder " + dir + ": no sweep.json (not a sweep output)");
        descriptions.push_back(read_sweep_json(path));
    }
    for (std::size_t i = 1; i < descriptions.size(); ++i) {
        const std::string difference = describe_difference(descriptions[i], descriptions[0], "shard");
        if (!difference.empty())
            throw Error(shard_dirs[i] + " and " + shard_dirs[0] + " are not shards of one sweep; they differ in " +
                        difference);
    }
    for (std::size_t i = 0; i < shard_dirs.size(); ++i)
        for (std::size_t k = i + 1; k < shard_dirs.size(); ++k)
            if (fs::equivalent(shard_dirs[i], shard_dirs[k]))
                throw Error("shard folder " + shard_dirs[k] + " is given twice");

    const Plan plan = plan_of(descriptions[0]);
    std::vector<fs::path> sources;
    std::map<std::size_t, LineRef> rows, events;
    std::map<std::size_t, std::size_t> row_owner;  // job -> shard folder index
    for (std::size_t s = 0; s < shard_dirs.size(); ++s) {
        IndexedLines lines;
        index_lines(shard_dirs[s], plan, sources.size(), sources.size() + 1, lines);
        sources.push_back(fs::path(shard_dirs[s]) / kResultsCsv);
        sources.push_back(fs::path(shard_dirs[s]) / kEventsJsonl);
        for (const auto& [job, ref] : lines.rows) {
            if (ref.ok && !lines.events.count(job)) continue;  // not committed: missing below
            const auto [it, fresh] = row_owner.emplace(job, s);
            if (!fresh)
                throw Error("job " + std::to_string(job) + " (" + plan.file_of(job) + ", " + plan.profile_of(job) +
                            ") is in both " + shard_dirs[it->second] + " and " + shard_dirs[s]);
            rows[job] = ref;
            if (ref.ok) events[job] = lines.events.at(job);
        }
    }
    std::vector<std::size_t> missing;
    for (std::size_t job = 0; job < plan.jobs(); ++job)
        if (!rows.count(job)) missing.push_back(job);
    if (!missing.empty()) {
        std::string names;
        for (std::size_t i = 0; i < missing.size() && i < 5; ++i)
            names += (i ? "; " : "") + std::to_string(missing[i]) + " (" + plan.file_of(missing[i]) + ", " +
                     plan.profile_of(missing[i]) + ")";
        if (missing.size() > 5) names += "; ...";
        throw Error(std::to_string(missing.size()) + " of " + std::to_string(plan.jobs()) +
                    " jobs are missing (a shard is absent or did not finish; rerun it): jobs " + names);
    }

    const fs::path out(out_dir);
    const bool created = make_folder(out, "output folder");
    try {
        std::error_code ec;
        if (fs::exists(out / kSweepJson, ec)) throw Error(out_dir + " already holds a sweep.json; use a new --out");
        FolderLock lock(out);
        ordered_json merged = descriptions[0];
        merged["shard"] = nullptr;
        write_sorted(out / kResultsCsv, std::string(kSweepCsvHeader) + "\n", sources, rows);
        write_sorted(out / kEventsJsonl, "", sources, events);
        write_text_file(out / kSweepJson, sweep_json_text(merged));  // last: marks the merge complete
    } catch (...) {
        std::error_code ec;
        if (created) fs::remove_all(out, ec);
        throw;
    }
    MergeReport report;
    report.jobs = rows.size();
    for (const auto& [job, ref] : rows) report.failed += ref.ok ? 0 : 1;
    return report;
}

}  // namespace sibilant
