#include "report/svg_plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "report/html.hpp"

namespace sibilant::report::svg {

std::vector<double> nice_ticks(double lo, double hi, int target) {
    if (!(hi > lo) || target < 1) return {lo};
    const double raw = (hi - lo) / target;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = power;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * power >= raw) {
            step = m * power;
            break;
        }
    std::vector<double> ticks;
    for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
        ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return ticks;
}

std::string num(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", value + 0.0);
    std::string s = text;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s == "-0" ? "0" : s;
}

std::string category_colour(std::size_t i) {
    static constexpr std::array<const char*, 8> kColours = {"#0072b2", "#e69f00", "#009e73", "#d55e00",
                                                           "#cc79a7", "#56b4e9", "#000000", "#f0e442"};
    return kColours[i % kColours.size()];
}

namespace {

// Maps data to pixels inside the frame [left, right] x [top, bottom].
struct Frame {
    double left, right, top, bottom;
    double x_lo, x_hi, y_lo, y_hi;
    bool log_x;

    double x(double v) const {
        const double a = log_x ? std::log(v) : v, lo = log_x ? std::log(x_lo) : x_lo, hi = log_x ? std::log(x_hi) : x_hi;
        return left + (a - lo) / (hi - lo) * (right - left);
    }
    double y(double v) const { return bottom - (std::clamp(v, y_lo, y_hi) - y_lo) / (y_hi - y_lo) * (bottom - top); }
};

// The x range with a margin, so that end points do not sit on the frame.
std::pair<double, double> x_range(const LinePlot& plot) {
    double lo = INFINITY, hi = -INFINITY;
    for (const Series& s : plot.series)
        for (double v : s.x) lo = std::min(lo, v), hi = std::max(hi, v);
    for (double v : plot.x_ticks) lo = std::min(lo, v), hi = std::max(hi, v);
    if (!std::isfinite(lo)) return {plot.log_x ? 1.0 : 0.0, plot.log_x ? 10.0 : 1.0};
    if (plot.log_x) {
        const double margin = hi > lo ? std::pow(hi / lo, 0.06) : 1.5;
        return {lo / margin, hi * margin};
    }
    const double margin = hi > lo ? (hi - lo) * 0.06 : 1.0;
    return {lo - margin, hi + margin};
}

}  // namespace

std::string line_plot(const LinePlot& plot) {
    constexpr double kLegendLine = 18;
    const double height = plot.height_px + kLegendLine * double(plot.series.size()) + 6;
    const auto [x_lo, x_hi] = x_range(plot);
    const Frame f{58, double(plot.width_px) - 14, 30, double(plot.height_px) - 48, x_lo, x_hi, plot.y_min,
                  plot.y_max, plot.log_x};

    std::string out = "<svg class=\"plot " + plot.css_class + "\" width=\"" + std::to_string(plot.width_px) +
                      "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + std::to_string(plot.width_px) + " " +
                      num(height) + "\" role=\"img\" aria-label=\"" + html::escape(plot.title) + "\">\n";
    out += "<text x=\"" + num(f.left) + "\" y=\"18\" font-weight=\"bold\">" + html::escape(plot.title) + "</text>\n";

    // Grid and ticks.
    std::string grid = "<g class=\"grid\">", axis = "<g class=\"axis\">";
    for (double t : nice_ticks(plot.y_min, plot.y_max, 5)) {
        const std::string y = num(f.y(t));
        grid += "<line x1=\"" + num(f.left) + "\" x2=\"" + num(f.right) + "\" y1=\"" + y + "\" y2=\"" + y + "\"/>";
        axis += "<text x=\"" + num(f.left - 6) + "\" y=\"" + y + "\" dy=\"4\" text-anchor=\"end\">" + num(t) + "</text>";
    }
    const std::vector<double> x_ticks = plot.x_ticks.empty() ? nice_ticks(x_lo, x_hi, 6) : plot.x_ticks;
    for (std::size_t i = 0; i < x_ticks.size(); ++i) {
        const std::string x = num(f.x(x_ticks[i]));
        const std::string label = i < plot.x_tick_labels.size() ? plot.x_tick_labels[i] : num(x_ticks[i]);
        grid += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + num(f.top) + "\" y2=\"" + num(f.bottom) + "\"/>";
        axis += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + num(f.bottom) + "\" y2=\"" + num(f.bottom + 5) +
                "\"/><text x=\"" + x + "\" y=\"" + num(f.bottom + 18) + "\" text-anchor=\"middle\">" +
                html::escape(label) + "</text>";
    }
    axis += "<path d=\"M" + num(f.left) + " " + num(f.top) + "V" + num(f.bottom) + "H" + num(f.right) + "\"/>";
    axis += "<text x=\"" + num((f.left + f.right) / 2) + "\" y=\"" + num(f.bottom + 36) +
            "\" text-anchor=\"middle\">" + html::escape(plot.x_label) + "</text>";
    axis += "<text transform=\"translate(14 " + num((f.top + f.bottom) / 2) +
            ") rotate(-90)\" text-anchor=\"middle\">" + html::escape(plot.y_label) + "</text>";
    out += grid + "</g>\n" + axis + "</g>\n";

    if (plot.reference_y) {
        const std::string y = num(f.y(*plot.reference_y));
        out += "<g class=\"reference\"><line x1=\"" + num(f.left) + "\" x2=\"" + num(f.right) + "\" y1=\"" + y +
               "\" y2=\"" + y + "\" stroke=\"#888\" stroke-dasharray=\"5 4\"/><text x=\"" + num(f.right - 4) +
               "\" y=\"" + y + "\" dy=\"-4\" text-anchor=\"end\" fill=\"#666\">" + html::escape(plot.reference_label) +
               "</text></g>\n";
    }

    for (std::size_t i = 0; i < plot.series.size(); ++i) {
        const Series& s = plot.series[i];
        const std::string colour = html::escape(s.colour);
        out += "<g class=\"series\" data-series=\"" + html::escape(s.label) + "\">";
        const bool band = !s.x.empty() && s.low.size() == s.x.size() && s.high.size() == s.x.size();
        if (band) {
            // The band: along the upper bounds, back along the lower ones.
            std::string points;
            for (std::size_t k = 0; k < s.x.size(); ++k) points += num(f.x(s.x[k])) + "," + num(f.y(s.high[k])) + " ";
            for (std::size_t k = s.x.size(); k-- > 0;) points += num(f.x(s.x[k])) + "," + num(f.y(s.low[k])) + " ";
            points.pop_back();
            out += "<polygon class=\"ci-band\" points=\"" + points + "\" fill=\"" + colour +
                   "\" fill-opacity=\"0.16\" stroke=\"none\"/>";
        }
        std::string d;
        for (std::size_t k = 0; k < s.x.size(); ++k) {
            d += k ? 'L' : 'M';
            d += num(f.x(s.x[k])) + " " + num(f.y(s.y[k]));
        }
        out += "<path class=\"curve\" d=\"" + d + "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"/>";
        for (std::size_t k = 0; k < s.x.size(); ++k) {
            std::string tip = s.label + ": " + num(s.x[k]) + ", " + html::fixed(s.y[k], 1);
            if (band) tip += " [" + html::fixed(s.low[k], 1) + ", " + html::fixed(s.high[k], 1) + "]";
            out += "<circle class=\"point\" cx=\"" + num(f.x(s.x[k])) + "\" cy=\"" + num(f.y(s.y[k])) +
                   "\" r=\"3\" fill=\"" + colour + "\"><title>" + html::escape(tip) + "</title></circle>";
        }
        out += "</g>\n";
        // Legend line under the plot.
        const double y = plot.height_px + kLegendLine * double(i);
        out += "<g class=\"legend-entry\"><rect x=\"" + num(f.left) + "\" y=\"" + num(y - 9) +
               "\" width=\"18\" height=\"10\" fill=\"" + colour + "\" fill-opacity=\"0.35\" stroke=\"" + colour +
               "\"/><text x=\"" + num(f.left + 26) + "\" y=\"" + num(y) + "\">" + html::escape(s.label) +
               "</text></g>\n";
    }
    out += "</svg>\n";
    return out;
}

}  // namespace sibilant::report::svg
