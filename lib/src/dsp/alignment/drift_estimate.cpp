// Clock drift: see drift_estimate.hpp.
#include "dsp/alignment/drift_estimate.hpp"

#include <algorithm>
#include <cmath>

namespace sibilant::dsp {

namespace {

constexpr double kRateHz = 48000.0;
constexpr double kRunBreak_ms = 1.0;
constexpr std::size_t kMinRun = 5;
constexpr int kMinPoints = 20;
constexpr double kMinSpan_s = 2.0;
constexpr double kMinShare = 0.5;
constexpr double kMinChange_ms = 0.25;
constexpr double kMinSigmas = 6.0;
constexpr double kMaxResidual_ms = 0.5;
constexpr double kMaxPpm = 2000.0;
constexpr double kMinDeviation_ms = 0.1;

struct Sample {
    double t_s, delay_ms;
    int run;
};

struct Fit {
    double slope = 0.0;  // ms per s
    double standard_error = 0.0;
    double residual_ms = 0.0;
    std::vector<double> offsets;  // per run
};

// Least squares with one slope and one offset per run.
Fit fit(const std::vector<Sample>& s, const std::vector<bool>& keep, int runs) {
    std::vector<double> n(std::size_t(runs), 0.0), st(n), sy(n);
    for (std::size_t i = 0; i < s.size(); ++i)
        if (keep[i]) {
            const auto r = std::size_t(s[i].run);
            n[r] += 1.0;
            st[r] += s[i].t_s;
            sy[r] += s[i].delay_ms;
        }
    double sxx = 0.0, sxy = 0.0, count = 0.0;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (keep[i]) {
            const auto r = std::size_t(s[i].run);
            const double dt = s[i].t_s - st[r] / n[r], dy = s[i].delay_ms - sy[r] / n[r];
            sxx += dt * dt;
            sxy += dt * dy;
            count += 1.0;
        }
    Fit f;
    if (sxx <= 0.0) return f;
    f.slope = sxy / sxx;
    f.offsets.resize(std::size_t(runs));
    for (std::size_t r = 0; r < f.offsets.size(); ++r)
        f.offsets[r] = n[r] > 0 ? (sy[r] - f.slope * st[r]) / n[r] : 0.0;
    double ss = 0.0;
    int used_runs = 0;
    for (double v : n) used_runs += v > 0 ? 1 : 0;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (keep[i]) {
            const double e = s[i].delay_ms - f.offsets[std::size_t(s[i].run)] - f.slope * s[i].t_s;
            ss += e * e;
        }
    const double dof = std::max(1.0, count - double(used_runs) - 1.0);
    f.residual_ms = std::sqrt(ss / std::max(1.0, count));
    f.standard_error = std::sqrt(ss / dof / sxx);
    return f;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
}

}  // namespace

DriftEstimate estimate_drift(const std::vector<DelayTrackPoint>& points) {
    DriftEstimate out;
    // Runs of points without a jump, long runs only.
    std::vector<Sample> samples;
    int runs = 0;
    for (std::size_t first = 0; first < points.size();) {
        std::size_t end = first + 1;
        while (end < points.size() &&
               std::abs(points[end].delay_samples - points[end - 1].delay_samples) < kRunBreak_ms * kRateHz / 1000.0)
            ++end;
        if (end - first >= kMinRun) {
            for (std::size_t i = first; i < end; ++i)
                samples.push_back({double(points[i].ref_sample) / kRateHz, points[i].delay_samples * 1000.0 / kRateHz,
                                   runs});
            ++runs;
        }
        first = end;
    }
    if (int(samples.size()) < kMinPoints) return out;

    std::vector<bool> keep(samples.size(), true);
    Fit f = fit(samples, keep, runs);
    for (int pass = 0; pass < 2; ++pass) {
        std::vector<double> residuals;
        for (const auto& s : samples)
            residuals.push_back(s.delay_ms - f.offsets[std::size_t(s.run)] - f.slope * s.t_s);
        std::vector<double> absolute;
        for (std::size_t i = 0; i < residuals.size(); ++i)
            if (keep[i]) absolute.push_back(std::abs(residuals[i]));
        const double limit = std::max(kMinDeviation_ms, 3.0 * 1.4826 * median(absolute));
        for (std::size_t i = 0; i < residuals.size(); ++i) keep[i] = std::abs(residuals[i]) <= limit;
        f = fit(samples, keep, runs);
    }
    double t_min = 1e300, t_max = -1e300;
    int kept = 0;
    for (std::size_t i = 0; i < samples.size(); ++i)
        if (keep[i]) {
            t_min = std::min(t_min, samples[i].t_s);
            t_max = std::max(t_max, samples[i].t_s);
            ++kept;
        }
    if (kept < kMinPoints || t_max - t_min < kMinSpan_s) return out;
    out.measured = true;
    out.points = kept;
    out.ppm = f.slope * 1000.0;  // ms per s = 1e-3 -> 1000 ppm
    out.standard_error_ppm = f.standard_error * 1000.0;
    out.residual_ms = f.residual_ms;
    out.change_ms = f.slope * (t_max - t_min);
    out.linear = out.residual_ms <= kMaxResidual_ms;
    out.significant = double(kept) >= kMinShare * double(points.size()) &&
                      std::abs(out.change_ms) >= kMinChange_ms &&
                      std::abs(out.ppm) >= kMinSigmas * out.standard_error_ppm &&
                      out.residual_ms <= kMaxResidual_ms && std::abs(out.ppm) <= kMaxPpm;
    return out;
}

}  // namespace sibilant::dsp
