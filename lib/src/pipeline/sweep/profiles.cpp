// The profiles file: parsing, checking, and each profile's settings as
// results.csv, sweep.json and grid names write them.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "io/csv.hpp"
#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

namespace sweep_internal {

namespace {

const char* const kSettingKeys[] = {"bitrate_bps", "application", "complexity", "frame_ms",
                                    "bandwidth",   "max_bandwidth", "rate_control", "signal",
                                    "fec",         "expected_loss_percent", "dtx", "loss"};

const char* rate_control_text(RateControl value) { return to_string(value); }

RateControl parse_rate_control(const std::string& name) {
    if (name == "vbr") return RateControl::Vbr;
    if (name == "cvbr") return RateControl::ConstrainedVbr;
    if (name == "cbr") return RateControl::Cbr;
    throw Error("\"" + name + "\" is not one of vbr, cvbr, cbr");
}

int integer(const ordered_json& value) {
    if (!value.is_number_integer()) throw Error("expected an integer, got " + value.dump());
    const auto v = value.get<std::int64_t>();
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) throw Error(value.dump() + " is out of range");
    return static_cast<int>(v);
}

bool boolean(const ordered_json& value) {
    if (!value.is_boolean()) throw Error("expected true or false, got " + value.dump());
    return value.get<bool>();
}

std::string text(const ordered_json& value) {
    if (!value.is_string()) throw Error("expected a string, got " + value.dump());
    return value.get<std::string>();
}

}  // namespace

void ProfileParser::apply(SweepProfile& p, const std::string& key, const ordered_json& value) const {
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

void ProfileParser::apply_all(SweepProfile& p, const ordered_json& object, const std::string& where,
                          const std::set<std::string>& skip) const {
    for (const auto& [key, value] : object.items()) {
        if (skip.count(key)) continue;
        try {
            apply(p, key, value);
        } catch (const Error& e) {
            throw Error(where + ": key '" + key + "': " + e.what());
        }
    }
}

bool is_setting_key(const std::string& key) {
    return std::find(std::begin(kSettingKeys), std::end(kSettingKeys), key) != std::end(kSettingKeys);
}

std::string setting_keys_text() {
    std::string text;
    for (const char* key : kSettingKeys) text += (text.empty() ? "" : ", ") + std::string(key);
    return text;
}

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

std::string settings_csv(const SweepProfile& p) {
    std::string row;
    for (const char* key : kSettingKeys) row += csv_field(setting_text(p, key)) + ',';
    return row + format("%.2f", nominal_loss_percent(p.loss));
}

void check_name(const std::string& name, const std::string& where) {
    if (name.empty()) throw Error(where + ": empty name");
    if (has_control_char(name)) throw Error(where + ": the name holds a control character (line break, tab)");
}

}  // namespace sweep_internal

using namespace sweep_internal;

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

}  // namespace sibilant
