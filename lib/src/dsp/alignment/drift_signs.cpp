// Drift signs in one window (header, step 6).
//
// Drift (time stretch, clock skew) is refused, never aligned, and some of it
// shows inside a single window: a time-stretched copy of the reference window
// correlates clearly better than the plain one (stretch test), the window's two
// halves peak confidently at different delays (unstable), or the waveform does
// not correlate while the 5 ms envelopes do (envelope only). The signs that
// need several windows are judged in the delay map (delay_map.cpp).
#include "dsp/alignment/stages.hpp"

namespace sibilant::dsp {

// Returns the stretch (in percent) at which the reference window correlates
// clearly better than unstretched, or 0. `plain_value` is the unstretched
// peak at 2 kHz, before normalisation by the window's energy.
double Aligner::Impl::stretch_test(std::size_t n_half, std::size_t region_half, double plain_value, double short_scale) {
    double ref_energy = 0.0;
    for (std::size_t i = 0; i < n_half; ++i) {
        const double pair = double(x_low[2 * i]) + x_low[2 * i + 1];
        ref_energy += pair * pair;
    }
    if (!(ref_energy > 0.0)) return 0.0;
    const double plain = plain_value / std::sqrt(ref_energy);
    double best = plain;
    double best_rate = 0.0;
    float* real = fft_real.get();
    const double centre = 0.5 * double(n_half - 1);
    for (const double rate : kStretchRates) {
        // The reference on the degraded's time axis: sample m is reference time
        // centre + (m - stretched_centre) / (1 + rate), linearly interpolated.
        const std::size_t n = std::min(std::size_t(std::llround(double(n_half) * (1.0 + rate))), region_half);
        const double stretched_centre = 0.5 * double(n - 1);
        std::fill(real, real + fft_size, 0.0f);
        double energy_stretched = 0.0;
        for (std::size_t m = 0; m < n; ++m) {
            const double t = centre + (double(m) - stretched_centre) / (1.0 + rate);
            if (t < 0.0 || t > double(n_half - 1)) continue;
            const std::size_t i = std::min(std::size_t(t), n_half - 2);
            const double frac = t - double(i);
            const double a = double(x_low[2 * i]) + x_low[2 * i + 1];
            const double b = double(x_low[2 * i + 2]) + x_low[2 * i + 3];
            real[m] = static_cast<float>(a + frac * (b - a));
            energy_stretched += double(real[m]) * real[m];
        }
        fftwf_execute_dft_r2c(forward, real, spectrum_ref.get());
        fftwf_complex* a = spectrum_ref.get();
        multiply_by_conjugate(a, spectrum_deg.get(), fft_size / 2 + 1);
        fftwf_execute_dft_c2r(inverse, a, real);
        double score = 0.0;
        for (std::size_t lag = 0; lag + n <= region_half; ++lag) {
            const double corr = real[lag];
            const double deg_energy = y_half_prefix[lag + n] - y_half_prefix[lag];
            if (!(deg_energy > kAbsentRatio * energy_stretched)) continue;  // absent: FFT rounding over ~0
            if (corr > 0.0 && corr * corr > score * deg_energy) score = corr * corr / deg_energy;
        }
        const double value = std::sqrt(score) / double(fft_size) / std::sqrt(energy_stretched);
        if (value > best) {
            best = value;
            best_rate = rate;
        }
    }
    const bool clearly_better = best >= kStretchMinConfidence * short_scale && best >= plain + kStretchGain;
    return clearly_better ? 100.0 * best_rate : 0.0;
}

// Each half of the window correlated on its own near the window's 2 kHz lag
// (by linearity: one more transform gives the first half, the second is the
// difference). Halves without speech or without a confident peak say nothing:
// codecs do not keep the waveform of noise-like sounds.
bool Aligner::Impl::halves_disagree(std::size_t n_half, std::size_t lag_2k, std::size_t frames, double loudest_frame) {
    const std::size_t half_frames = frames / 2;
    const double loud = loudest_frame * std::pow(10.0, -kFineBlockRangeDb / 10.0);
    std::array<std::size_t, 2> speech_frames{};
    for (std::size_t f = 0; f < frames; ++f) speech_frames[f < half_frames ? 0 : 1] += ref_frame_energy[f] >= loud;
    for (std::size_t count : speech_frames)
        if (double(count) * kFrameLow / kLowRateHz < kMinWindowSpeech_s) return false;

    const std::size_t split = half_frames * kFrameLow / 2;  // in 2 kHz samples
    float* real = fft_real.get();
    std::fill(real, real + fft_size, 0.0f);
    std::array<double, 2> ref_energy{};
    for (std::size_t i = 0; i < n_half; ++i) {
        const float pair = x_low[2 * i] + x_low[2 * i + 1];
        if (i < split) real[i] = pair;
        ref_energy[i < split ? 0 : 1] += double(pair) * pair;
    }
    fftwf_execute_dft_r2c(forward, real, spectrum_ref.get());
    fftwf_complex* a = spectrum_ref.get();
    multiply_by_conjugate(a, spectrum_deg.get(), fft_size / 2 + 1);
    fftwf_execute_dft_c2r(inverse, a, real);  // real = first half's correlation

    auto value = [&](int h, std::size_t lag) {
        const double corr = h == 0 ? real[lag] : corr_2k[lag] - real[lag];
        const double deg_energy = h == 0 ? y_half_prefix[lag + split] - y_half_prefix[lag]
                                         : y_half_prefix[lag + n_half] - y_half_prefix[lag + split];
        if (!(ref_energy[std::size_t(h)] > 0.0) || !(deg_energy > kAbsentRatio * ref_energy[std::size_t(h)])) return 0.0;
        return corr / double(fft_size) / std::sqrt(ref_energy[std::size_t(h)] * deg_energy);
    };
    const std::size_t radius = std::size_t(kHalfSearch_s * kLowRateHz / 2);
    const std::size_t from = lag_2k > radius ? lag_2k - radius : 0;
    const std::size_t to = std::min(lag_2k + radius, std::size_t(max_delay_low));
    std::array<std::size_t, 2> peak{};
    std::array<double, 2> peak_value{-2.0, -2.0};
    for (int h = 0; h < 2; ++h)
        for (std::size_t lag = from; lag <= to; ++lag) {
            const double v = value(h, lag);
            if (v > peak_value[std::size_t(h)]) {
                peak_value[std::size_t(h)] = v;
                peak[std::size_t(h)] = lag;
            }
        }
    const double half_s = double(half_frames) * kFrameLow / kLowRateHz;
    if (std::min(peak_value[0], peak_value[1]) < kHalfMinConfidence * std::sqrt(std::max(1.0, kShortWindow_s / half_s)))
        return false;
    const double step_s = double(peak[0] > peak[1] ? peak[0] - peak[1] : peak[1] - peak[0]) * 2.0 / kLowRateHz;
    if (step_s < kHalfStep_s) return false;
    const double preference = (peak_value[0] - value(0, peak[1])) + (peak_value[1] - value(1, peak[0]));
    return preference >= kHalfPreference;
}

// Pearson correlation of 5 ms low-band amplitude envelopes over +-max_delay.
// Envelopes survive a slow time stretch that defeats waveform correlation.
void Aligner::Impl::envelope_search(AlignmentWindow& w, std::size_t frames, std::size_t region) {
    const std::size_t deg_frames = region / kFrameLow;
    double mean = 0.0;
    for (std::size_t f = 0; f < frames; ++f) {
        envelope_ref[f] = static_cast<float>(std::sqrt(ref_frame_energy[f]));
        mean += envelope_ref[f];
    }
    mean /= double(frames);
    double ref_var = 0.0;
    for (std::size_t f = 0; f < frames; ++f) {
        envelope_ref[f] = static_cast<float>(envelope_ref[f] - mean);
        ref_var += double(envelope_ref[f]) * envelope_ref[f];
    }
    for (std::size_t g = 0; g < deg_frames; ++g) {
        const float e = static_cast<float>(std::sqrt(energy(y_low.data() + g * kFrameLow, kFrameLow)));
        envelope_deg[g] = e;
        envelope_prefix[g + 1] = envelope_prefix[g] + e;
        envelope_prefix_sq[g + 1] = envelope_prefix_sq[g] + double(e) * e;
    }
    double best = -2.0;
    std::size_t best_lag = 0;
    for (std::size_t lag = 0; lag + frames <= deg_frames; ++lag) {
        const double sum = envelope_prefix[lag + frames] - envelope_prefix[lag];
        const double var = envelope_prefix_sq[lag + frames] - envelope_prefix_sq[lag] - sum * sum / double(frames);
        if (!(var > 0.0) || !(ref_var > 0.0)) continue;
        const double r = dot(envelope_ref.data(), envelope_deg.data() + lag, frames) / std::sqrt(ref_var * var);
        if (r > best) {
            best = r;
            best_lag = lag;
        }
    }
    w.envelope_confidence = std::max(best, 0.0);
    const double window_s = double(frames) * kFrameLow / kLowRateHz;
    if (best >= kEnvelopeMinConfidence && window_s >= kEnvelopeMinWindow_s) {
        w.verdict = WindowVerdict::EnvelopeOnly;
        w.delay_samples = (std::int64_t(best_lag) - max_delay_frames) * kFrameFull;
        w.fractional_delay_samples = double(w.delay_samples);
    } else {
        w.verdict = WindowVerdict::NoPeak;
    }
}

}  // namespace sibilant::dsp
