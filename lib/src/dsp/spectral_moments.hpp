// Spectral moments of a power spectrum, defined exactly as Praat defines
// them (internal, issue #3), and the power spectrum of a segment computed as
// Praat's "Sound: To Spectrum" computes it.
//
// Praat (fon/Spectrum.cpp, manual pages "Spectrum: Get centre of gravity...",
// "...standard deviation...", "...skewness...", "...kurtosis..."): bin k of a
// one-sided spectrum sits at f_k = k * bin_hz, k = 0 .. bins - 1, and has the
// weight w_k = |S_k|^p (p = 2 by default: the power spectrum). Then
//     cog   = sum(f_k w_k) / sum(w_k)
//     mu_n  = sum((f_k - cog)^n w_k) / sum(w_k)
//     sd    = sqrt(mu_2)
//     skew  = mu_3 / mu_2^1.5
//     kurt  = mu_4 / mu_2^2 - 3            (excess kurtosis: 0 for a Gaussian)
// Every bin counts with the same weight, the DC and Nyquist bins included:
// Praat does not halve them, although they stand for half-width bands, so
// neither do we. Praat's moment commands have no frequency range; a range
// here means "the bins outside [low_hz, high_hz] are zero", which is what a
// Praat script gets from Formula: "if x < low or x > high then 0 else self fi"
// before "Get centre of gravity". The overall scale of the spectrum cancels.
//
// Praat's "Sound: To Spectrum" with fast = yes applies no window, zero-pads
// the sound to the next power of two (at least 2) and takes the FFT; bin k
// holds X_k * dt (dt = 1 / rate). praat_power_spectrum() returns
// |X_k * dt|^2, i.e. re^2 + im^2 of Praat's bin, so its values can be
// compared with Praat's one by one.
#pragma once

#include <limits>
#include <span>
#include <vector>

namespace sibilant::dsp {

struct SpectralMoments {
    /// NaN when the range holds no energy (Praat: --undefined--).
    double cog_hz = std::numeric_limits<double>::quiet_NaN();
    /// 0 for a single non-zero bin.
    double sd_hz = std::numeric_limits<double>::quiet_NaN();
    /// NaN when sd_hz is 0, as in Praat.
    double skewness = std::numeric_limits<double>::quiet_NaN();
    /// Excess kurtosis; NaN when sd_hz is 0.
    double kurtosis = std::numeric_limits<double>::quiet_NaN();
};

struct MomentOptions {
    /// Bins with low_hz <= f_k <= high_hz count; the others are treated as 0.
    double low_hz = 0.0;
    double high_hz = std::numeric_limits<double>::infinity();
    /// Praat's "power" argument p: bins are weighted by |S_k|^p, i.e. by
    /// power_k^(p / 2). 2 (Praat's default) weights by power, 1 by magnitude.
    double praat_power = 2.0;
};

/// Moments of `power` (|S_k|^2, bin k at k * bin_hz). No allocation, no
/// throw: invalid arguments (bin_hz <= 0, low_hz > high_hz, praat_power <= 0,
/// NaN anywhere) give all-NaN moments, like an empty range.
SpectralMoments spectral_moments(std::span<const float> power, double bin_hz,
                                 const MomentOptions& options = {}) noexcept;

/// A segment's spectrum as Praat's "Sound: To Spectrum" (fast = yes) makes it.
struct PraatPowerSpectrum {
    int fft_size = 0;         ///< next power of two >= the segment length, at least 2
    double bin_hz = 0.0;      ///< rate_hz / fft_size
    std::vector<float> power; ///< fft_size / 2 + 1 bins: |X_k / rate_hz|^2, Praat's re^2 + im^2
};

/// Throws sibilant::Error for an empty segment, a segment longer than 2^30
/// samples, or a rate that is not positive and finite.
PraatPowerSpectrum praat_power_spectrum(std::span<const float> samples, double rate_hz);

}  // namespace sibilant::dsp
