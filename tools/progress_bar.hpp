// A one-line progress bar on stderr for batch commands (analyze --pairs,
// sweep): done/total, rate, time left, redrawn in place. Only use it on a
// terminal: in a log file the carriage returns would be noise.
#pragma once

#include <cstdio>
#include <string>

#include "sibilant/batch.hpp"

namespace sibilant::cli {

/// "m:ss", or "h:mm:ss" from one hour on.
inline std::string format_duration(double seconds) {
    const long total = static_cast<long>(seconds + 0.5);
    char text[32];
    if (total >= 3600) std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
    else std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
    return text;
}

class ProgressBar {
public:
    /// `unit` names what is counted in the rate, e.g. "pairs" -> "2.50 pairs/s".
    explicit ProgressBar(std::string unit) : unit_(std::move(unit)) {}

    void draw(const BatchProgress& p) {
        last_ = p;
        constexpr int kWidth = 30;
        const int filled = p.total ? static_cast<int>(kWidth * p.done / p.total) : kWidth;
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(kWidth, '.');
        std::string rate = "-- " + unit_ + "/s", eta = "ETA --";
        if (p.done > 0 && p.elapsed_s > 0) {
            const double per_s = static_cast<double>(p.done) / p.elapsed_s;
            char text[48];
            std::snprintf(text, sizeof text, "%.2f %s/s", per_s, unit_.c_str());
            rate = text;
            eta = "ETA " + format_duration(static_cast<double>(p.total - p.done) / per_s);
        }
        if (p.done == p.total) eta = "took " + format_duration(p.elapsed_s);
        std::string failed = p.failed ? "  " + std::to_string(p.failed) + " failed" : "";
        std::fprintf(stderr, "\r\033[K[%s] %zu/%zu  %s  %s%s", bar.c_str(), p.done, p.total, rate.c_str(),
                     eta.c_str(), failed.c_str());
        if (p.done == p.total) std::fputc('\n', stderr);
        std::fflush(stderr);
        shown_ = p.done != p.total;
    }
    /// Removes the bar so that another line can be printed; redraw() puts it back.
    void clear() {
        if (shown_) std::fputs("\r\033[K", stderr);
    }
    void redraw() {
        if (shown_) draw(last_);
    }

private:
    std::string unit_;
    BatchProgress last_;
    bool shown_ = false;
};

}  // namespace sibilant::cli
