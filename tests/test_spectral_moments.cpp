// Spectral moments as Praat defines them (lib/src/dsp/spectral_moments.hpp):
// known answers on synthetic spectra and signals, Praat's bin conventions,
// and golden values produced by Praat 6.3.07 itself.
#include "dsp/spectral_moments.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <thread>
#include <vector>

#include "sibilant/error.hpp"
#include "test_support.hpp"

namespace {

using sibilant::dsp::MomentOptions;
using sibilant::dsp::praat_power_spectrum;
using sibilant::dsp::spectral_moments;
using sibilant::dsp::SpectralMoments;

constexpr int kRateHz = 48000;

// Sum of sines sampled at t_i = (i + 0.5) / rate, i = 0 .. n - 1: the times
// at which Praat's "Create Sound from formula" samples x, so that the golden
// values below come from exactly these samples.
std::vector<float> sines(int n, std::initializer_list<std::pair<double, double>> freq_amp) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const double t = (i + 0.5) / kRateHz;
        double v = 0.0;
        for (const auto& [f_hz, a] : freq_amp) v += a * std::sin(2.0 * std::numbers::pi * f_hz * t);
        x[static_cast<std::size_t>(i)] = static_cast<float>(v);
    }
    return x;
}

SpectralMoments moments_of(const std::vector<float>& x, const MomentOptions& options = {}) {
    const auto spectrum = praat_power_spectrum(x, kRateHz);
    return spectral_moments(spectrum.power, spectrum.bin_hz, options);
}

}  // namespace

TEST(PraatPowerSpectrum, ZeroPadsToNextPowerOfTwo) {
    EXPECT_EQ(praat_power_spectrum(std::vector<float>(1, 1.0f), kRateHz).fft_size, 2);
    EXPECT_EQ(praat_power_spectrum(std::vector<float>(1000, 1.0f), kRateHz).fft_size, 1024);
    EXPECT_EQ(praat_power_spectrum(std::vector<float>(1024, 1.0f), kRateHz).fft_size, 1024);
    const auto s = praat_power_spectrum(std::vector<float>(1025, 1.0f), kRateHz);
    EXPECT_EQ(s.fft_size, 2048);
    EXPECT_EQ(s.power.size(), 1025u);
    EXPECT_DOUBLE_EQ(s.bin_hz, kRateHz / 2048.0);
}

TEST(PraatPowerSpectrum, ScaledAsPraat) {
    // Praat's bin k is X_k * dt: a constant c over n samples has a DC value
    // of n * c * dt (its integral), whatever the zero padding.
    const auto s = praat_power_spectrum(std::vector<float>(1000, 0.5f), kRateHz);
    const double dc = 1000 * 0.5 / kRateHz;
    EXPECT_NEAR(s.power[0], dc * dc, 1e-6 * dc * dc);
}

TEST(PraatPowerSpectrum, RejectsBadInput) {
    sibilant::test::expect_error([] { praat_power_spectrum({}, kRateHz); }, {"empty"});
    sibilant::test::expect_error([] { praat_power_spectrum(std::vector<float>(8), 0.0); }, {"rate"});
}

TEST(SpectralMoments, EveryBinCountsFullyIncludingDcAndNyquist) {
    // Five equal bins at 0..4 Hz. Praat gives DC and Nyquist full weight:
    // mean 2, variance (4 + 1 + 0 + 1 + 4) / 5 = 2. Half-weight end bins
    // would give a variance of 1.5.
    const std::vector<float> flat(5, 1.0f);
    const auto m = spectral_moments(flat, 1.0);
    EXPECT_DOUBLE_EQ(m.cog_hz, 2.0);
    EXPECT_DOUBLE_EQ(m.sd_hz * m.sd_hz, 2.0);
    EXPECT_DOUBLE_EQ(m.skewness, 0.0);
    // mu4 = (16 + 1 + 0 + 1 + 16) / 5 = 6.8; 6.8 / 4 - 3
    EXPECT_DOUBLE_EQ(m.kurtosis, 6.8 / 4.0 - 3.0);
}

TEST(SpectralMoments, PowerExponentWeightsMagnitude) {
    // |S|^2 of 1 at 100 Hz and 4 at 300 Hz: p = 2 weights 1 : 4, p = 1 1 : 2.
    std::vector<float> power(4, 0.0f);
    power[1] = 1.0f;
    power[3] = 4.0f;
    EXPECT_DOUBLE_EQ(spectral_moments(power, 100.0).cog_hz, (100.0 + 4 * 300.0) / 5.0);
    EXPECT_DOUBLE_EQ(spectral_moments(power, 100.0, {.praat_power = 1.0}).cog_hz,
                     (100.0 + 2 * 300.0) / 3.0);
}

TEST(SpectralMoments, UndefinedCases) {
    const std::vector<float> zeros(16, 0.0f);
    EXPECT_TRUE(std::isnan(spectral_moments(zeros, 10.0).cog_hz));
    std::vector<float> one(16, 0.0f);
    one[5] = 2.0f;
    const auto m = spectral_moments(one, 10.0);
    EXPECT_DOUBLE_EQ(m.cog_hz, 50.0);
    EXPECT_DOUBLE_EQ(m.sd_hz, 0.0);
    EXPECT_TRUE(std::isnan(m.skewness));
    EXPECT_TRUE(std::isnan(m.kurtosis));
    // Energy only outside the range.
    EXPECT_TRUE(std::isnan(spectral_moments(one, 10.0, {.low_hz = 60.0}).cog_hz));
    // Bad arguments give NaN, never a throw.
    EXPECT_TRUE(std::isnan(spectral_moments(one, 0.0).cog_hz));
    EXPECT_TRUE(std::isnan(spectral_moments(one, 10.0, {.low_hz = 100.0, .high_hz = 50.0}).cog_hz));
    EXPECT_TRUE(std::isnan(spectral_moments(one, 10.0, {.praat_power = 0.0}).cog_hz));
}

TEST(SpectralMoments, RangeEdgesAreInclusive) {
    // Praat's Formula "if x < low or x > high then 0 else self fi" keeps bins
    // exactly on an edge.
    const std::vector<float> flat(11, 1.0f);
    const auto m = spectral_moments(flat, 100.0, {.low_hz = 200.0, .high_hz = 400.0});
    EXPECT_DOUBLE_EQ(m.cog_hz, 300.0);
    EXPECT_DOUBLE_EQ(m.sd_hz * m.sd_hz, (100.0 * 100.0 * 2) / 3.0);
}

TEST(SpectralMoments, SineOnABin) {
    // 4096 samples need no padding; 6000 Hz is bin 512 exactly, so all the
    // energy is in one bin (float rounding leaves a tiny floor elsewhere).
    const auto x = sines(4096, {{6000.0, 0.5}});
    const auto m = moments_of(x);
    const double bin_hz = kRateHz / 4096.0;
    EXPECT_NEAR(m.cog_hz, 6000.0, 0.01 * bin_hz);
    EXPECT_LT(m.sd_hz, bin_hz);
}

TEST(SpectralMoments, SineOffBinInANarrowRange) {
    // Without a window an off-bin sine leaks into every bin (power falling as
    // 1 / distance^2), which inflates sd over the full band; in a +-500 Hz
    // range the leakage is nearly symmetric and the mean stays on the tone.
    const auto x = sines(2400, {{6100.0, 0.5}});
    const auto m = moments_of(x, {.low_hz = 5600.0, .high_hz = 6600.0});
    EXPECT_NEAR(m.cog_hz, 6100.0, kRateHz / 4096.0);
}

TEST(SpectralMoments, TwoEqualSines) {
    // Bins 256 and 768 of 4096: 3000 and 9000 Hz. Two equal spikes: mean
    // halfway, sd half the distance, no skew, kurtosis 1 - 3 = -2.
    const auto x = sines(4096, {{3000.0, 0.3}, {9000.0, 0.3}});
    const auto m = moments_of(x);
    EXPECT_NEAR(m.cog_hz, 6000.0, 1.0);
    EXPECT_NEAR(m.sd_hz, 3000.0, 1.0);
    EXPECT_NEAR(m.skewness, 0.0, 1e-3);
    EXPECT_NEAR(m.kurtosis, -2.0, 1e-3);
}

TEST(SpectralMoments, WhiteNoiseIsUniformOverTheBand) {
    // A flat spectrum over 0..Nyquist is a uniform distribution: mean
    // Nyquist / 2, sd Nyquist / sqrt(12), skewness 0, kurtosis -1.2. A
    // periodogram bin scatters by 100%, but over 32769 bins the moments
    // settle to within a few tenths of a percent.
    const auto x = sibilant::test::white_noise(65536.0 / kRateHz, kRateHz, 7);
    ASSERT_EQ(x.size(), 65536u);
    const auto m = moments_of(x);
    const double nyquist_hz = kRateHz / 2.0;
    EXPECT_NEAR(m.cog_hz, nyquist_hz / 2.0, 0.01 * nyquist_hz / 2.0);
    EXPECT_NEAR(m.sd_hz, nyquist_hz / std::sqrt(12.0), 0.01 * nyquist_hz / std::sqrt(12.0));
    EXPECT_NEAR(m.skewness, 0.0, 0.03);
    EXPECT_NEAR(m.kurtosis, -1.2, 0.03);
}

TEST(SpectralMoments, RangeRestrictsWhiteNoise) {
    // The same noise seen through 2-6 kHz is uniform over that band.
    const auto x = sibilant::test::white_noise(65536.0 / kRateHz, kRateHz, 7);
    const auto m = moments_of(x, {.low_hz = 2000.0, .high_hz = 6000.0});
    EXPECT_NEAR(m.cog_hz, 4000.0, 40.0);
    EXPECT_NEAR(m.sd_hz, 4000.0 / std::sqrt(12.0), 0.02 * 4000.0 / std::sqrt(12.0));
    EXPECT_NEAR(m.skewness, 0.0, 0.05);
    EXPECT_NEAR(m.kurtosis, -1.2, 0.05);
}

TEST(SpectralMoments, SkewnessSign) {
    // A ramp falling towards high frequencies has its tail on the right
    // (positive skew, like a /sh/ with little energy high up); the mirrored
    // ramp skews negatively; a symmetric triangle not at all.
    constexpr int kBins = 101;
    std::vector<float> falling(kBins), rising(kBins), triangle(kBins);
    for (int k = 0; k < kBins; ++k) {
        falling[k] = static_cast<float>(kBins - k);
        rising[k] = static_cast<float>(k + 1);
        triangle[k] = static_cast<float>(51 - std::abs(k - 50));
    }
    EXPECT_GT(spectral_moments(falling, 100.0).skewness, 0.3);
    EXPECT_LT(spectral_moments(rising, 100.0).skewness, -0.3);
    EXPECT_NEAR(spectral_moments(triangle, 100.0).skewness, 0.0, 1e-12);
    EXPECT_NEAR(spectral_moments(falling, 100.0).skewness, -spectral_moments(rising, 100.0).skewness,
                1e-9);
}

TEST(SpectralMoments, MatchesPraatGoldenValues) {
    // Praat 6.3.07 (Debian 12):
    //   Create Sound from formula: "s", 1, 0, 0.05, 48000,
    //       "sin(2*pi*6000*x) + 0.5*sin(2*pi*2500*x)"
    //   To Spectrum: "yes"            (2400 samples, 4096-point FFT)
    //   Get centre of gravity: p, Get standard deviation: p, ...
    // then the same after
    //   Formula: "if x < 1000 or x > 20000 then 0 else self fi"
    // An unwindowed off-bin 2400-sample segment leaks widely, so these
    // values exercise the padding, bin placement and DC/Nyquist weights.
    const auto x = sines(2400, {{6000.0, 1.0}, {2500.0, 0.5}});
    struct Golden {
        MomentOptions options;
        double cog_hz, sd_hz, skewness, kurtosis;
    };
    const Golden golden[] = {
        {{.praat_power = 1.0}, 5071.160983738, 2560.464377334, 1.300233616, 5.931858990},
        {{.praat_power = 2.0}, 5295.922731506, 1410.267425769, -1.479720653, 0.322931531},
        {{.low_hz = 1000.0, .high_hz = 20000.0}, 5298.216419537, 1406.655697387, -1.478223779,
         0.296803812},
    };
    for (const auto& g : golden) {
        const auto m = moments_of(x, g.options);
        SCOPED_TRACE(g.options.praat_power);
        // Float FFT against Praat's double FFT: agreement to about 1e-6.
        EXPECT_NEAR(m.cog_hz, g.cog_hz, 1e-5 * g.cog_hz);
        EXPECT_NEAR(m.sd_hz, g.sd_hz, 1e-5 * g.sd_hz);
        EXPECT_NEAR(m.skewness, g.skewness, 1e-4);
        EXPECT_NEAR(m.kurtosis, g.kurtosis, 1e-4);
    }
}

TEST(PraatPowerSpectrum, PlansFromSeveralThreads) {
    // Plan creation is serialised by the shared planner mutex.
    const auto x = sines(3000, {{6000.0, 0.5}});
    const double expected = moments_of(x).cog_hz;
    std::vector<double> got(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < got.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) got[t] = moments_of(x).cog_hz;
        });
    }
    for (auto& th : threads) th.join();
    for (double g : got) EXPECT_EQ(g, expected);
}
