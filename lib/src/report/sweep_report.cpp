// The sweep page of `sibilant report --sweep`: rate-quality curves with CI
// bands per loss group, the profile table, the knees and the paired
// comparisons. See sibilant/report.hpp.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "report/html.hpp"
#include "report/svg_plot.hpp"
#include "sibilant/output_file.hpp"
#include "sibilant/report.hpp"

namespace sibilant {

using report::html::escape;
using report::html::fixed;
using report::svg::num;

namespace {

// The settings that make a loss group (all but bitrate_bps), as the CSV
// writes them, in its column order.
std::vector<std::pair<std::string, std::string>> group_settings(const SweepRow& s) {
    return {{"application", s.application},
            {"complexity", std::to_string(s.complexity)},
            {"frame_ms", num(s.frame_ms)},
            {"bandwidth", s.bandwidth},
            {"max_bandwidth", s.max_bandwidth},
            {"rate_control", s.rate_control},
            {"signal", s.signal},
            {"fec", s.fec ? "true" : "false"},
            {"expected_loss_percent", std::to_string(s.expected_loss_percent)},
            {"dtx", s.dtx ? "true" : "false"},
            {"loss", s.loss}};
}

struct LossGroup {
    std::string label;
    std::vector<const ProfileStats*> profiles;  // by bitrate; the first profile of a bitrate only
};

// Profiles grouped by everything but bitrate, in order of first appearance
// (the order compare_profiles() gives its knees). Labels name the settings
// that tell the groups apart; the knees' labels are used when they line up.
std::vector<LossGroup> loss_groups(const SweepStats& stats) {
    std::vector<LossGroup> groups;
    std::vector<std::vector<std::pair<std::string, std::string>>> keys;
    for (const ProfileStats& p : stats.profiles) {
        const auto key = group_settings(p.settings);
        const auto at = std::find(keys.begin(), keys.end(), key);
        if (at == keys.end()) {
            keys.push_back(key);
            groups.push_back({{}, {&p}});
        } else {
            groups[std::size_t(at - keys.begin())].profiles.push_back(&p);
        }
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
        auto& profiles = groups[g].profiles;
        std::stable_sort(profiles.begin(), profiles.end(), [](const ProfileStats* a, const ProfileStats* b) {
            return a->settings.bitrate_bps < b->settings.bitrate_bps;
        });
        profiles.erase(std::unique(profiles.begin(), profiles.end(),
                                   [](const ProfileStats* a, const ProfileStats* b) {
                                       return a->settings.bitrate_bps == b->settings.bitrate_bps;
                                   }),
                       profiles.end());
        std::string label;
        for (std::size_t k = 0; k < keys[g].size(); ++k) {
            const bool varies = std::any_of(keys.begin(), keys.end(), [&](const auto& other) { return other[k] != keys[g][k]; });
            if (varies) label += (label.empty() ? "" : ", ") + keys[g][k].first + "=" + keys[g][k].second;
        }
        groups[g].label = label.empty() ? "all profiles" : label;
    }
    if (stats.knees.size() == groups.size())
        for (std::size_t g = 0; g < groups.size(); ++g) groups[g].label = stats.knees[g].group;
    return groups;
}

std::string kbps(int bitrate_bps) { return num(bitrate_bps / 1000.0); }

std::string mean_ci(const MeanCi& m) {
    if (m.n == 0) return "&ndash;";
    return fixed(m.mean, 1) + " [" + fixed(m.low, 1) + ", " + fixed(m.high, 1) + "]";
}

// lisp_index or smearing_index against bitrate, one line and band per group.
std::string rate_plot(const SweepStats& stats, const std::vector<LossGroup>& groups, bool lisp) {
    report::svg::LinePlot plot;
    plot.css_class = lisp ? "rate-lisp" : "rate-smearing";
    plot.title = lisp ? "lisp_index vs bitrate" : "smearing_index vs bitrate";
    plot.x_label = "bitrate (kbps, log scale)";
    plot.y_label = lisp ? "lisp_index (mean, 95% CI)" : "smearing_index (mean, 95% CI)";
    plot.log_x = true;
    plot.width_px = 580;  // two side by side on a 1280 px window
    if (lisp) {
        plot.reference_y = stats.options.knee_lisp_threshold;
        plot.reference_label = "knee threshold " + num(stats.options.knee_lisp_threshold);
    }
    std::set<int> bitrates;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        report::svg::Series series;
        series.label = groups[g].label;
        series.colour = report::svg::category_colour(g);
        for (const ProfileStats* p : groups[g].profiles) {
            const MeanCi& m = lisp ? p->lisp : p->smearing;
            if (m.n == 0 || p->settings.bitrate_bps <= 0) continue;  // no ok file: no point
            series.x.push_back(p->settings.bitrate_bps / 1000.0);
            series.y.push_back(m.mean);
            series.low.push_back(m.low);
            series.high.push_back(m.high);
            bitrates.insert(p->settings.bitrate_bps);
        }
        plot.series.push_back(std::move(series));
    }
    // Ticks at the bitrates swept, thinned to about 10.
    const std::vector<int> all(bitrates.begin(), bitrates.end());
    const std::size_t step = (all.size() + 9) / 10;
    for (std::size_t i = 0; i < all.size(); i += std::max<std::size_t>(step, 1)) {
        plot.x_ticks.push_back(all[i] / 1000.0);
        plot.x_tick_labels.push_back(kbps(all[i]));
    }
    return report::svg::line_plot(plot);
}

std::string profile_table(const SweepStats& stats, const std::vector<LossGroup>& groups) {
    std::map<const ProfileStats*, std::string> group_of;
    for (const LossGroup& g : groups)
        for (const ProfileStats& p : stats.profiles)
            if (group_settings(p.settings) == group_settings(g.profiles.front()->settings)) group_of[&p] = g.label;
    std::string out =
        "<table class=\"profiles\">\n<tr><th>profile</th><th>bitrate (kbps)</th><th>loss group</th><th>files ok</th>"
        "<th>failed</th><th>lisp_index mean [95% CI]</th><th>smearing_index mean [95% CI]</th></tr>\n";
    for (const ProfileStats& p : stats.profiles)
        out += "<tr class=\"profile-row\"><td>" + escape(p.profile) + "</td><td class=\"num\">" +
               kbps(p.settings.bitrate_bps) + "</td><td>" + escape(group_of[&p]) + "</td><td class=\"num\">" +
               std::to_string(p.files) + "</td><td class=\"num\">" + std::to_string(p.failed) + "</td><td class=\"num\">" +
               mean_ci(p.lisp) + "</td><td class=\"num\">" + mean_ci(p.smearing) + "</td></tr>\n";
    return out + "</table>\n";
}

std::string knee_table(const SweepStats& stats) {
    std::string out = "<table class=\"knees\">\n<tr><th>loss group</th><th>knee (kbps)</th><th>lisp_index there</th>"
                      "<th>CI upper bound under " + num(stats.options.knee_lisp_threshold) +
                      "</th><th>profile</th><th>higher bitrates over again</th></tr>\n";
    for (const Knee& k : stats.knees)
        out += "<tr class=\"knee-row\"><td>" + escape(k.group) + "</td><td class=\"num\">" +
               (k.bitrate_bps > 0 ? kbps(k.bitrate_bps) : "none") + "</td><td class=\"num\">" + fixed(k.lisp_index, 1) +
               "</td><td>" + (k.bitrate_bps > 0 ? (k.ci_under ? "yes" : "no") : "&ndash;") + "</td><td>" +
               escape(k.profile) + "</td><td class=\"num\">" + std::to_string(k.higher_bitrates_over) + "</td></tr>\n";
    return out + "</table>\n";
}

std::string pair_table(const SweepStats& stats) {
    std::string out = "<table class=\"pairs\">\n<tr><th>A</th><th>B</th><th>files</th><th>lisp A &minus; B [95% CI]</th>"
                      "<th>smearing A &minus; B [95% CI]</th><th>A lisps less in</th></tr>\n";
    for (const PairedComparison& c : stats.pairs)
        out += "<tr class=\"pair-row\"><td>" + escape(c.a) + "</td><td>" + escape(c.b) + "</td><td class=\"num\">" +
               std::to_string(c.files) + "</td><td class=\"num\">" + mean_ci(c.lisp_difference) +
               "</td><td class=\"num\">" + mean_ci(c.smearing_difference) + "</td><td class=\"num\">" +
               (c.files > 0 ? fixed(100.0 * c.share_a_lower_lisp, 0) + "%" : "&ndash;") + "</td></tr>\n";
    return out + "</table>\n";
}

}  // namespace

std::string sweep_report_html(const SweepStats& stats, const std::vector<SweepRow>& rows, const std::string& title) {
    std::set<std::string> files;
    std::size_t failed = 0;
    for (const SweepRow& r : rows) {
        files.insert(r.file);
        failed += r.status == "ok" ? 0 : 1;
    }
    const std::vector<LossGroup> groups = loss_groups(stats);
    std::string body = "<table class=\"facts\">\n";
    body += "<tr><td>runs</td><td>" + std::to_string(rows.size()) + " (" + std::to_string(files.size()) + " files x " +
            std::to_string(stats.profiles.size()) + " profiles), " + std::to_string(failed) + " failed</td></tr>\n";
    body += "<tr><td>statistics</td><td>mean over files, " + num(100 * stats.options.confidence) +
            "% percentile bootstrap CI (" + std::to_string(stats.options.bootstrap_resamples) + " resamples, seed " +
            std::to_string(stats.options.seed) + "); knee: lowest bitrate with mean lisp_index under " +
            num(stats.options.knee_lisp_threshold) + "</td></tr>\n</table>\n";
    body += "<h2>Rate&ndash;quality curves</h2>\n<p class=\"note\">One line per loss group (profiles equal in "
            "everything but bitrate), the shaded band its confidence interval over files.</p>\n<div class=\"plots\">\n";
    body += rate_plot(stats, groups, true) + rate_plot(stats, groups, false) + "</div>\n";
    body += "<h2>Profiles</h2>\n" + profile_table(stats, groups);
    body += "<h2>Knees</h2>\n" + knee_table(stats);
    if (!stats.pairs.empty()) body += "<h2>Paired comparisons</h2>\n" + pair_table(stats);
    return report::html::page("sibilant sweep report: " + title, body);
}

void write_sweep_report(const std::string& sweep_csv_or_folder, const std::string& out_path,
                        const CompareOptions& options) {
    OutputFile out(out_path);
    const std::vector<SweepRow> rows = read_sweep_results(sweep_csv_or_folder);
    out.stream() << sweep_report_html(compare_profiles(rows, options), rows, sweep_csv_or_folder);
    out.commit();
}

}  // namespace sibilant
