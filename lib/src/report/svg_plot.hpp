// Inline SVG plots for the report: axis ticks and a line plot with one
// polyline and one confidence band per series. Pixel coordinates throughout
// (the page lays plots out at their natural size), so text stays undistorted.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sibilant::report::svg {

/// Round values (1, 2 or 5 times a power of ten apart) covering [lo, hi],
/// about `target` of them; lo itself if hi <= lo.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

/// A coordinate or value for SVG attributes: at most 2 decimals, no
/// trailing zeros.
std::string num(double value);

struct Series {
    std::string label;
    std::string colour;                   ///< CSS colour of the line, points and band.
    std::vector<double> x, y;             ///< Points, in x order.
    std::vector<double> low, high;        ///< Band around y (same length), or empty for none.
};

struct LinePlot {
    std::string css_class;                ///< Added to the <svg>'s class "plot".
    std::string title, x_label, y_label;
    int width_px = 600;
    int height_px = 320;                  ///< Without the legend (which adds one line per series).
    bool log_x = false;
    std::vector<double> x_ticks;          ///< Empty: nice_ticks of the x range.
    std::vector<std::string> x_tick_labels;  ///< Same length as x_ticks, or empty for numbers.
    double y_min = 0, y_max = 100;        ///< Values outside are clamped to the frame.
    std::optional<double> reference_y;    ///< A dashed horizontal line (e.g. a threshold)...
    std::string reference_label;          ///< ... and its label.
    std::vector<Series> series;
};

/// <svg class="plot ..."> with, per series, <polygon class="ci-band"> (when
/// it has a band), <path class="curve"> and <circle class="point"> elements
/// (each point titled with its values), then a legend.
std::string line_plot(const LinePlot& plot);

/// Colour-blind safe categorical colours (Okabe and Ito 2008); i wraps.
std::string category_colour(std::size_t i);

}  // namespace sibilant::report::svg
