// Statistics over a sweep's results.csv; see sibilant/compare.hpp for the
// definitions. nlohmann::json stays inside this file.
#include "sibilant/compare.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "dsp/stable_random.hpp"
#include "io/csv.hpp"
#include "sibilant/error.hpp"

namespace sibilant {

namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// --- reading results.csv ----------------------------------------------------------

// One field being parsed, with what an error message needs to name it.
struct Field {
    const std::string& text;
    const std::string& where;  // "FILE: line N"
    const char* column;

    [[noreturn]] void fail(const std::string& expected) const {
        throw Error(where + ", column " + column + ": expected " + expected + ", found '" + text + "'");
    }
    template <typename T>
    T integer() const {
        T value{};
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size()) fail("an integer");
        return value;
    }
    double number() const {
        // from_chars: locale-independent, and it must use the whole field.
        double value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size()) fail("a number");
        return value;
    }
    // The indices feed the statistics, so garbage there is an error, not a NaN.
    double score() const {
        const double value = number();
        if (!(value >= 0.0 && value <= 100.0)) fail("a score from 0 to 100");
        return value;
    }
    bool boolean() const {
        if (text == "true") return true;
        if (text == "false") return false;
        fail("true or false");
    }
};

struct Column {
    const char* name;
    bool required;
    void (*set)(SweepRow& row, const Field& field);
};

// Every SweepRow column, in the contract's order. Only the ones the statistics
// cannot do without are required, so that a hand-made CSV can stay short.
const std::vector<Column>& known_columns() {
    static const std::vector<Column> columns = {
        {"job", false, [](SweepRow& r, const Field& f) { r.job = f.integer<std::size_t>(); }},
        {"file", true, [](SweepRow& r, const Field& f) { r.file = f.text; }},
        {"profile", true, [](SweepRow& r, const Field& f) { r.profile = f.text; }},
        {"status", true,
         [](SweepRow& r, const Field& f) {
             if (f.text != "ok" && f.text != "error") f.fail("ok or error");
             r.status = f.text;
         }},
        {"error", false, [](SweepRow& r, const Field& f) { r.error = f.text; }},
        {"seed", false, [](SweepRow& r, const Field& f) { r.seed = f.integer<std::uint64_t>(); }},
        {"bitrate_bps", true, [](SweepRow& r, const Field& f) { r.bitrate_bps = f.integer<int>(); }},
        {"application", false, [](SweepRow& r, const Field& f) { r.application = f.text; }},
        {"complexity", false, [](SweepRow& r, const Field& f) { r.complexity = f.integer<int>(); }},
        {"frame_ms", false, [](SweepRow& r, const Field& f) { r.frame_ms = f.number(); }},
        {"bandwidth", false, [](SweepRow& r, const Field& f) { r.bandwidth = f.text; }},
        {"max_bandwidth", false, [](SweepRow& r, const Field& f) { r.max_bandwidth = f.text; }},
        {"rate_control", false, [](SweepRow& r, const Field& f) { r.rate_control = f.text; }},
        {"signal", false, [](SweepRow& r, const Field& f) { r.signal = f.text; }},
        {"fec", false, [](SweepRow& r, const Field& f) { r.fec = f.boolean(); }},
        {"expected_loss_percent", false,
         [](SweepRow& r, const Field& f) { r.expected_loss_percent = f.integer<int>(); }},
        {"dtx", false, [](SweepRow& r, const Field& f) { r.dtx = f.boolean(); }},
        {"loss", false, [](SweepRow& r, const Field& f) { r.loss = f.text; }},
        {"loss_percent", false, [](SweepRow& r, const Field& f) { r.loss_percent = f.number(); }},
        {"realised_loss_percent", false,
         [](SweepRow& r, const Field& f) { r.realised_loss_percent = f.number(); }},
        {"duration_s", false, [](SweepRow& r, const Field& f) { r.duration_s = f.number(); }},
        {"sibilants", false, [](SweepRow& r, const Field& f) { r.sibilants = f.integer<int>(); }},
        {"compared", false, [](SweepRow& r, const Field& f) { r.compared = f.integer<int>(); }},
        {"flagged", false, [](SweepRow& r, const Field& f) { r.flagged = f.integer<int>(); }},
        {"lisp_flagged", false, [](SweepRow& r, const Field& f) { r.lisp_flagged = f.integer<int>(); }},
        {"smearing_flagged", false, [](SweepRow& r, const Field& f) { r.smearing_flagged = f.integer<int>(); }},
        {"dropouts", false, [](SweepRow& r, const Field& f) { r.dropouts = f.integer<int>(); }},
        {"lisp_index", true, [](SweepRow& r, const Field& f) { r.lisp_index = f.score(); }},
        {"smearing_index", true, [](SweepRow& r, const Field& f) { r.smearing_index = f.score(); }},
        {"degraded_bandwidth_hz", false,
         [](SweepRow& r, const Field& f) { r.degraded_bandwidth_hz = f.number(); }},
        {"verdict", false, [](SweepRow& r, const Field& f) { r.verdict = f.text; }},
        {"delay_ms", false, [](SweepRow& r, const Field& f) { r.delay_ms = f.number(); }},
        {"gain_db", false, [](SweepRow& r, const Field& f) { r.gain_db = f.number(); }},
    };
    return columns;
}

}  // namespace

std::vector<SweepRow> read_sweep_results(const std::string& csv_or_folder) {
    std::error_code ec;
    const std::string path = fs::is_directory(csv_or_folder, ec)
                                 ? (fs::path(csv_or_folder) / "results.csv").string()
                                 : csv_or_folder;
    std::ifstream in = open_csv_file(path);
    CsvRecordReader reader(in);

    // Position in the file's fields of each known column present.
    struct Present {
        const Column* column;
        std::size_t position;
    };
    std::vector<Present> present;
    std::size_t header_fields = 0;
    bool have_header = false;
    std::vector<SweepRow> rows;
    std::string record;
    while (reader.next(record)) {
        if (csv_trim(record).empty()) continue;
        const std::string where = path + ": line " + std::to_string(reader.line());
        const std::vector<std::string> fields = split_csv_line(record, where);
        if (!have_header) {
            for (const Column& column : known_columns()) {
                const auto found = std::find(fields.begin(), fields.end(), column.name);
                if (found == fields.end()) {
                    if (column.required)
                        throw Error(where + ": the header lacks the column " + column.name +
                                    " (is this a sweep's results.csv?)");
                    continue;
                }
                if (std::find(found + 1, fields.end(), column.name) != fields.end())
                    throw Error(where + ": the header names the column " + column.name + " twice");
                present.push_back({&column, static_cast<std::size_t>(found - fields.begin())});
            }
            header_fields = fields.size();
            have_header = true;
            continue;
        }
        // A count that differs from the header's is almost always a quoting
        // slip; reading on would shift every column after it.
        if (fields.size() != header_fields)
            throw Error(where + ": expected " + std::to_string(header_fields) + " fields as in the header, found " +
                        std::to_string(fields.size()));
        SweepRow row;
        // status first: it decides whether empty fields are allowed.
        const bool ok_row = [&] {
            for (const Present& p : present)
                if (std::string(p.column->name) == "status") {
                    const Field field{fields[p.position], where, "status"};
                    p.column->set(row, field);
                }
            return row.status == "ok";
        }();
        for (const Present& p : present) {
            const std::string& text = fields[p.position];
            const std::string name = p.column->name;
            if (name == "status") continue;
            if (text.empty()) {
                if (!ok_row || name == "error") continue;
                throw Error(where + ", column " + name + ": empty in a row with status ok");
            }
            p.column->set(row, Field{text, where, p.column->name});
        }
        rows.push_back(std::move(row));
    }
    if (in.bad()) throw Error(path + ": read error");
    if (!have_header) throw Error(path + ": empty; expected a sweep's results.csv with a header row");
    if (rows.empty()) throw Error(path + ": lists no results (only the header)");
    return rows;
}

// --- statistics --------------------------------------------------------------------

namespace {

// Quantile q of sorted values, linear interpolation between order
// statistics (R's type 7).
double quantile(const std::vector<double>& sorted, double q) {
    const double h = q * static_cast<double>(sorted.size() - 1);
    const std::size_t below = static_cast<std::size_t>(std::floor(h));
    if (below + 1 >= sorted.size()) return sorted.back();
    return sorted[below] + (h - static_cast<double>(below)) * (sorted[below + 1] - sorted[below]);
}

double mean_of(const std::vector<double>& values) {
    double sum = 0;
    for (double v : values) sum += v;
    return sum / static_cast<double>(values.size());
}

// Means of x and y (one value per file each) with percentile-bootstrap CIs;
// both use the same resampled files.
std::pair<MeanCi, MeanCi> bootstrap_means(const std::vector<double>& x, const std::vector<double>& y,
                                          const CompareOptions& options, const std::string& stream_name) {
    const std::size_t n = x.size();
    MeanCi cx, cy;
    cx.n = cy.n = static_cast<int>(n);
    if (n == 0) {
        cx.mean = cx.low = cx.high = cy.mean = cy.low = cy.high = kNaN;
        return {cx, cy};
    }
    cx.mean = mean_of(x);
    cy.mean = mean_of(y);
    if (n == 1) {  // every resample is the one file
        cx.low = cx.high = cx.mean;
        cy.low = cy.high = cy.mean;
        return {cx, cy};
    }
    SplitMix64 rng(options.seed ^ fnv1a64(stream_name));
    const std::size_t resamples = static_cast<std::size_t>(options.bootstrap_resamples);
    std::vector<double> means_x(resamples), means_y(resamples);
    for (std::size_t b = 0; b < resamples; ++b) {
        double sum_x = 0, sum_y = 0;
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t i = rng.index(n);
            sum_x += x[i];
            sum_y += y[i];
        }
        means_x[b] = sum_x / static_cast<double>(n);
        means_y[b] = sum_y / static_cast<double>(n);
    }
    std::sort(means_x.begin(), means_x.end());
    std::sort(means_y.begin(), means_y.end());
    const double tail = (1.0 - options.confidence) / 2.0;
    cx.low = quantile(means_x, tail);
    cx.high = quantile(means_x, 1.0 - tail);
    cy.low = quantile(means_y, tail);
    cy.high = quantile(means_y, 1.0 - tail);
    return {cx, cy};
}

// One profile's ok files, in row order.
struct ProfileSample {
    std::vector<std::string> files;
    std::vector<double> lisp, smearing;
    std::map<std::string, std::size_t> index_of_file;
};

// The settings that make up a loss group (all but bitrate_bps), as
// (name, value) in the order a group label names them: loss first.
std::vector<std::pair<std::string, std::string>> group_settings(const SweepRow& s) {
    char frame_ms[32];
    std::snprintf(frame_ms, sizeof frame_ms, "%g", s.frame_ms);
    const auto text = [](bool b) { return std::string(b ? "true" : "false"); };
    return {{"loss", s.loss},
            {"fec", text(s.fec)},
            {"expected_loss_percent", std::to_string(s.expected_loss_percent)},
            {"dtx", text(s.dtx)},
            {"application", s.application},
            {"complexity", std::to_string(s.complexity)},
            {"frame_ms", frame_ms},
            {"bandwidth", s.bandwidth},
            {"max_bandwidth", s.max_bandwidth},
            {"rate_control", s.rate_control},
            {"signal", s.signal}};
}

void check_options(const CompareOptions& o) {
    if (o.bootstrap_resamples < 1 || o.bootstrap_resamples > 10'000'000)
        throw Error("bootstrap resamples must be 1 to 10000000, not " + std::to_string(o.bootstrap_resamples));
    if (!(o.confidence > 0.0 && o.confidence < 1.0))
        throw Error("confidence must be between 0 and 1 (exclusive), not " + std::to_string(o.confidence));
    if (!(o.knee_lisp_threshold >= 0.0 && o.knee_lisp_threshold <= 100.0))
        throw Error("knee lisp_index threshold must be 0 to 100, not " + std::to_string(o.knee_lisp_threshold));
}

}  // namespace

SweepStats compare_profiles(const std::vector<SweepRow>& rows, const CompareOptions& options) {
    check_options(options);
    SweepStats stats;
    stats.options = options;

    // Profiles in order of first appearance, and their samples.
    std::map<std::string, std::size_t> profile_index;
    std::vector<ProfileSample> samples;
    std::map<std::pair<std::string, std::string>, std::size_t> job_of;  // (profile, file) -> job, for duplicates
    for (const SweepRow& row : rows) {
        const auto [it, added] = profile_index.emplace(row.profile, stats.profiles.size());
        if (added) {
            ProfileStats p;
            p.profile = row.profile;
            p.settings = row;
            stats.profiles.push_back(std::move(p));
            samples.emplace_back();
        }
        const auto [seen, first] = job_of.emplace(std::make_pair(row.profile, row.file), row.job);
        if (!first)
            throw Error("two results for file '" + row.file + "' and profile '" + row.profile + "' (jobs " +
                        std::to_string(seen->second) + " and " + std::to_string(row.job) +
                        "); merge shards without overlap");
        ProfileStats& p = stats.profiles[it->second];
        if (row.status != "ok") {
            ++p.failed;
            continue;
        }
        if (row.verdict == "no-sibilants" || row.verdict == "not-compared") {
            ++p.unscored;
            continue;
        }
        ProfileSample& s = samples[it->second];
        s.index_of_file.emplace(row.file, s.files.size());
        s.files.push_back(row.file);
        s.lisp.push_back(row.lisp_index);
        s.smearing.push_back(row.smearing_index);
    }
    for (std::size_t i = 0; i < stats.profiles.size(); ++i) {
        ProfileStats& p = stats.profiles[i];
        p.files = static_cast<int>(samples[i].files.size());
        std::tie(p.lisp, p.smearing) = bootstrap_means(samples[i].lisp, samples[i].smearing, options, p.profile);
    }

    // Loss groups, in order of first appearance; members in profile order.
    std::vector<std::vector<std::size_t>> groups;
    {
        std::map<std::vector<std::pair<std::string, std::string>>, std::size_t> group_of;
        for (std::size_t i = 0; i < stats.profiles.size(); ++i) {
            const auto [it, added] = group_of.emplace(group_settings(stats.profiles[i].settings), groups.size());
            if (added) groups.emplace_back();
            groups[it->second].push_back(i);
        }
    }
    // Members by bitrate; stable, so equal bitrates keep profile order.
    for (auto& members : groups)
        std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
            return stats.profiles[a].settings.bitrate_bps < stats.profiles[b].settings.bitrate_bps;
        });

    // Pairs: the named ones first (the user's questions), then the selection.
    const auto find_profile = [&](const std::string& name) {
        const auto it = profile_index.find(name);
        if (it == profile_index.end()) {
            std::string known;
            for (const ProfileStats& p : stats.profiles) known += (known.empty() ? "" : ", ") + p.profile;
            throw Error("no profile named '" + name + "' in the results (profiles: " + known + ")");
        }
        return it->second;
    };
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    std::set<std::pair<std::size_t, std::size_t>> same_two;  // either direction
    const auto add_pair = [&](std::size_t a, std::size_t b) {
        if (same_two.count({a, b})) return;
        same_two.insert({a, b});
        same_two.insert({b, a});
        pairs.emplace_back(a, b);
    };
    for (const auto& [a, b] : options.extra_pairs) {
        if (a == b) throw Error("pair '" + a + "," + b + "' compares a profile with itself");
        add_pair(find_profile(a), find_profile(b));
    }
    const bool all = options.pair_selection == PairSelection::All ||
                     (options.pair_selection == PairSelection::Automatic && stats.profiles.size() <= 12);
    if (all) {
        for (std::size_t a = 0; a < stats.profiles.size(); ++a)
            for (std::size_t b = a + 1; b < stats.profiles.size(); ++b) add_pair(a, b);
    } else if (options.pair_selection == PairSelection::Automatic) {
        for (const auto& members : groups)
            for (std::size_t k = 0; k + 1 < members.size(); ++k) add_pair(members[k], members[k + 1]);
    }
    for (const auto& [a, b] : pairs) {
        const ProfileSample& sa = samples[a];
        const ProfileSample& sb = samples[b];
        std::vector<double> lisp_difference, smearing_difference;
        int lower = 0, higher = 0;
        for (std::size_t i = 0; i < sa.files.size(); ++i) {
            const auto j = sb.index_of_file.find(sa.files[i]);
            if (j == sb.index_of_file.end()) continue;
            lisp_difference.push_back(sa.lisp[i] - sb.lisp[j->second]);
            smearing_difference.push_back(sa.smearing[i] - sb.smearing[j->second]);
            lower += sa.lisp[i] < sb.lisp[j->second];
            higher += sa.lisp[i] > sb.lisp[j->second];
        }
        PairedComparison c;
        c.a = stats.profiles[a].profile;
        c.b = stats.profiles[b].profile;
        c.files = static_cast<int>(lisp_difference.size());
        std::tie(c.lisp_difference, c.smearing_difference) =
            bootstrap_means(lisp_difference, smearing_difference, options, c.a + '\0' + c.b);
        c.share_a_lower_lisp = c.files ? static_cast<double>(lower) / c.files : kNaN;
        c.share_a_higher_lisp = c.files ? static_cast<double>(higher) / c.files : kNaN;
        stats.pairs.push_back(std::move(c));
    }

    // Knees. A group's label names the settings that differ between groups.
    std::vector<bool> differs;
    for (const auto& members : groups) {
        const auto first = group_settings(stats.profiles[groups[0][0]].settings);
        const auto here = group_settings(stats.profiles[members[0]].settings);
        differs.resize(first.size(), false);
        for (std::size_t k = 0; k < first.size(); ++k) differs[k] = differs[k] || first[k].second != here[k].second;
    }
    const double threshold = options.knee_lisp_threshold;
    for (const auto& members : groups) {
        Knee knee;
        const SweepRow& settings = stats.profiles[members[0]].settings;
        const auto named = group_settings(settings);
        for (std::size_t k = 0; k < named.size(); ++k)
            if (differs[k]) knee.group += (knee.group.empty() ? "" : ", ") + named[k].first + "=" + named[k].second;
        if (knee.group.empty()) knee.group = "all profiles";
        for (std::size_t i : members) stats.profiles[i].loss_group = knee.group;
        knee.loss_percent = settings.loss_percent;
        knee.fec = settings.fec;
        knee.lisp_index = kNaN;
        for (std::size_t i : members) {
            const ProfileStats& p = stats.profiles[i];
            if (p.files == 0) continue;
            if (knee.bitrate_bps == 0) {
                if (p.lisp.mean < threshold) {
                    knee.bitrate_bps = p.settings.bitrate_bps;
                    knee.profile = p.profile;
                    knee.lisp_index = p.lisp.mean;
                    knee.ci_under = p.lisp.high < threshold;
                }
            } else if (p.settings.bitrate_bps > knee.bitrate_bps && p.lisp.mean >= threshold) {
                ++knee.higher_bitrates_over;
            }
        }
        stats.knees.push_back(std::move(knee));
    }
    return stats;
}

// --- text --------------------------------------------------------------------------

namespace {

std::string format(const char* pattern, double value) {
    if (!std::isfinite(value)) return "-";
    char text[64];
    std::snprintf(text, sizeof text, pattern, value + 0.0);  // + 0.0: no "-0.0"
    return text;
}

std::string with_ci(const MeanCi& m) {
    if (m.n == 0) return "-";
    return format("%.1f", m.mean) + " [" + format("%.1f", m.low) + ", " + format("%.1f", m.high) + "]";
}

std::string kbps(int bitrate_bps) { return format("%g", bitrate_bps / 1000.0) + " kbps"; }

std::string pad(std::string s, std::size_t width, bool right = false) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

// The size of a difference A - B with its interval, "3.1 [1.2, 5.0]": turned
// round when negative, so that it reads with "lower by".
std::string size_with_ci(const MeanCi& d) {
    const double sign = d.mean < 0 ? -1.0 : 1.0;
    const double a = sign * d.low, b = sign * d.high;
    return format("%.1f", sign * d.mean) + " [" + format("%.1f", std::min(a, b)) + ", " +
           format("%.1f", std::max(a, b)) + "]";
}

std::string unclear_note(const MeanCi& d) {
    return d.mean != 0 && d.low <= 0 && d.high >= 0 ? " (the interval includes 0: no clear difference)" : "";
}

// " (higher in 2, equal in 1)", leaving out the counts that are 0.
std::string others(const char* direction, int count, int equal) {
    std::string text;
    if (count) text += std::string(direction) + " in " + std::to_string(count);
    if (equal) text += (text.empty() ? "" : ", ") + std::string("equal in ") + std::to_string(equal);
    return text.empty() ? "" : " (" + text + ")";
}

// "A has a lower lisp_index than B by 3.1 [1.2, 5.0] points; lower in 17 of
// 20 files (higher in 2, equal in 1)", then the smearing difference.
std::string pair_text(const PairedComparison& c) {
    if (c.files == 0) return "  " + c.a + " vs " + c.b + ": no file has results in both\n";
    const int lower = static_cast<int>(std::lround(c.share_a_lower_lisp * c.files));
    const int higher = static_cast<int>(std::lround(c.share_a_higher_lisp * c.files));
    const int equal = c.files - lower - higher;
    const std::string of = " of " + std::to_string(c.files) + (c.files == 1 ? " file" : " files");
    const MeanCi& d = c.lisp_difference;
    std::string text = "  " + c.a;
    if (d.mean < 0) {
        text += " has a lower lisp_index than " + c.b + " by " + size_with_ci(d) + " points" + unclear_note(d) +
                "; lower in " + std::to_string(lower) + of + others("higher", higher, equal);
    } else if (d.mean > 0) {
        text += " has a higher lisp_index than " + c.b + " by " + size_with_ci(d) + " points" + unclear_note(d) +
                "; higher in " + std::to_string(higher) + of + others("lower", lower, equal);
    } else {
        text += " has the same mean lisp_index as " + c.b + " (difference 0.0 [" + format("%.1f", d.low) + ", " +
                format("%.1f", d.high) + "]); lower in " + std::to_string(lower) + ", higher in " +
                std::to_string(higher) + ", equal in " + std::to_string(equal) + of;
    }
    text += "\n    smearing_index: ";
    const MeanCi& m = c.smearing_difference;
    if (m.mean < 0) text += "lower by " + size_with_ci(m) + " points" + unclear_note(m);
    else if (m.mean > 0) text += "higher by " + size_with_ci(m) + " points" + unclear_note(m);
    else text += "the same (difference 0.0 [" + format("%.1f", m.low) + ", " + format("%.1f", m.high) + "])";
    return text + "\n";
}

const ProfileStats* find_stats(const SweepStats& stats, const std::string& profile) {
    for (const ProfileStats& p : stats.profiles)
        if (p.profile == profile) return &p;
    return nullptr;
}

}  // namespace

std::string to_text(const SweepStats& stats) {
    const CompareOptions& o = stats.options;
    const std::string ci = format("%g", o.confidence * 100) + "% CI";
    const std::string threshold = format("%g", o.knee_lisp_threshold);
    int files = 0, failed = 0, unscored = 0;
    for (const ProfileStats& p : stats.profiles) {
        files += p.files;
        failed += p.failed;
        unscored += p.unscored;
    }
    std::string text = std::to_string(stats.profiles.size()) + " profiles, " + std::to_string(files) +
                       " scored results; left out: " + std::to_string(failed) + " failed, " +
                       std::to_string(unscored) + " without sibilants to score.\nMeans over files with " + ci +
                       "s: percentile bootstrap, files resampled with replacement, " +
                       std::to_string(o.bootstrap_resamples) + " resamples, seed " + std::to_string(o.seed) +
                       ".\n\n";

    // The table: columns as wide as their widest cell.
    const std::vector<std::string> header = {"profile", "files", "failed", "unscored", "lisp_index [" + ci + "]",
                                             "smearing_index [" + ci + "]"};
    std::vector<std::vector<std::string>> cells;
    for (const ProfileStats& p : stats.profiles)
        cells.push_back({p.profile, std::to_string(p.files), std::to_string(p.failed), std::to_string(p.unscored),
                         with_ci(p.lisp),
                         with_ci(p.smearing)});
    std::vector<std::size_t> width;
    for (const std::string& h : header) width.push_back(h.size());
    for (const auto& row : cells)
        for (std::size_t k = 0; k < row.size(); ++k) width[k] = std::max(width[k], row[k].size());
    const auto table_line = [&](const std::vector<std::string>& row) {
        std::string line;
        for (std::size_t k = 0; k < row.size(); ++k) {
            const bool numeric = k >= 1 && k <= 3;
            line += (k ? "  " : "") + pad(row[k], k + 1 == row.size() ? 0 : width[k], numeric);
        }
        return line + "\n";
    };
    text += table_line(header);
    for (const auto& row : cells) text += table_line(row);

    if (!stats.pairs.empty()) {
        text += "\nPaired comparisons (A - B over the files both have, " + ci + "):\n";
        for (const PairedComparison& c : stats.pairs) text += pair_text(c);
    }

    if (!stats.knees.empty()) {
        text += "\nKnees (per loss group, the lowest bitrate whose mean lisp_index is under " + threshold + "):\n";
        for (const Knee& k : stats.knees) {
            text += "  " + k.group + ": ";
            if (k.bitrate_bps == 0) {
                text += "none; no bitrate has a mean lisp_index under " + threshold + "\n";
                continue;
            }
            const ProfileStats* p = find_stats(stats, k.profile);
            text += kbps(k.bitrate_bps) + " (" + k.profile + "), lisp_index " + (p ? with_ci(p->lisp) : format("%.1f", k.lisp_index));
            text += k.ci_under ? "; the whole interval is under " + threshold
                               : "; the interval reaches " + threshold + " or more, so the knee may lie higher";
            if (k.higher_bitrates_over)
                text += "; but " + std::to_string(k.higher_bitrates_over) + " higher bitrate" +
                        (k.higher_bitrates_over == 1 ? " is" : "s are") + " at or over " + threshold + " again";
            text += "\n";
        }
    }
    return text;
}

namespace {

using json = nlohmann::ordered_json;

json rounded(double value) {
    if (!std::isfinite(value)) return nullptr;
    return std::round(value * 1000.0) / 1000.0 + 0.0;  // + 0.0 turns -0 into 0
}

json mean_ci_json(const MeanCi& m) {
    return {{"mean", rounded(m.mean)}, {"low", rounded(m.low)}, {"high", rounded(m.high)}, {"n", m.n}};
}

}  // namespace

std::string to_json(const SweepStats& stats, bool pretty) {
    const CompareOptions& o = stats.options;
    json options = {{"bootstrap_resamples", o.bootstrap_resamples},
                    {"seed", o.seed},
                    {"confidence", o.confidence},
                    {"knee_lisp_threshold", o.knee_lisp_threshold}};
    json profiles = json::array();
    for (const ProfileStats& p : stats.profiles) {
        const SweepRow& s = p.settings;
        profiles.push_back({{"profile", p.profile},
                            {"files", p.files},
                            {"failed", p.failed},
                            {"unscored", p.unscored},
                            {"loss_group", p.loss_group},
                            {"settings",
                             {{"bitrate_bps", s.bitrate_bps},
                              {"application", s.application},
                              {"complexity", s.complexity},
                              {"frame_ms", s.frame_ms},
                              {"bandwidth", s.bandwidth},
                              {"max_bandwidth", s.max_bandwidth},
                              {"rate_control", s.rate_control},
                              {"signal", s.signal},
                              {"fec", s.fec},
                              {"expected_loss_percent", s.expected_loss_percent},
                              {"dtx", s.dtx},
                              {"loss", s.loss},
                              {"loss_percent", rounded(s.loss_percent)}}},
                            {"lisp_index", mean_ci_json(p.lisp)},
                            {"smearing_index", mean_ci_json(p.smearing)}});
    }
    json pairs = json::array();
    for (const PairedComparison& c : stats.pairs)
        pairs.push_back({{"a", c.a},
                         {"b", c.b},
                         {"files", c.files},
                         {"lisp_difference", mean_ci_json(c.lisp_difference)},
                         {"smearing_difference", mean_ci_json(c.smearing_difference)},
                         {"share_a_lower_lisp", rounded(c.share_a_lower_lisp)},
                         {"share_a_higher_lisp", rounded(c.share_a_higher_lisp)}});
    json knees = json::array();
    for (const Knee& k : stats.knees)
        knees.push_back({{"group", k.group},
                         {"loss_percent", rounded(k.loss_percent)},
                         {"fec", k.fec},
                         {"bitrate_bps", k.bitrate_bps},
                         {"profile", k.profile.empty() ? json(nullptr) : json(k.profile)},
                         {"lisp_index", rounded(k.lisp_index)},
                         {"ci_under", k.ci_under},
                         {"higher_bitrates_over", k.higher_bitrates_over}});
    const json j = {{"options", options}, {"profiles", profiles}, {"pairs", pairs}, {"knees", knees}};
    return pretty ? j.dump(2) : j.dump();
}

}  // namespace sibilant
