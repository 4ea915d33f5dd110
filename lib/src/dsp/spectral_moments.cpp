#include "dsp/spectral_moments.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "dsp/fftw_planner.hpp"
#include "sibilant/error.hpp"

namespace sibilant::dsp {

SpectralMoments spectral_moments(std::span<const float> power, double bin_hz,
                                 const MomentOptions& options) noexcept {
    SpectralMoments out;
    // Written as negations so that NaN arguments fail too.
    if (!(bin_hz > 0.0) || !(options.low_hz <= options.high_hz) || !(options.praat_power > 0.0) ||
        !std::isfinite(bin_hz)) {
        return out;
    }
    const double half_power = 0.5 * options.praat_power;
    const bool plain_power = half_power == 1.0;  // skip pow() in the usual case
    auto weight = [&](float p) {
        const double w = static_cast<double>(p);
        return plain_power ? w : std::pow(w, half_power);
    };
    // The frequency is computed as Praat does (x1 + (i - 1) * dx with x1 = 0),
    // so that a bin exactly on a range edge is decided the same way.
    auto in_range = [&](double f_hz) { return f_hz >= options.low_hz && f_hz <= options.high_hz; };

    // Two passes, as in Praat: the mean first, then moments about it, which
    // keeps the central moments accurate when sd is small against cog.
    double sum_w = 0.0, sum_fw = 0.0;
    for (std::size_t k = 0; k < power.size(); ++k) {
        const double f_hz = static_cast<double>(k) * bin_hz;
        if (!in_range(f_hz)) continue;
        const double w = weight(power[k]);
        sum_w += w;
        sum_fw += f_hz * w;
    }
    if (!(sum_w > 0.0) || !std::isfinite(sum_w)) return out;
    const double cog_hz = sum_fw / sum_w;

    double sum_m2 = 0.0, sum_m3 = 0.0, sum_m4 = 0.0;
    for (std::size_t k = 0; k < power.size(); ++k) {
        const double f_hz = static_cast<double>(k) * bin_hz;
        if (!in_range(f_hz)) continue;
        const double w = weight(power[k]);
        const double d = f_hz - cog_hz;
        const double d2 = d * d;
        sum_m2 += d2 * w;
        sum_m3 += d2 * d * w;
        sum_m4 += d2 * d2 * w;
    }
    const double mu2 = sum_m2 / sum_w;
    const double mu3 = sum_m3 / sum_w;
    const double mu4 = sum_m4 / sum_w;

    out.cog_hz = cog_hz;
    out.sd_hz = std::sqrt(mu2);
    if (mu2 > 0.0) {
        out.skewness = mu3 / (mu2 * std::sqrt(mu2));
        out.kurtosis = mu4 / (mu2 * mu2) - 3.0;
    }
    return out;
}

PraatPowerSpectrum praat_power_spectrum(std::span<const float> samples, double rate_hz) {
    constexpr std::size_t kMaxSamples = std::size_t{1} << 30;  // FFTW sizes are int
    if (samples.empty()) throw Error("praat_power_spectrum: empty segment");
    if (samples.size() > kMaxSamples) {
        throw Error("praat_power_spectrum: segment of " + std::to_string(samples.size()) +
                    " samples is longer than 2^30");
    }
    if (!(rate_hz > 0.0) || !std::isfinite(rate_hz)) {
        throw Error("praat_power_spectrum: sample rate must be positive and finite, not " +
                    std::to_string(rate_hz));
    }
    // Praat: numberOfSamples = 2; while (numberOfSamples < nx) numberOfSamples *= 2.
    std::size_t n = 2;
    while (n < samples.size()) n *= 2;
    const std::size_t bins = n / 2 + 1;

    auto input = fftw_array<float>(n, "praat_power_spectrum");
    auto spectrum = fftw_array<fftwf_complex>(bins, "praat_power_spectrum");
    fftwf_plan plan = nullptr;
    {
        std::lock_guard lock(fftw_planner_mutex());
        // FFTW_ESTIMATE leaves the buffers alone while planning and does not
        // depend on timings, so every run gives the same bits.
        plan = fftwf_plan_dft_r2c_1d(static_cast<int>(n), input.get(), spectrum.get(), FFTW_ESTIMATE);
    }
    if (!plan) throw Error("praat_power_spectrum: FFTW could not plan a " + std::to_string(n) + "-point transform");

    std::copy(samples.begin(), samples.end(), input.get());
    std::fill(input.get() + samples.size(), input.get() + n, 0.0f);
    fftwf_execute(plan);
    {
        std::lock_guard lock(fftw_planner_mutex());
        fftwf_destroy_plan(plan);
    }

    PraatPowerSpectrum out;
    out.fft_size = static_cast<int>(n);
    // Praat's bin width, 1 / (dt * N), computed the same way.
    out.bin_hz = 1.0 / ((1.0 / rate_hz) * static_cast<double>(n));
    out.power.resize(bins);
    // Praat scales the transform by dt so that the spectrum is a density
    // (Pa/Hz); kept so that values match Praat's, though moments ignore it.
    const double dt_s = 1.0 / rate_hz;
    for (std::size_t k = 0; k < bins; ++k) {
        const double re = static_cast<double>(spectrum.get()[k][0]) * dt_s;
        const double im = static_cast<double>(spectrum.get()[k][1]) * dt_s;
        out.power[k] = static_cast<float>(re * re + im * im);
    }
    return out;
}

}  // namespace sibilant::dsp
