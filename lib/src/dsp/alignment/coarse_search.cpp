// Coarse search: one reference window against the degraded (header, steps 1-2).
//
// The 4 kHz low band (below 1.5 kHz, which every Opus mode keeps) is made here
// by LowBandDecimator as the streams arrive. For each window: the reference's
// speech activity, then the normalised cross-correlation over +-max_delay by
// FFT on 2 kHz pair sums, refined at 4 kHz around its peak. The peak's height
// is the window's confidence. The window then goes to the drift signs
// (drift_signs.cpp) and, when it correlates, to the fine refinement
// (fine_refinement.cpp) and the delay map (delay_map.cpp).
#include "dsp/alignment/stages.hpp"

#include <numbers>

namespace sibilant::dsp {

namespace alignment {

LowBandDecimator::LowBandDecimator() {
    static_assert(kFirTaps == 4 * kDecimation, "four phases of kDecimation taps");
    const double fc = kFirCutoffHz / kRateHz;
    const double centre = 0.5 * (kFirTaps - 1);
    double sum = 0.0;
    std::array<double, kFirTaps> h{};
    for (int j = 0; j < kFirTaps; ++j) {
        const double t = j - centre;
        const double sinc = std::sin(2.0 * std::numbers::pi * fc * t) / (std::numbers::pi * t);
        const double phase = 2.0 * std::numbers::pi * j / (kFirTaps - 1);
        const double blackman = 0.42 - 0.5 * std::cos(phase) + 0.08 * std::cos(2.0 * phase);
        h[std::size_t(j)] = sinc * blackman;
        sum += h[std::size_t(j)];
    }
    for (int k = 0; k < kDecimation; ++k)
        for (int p = 0; p < 4; ++p)
            phase_taps_[std::size_t(k)](p) = static_cast<float>(h[std::size_t(kDecimation * p + k)] / sum);
    for (auto& z : recent_) z.setZero();  // the stream is 0 before its first sample
    out_.assign(512, 0.0f);
}

void LowBandDecimator::push(const float* in, std::size_t n, StreamSamples& out) {
    std::size_t produced = 0;
    if (partial_fill_ > 0) {
        const std::size_t take = std::min(n, std::size_t(kDecimation) - partial_fill_);
        std::memcpy(partial_.data() + partial_fill_, in, take * sizeof(float));
        partial_fill_ += take;
        in += take;
        n -= take;
        if (partial_fill_ < std::size_t(kDecimation)) return;
        emit(group(partial_.data()), produced, out);
        partial_fill_ = 0;
    }
    // The hot loop: state in locals so that successive groups overlap.
    Eigen::Array4f z0 = recent_[0], z1 = recent_[1], z2 = recent_[2];
    for (; n >= std::size_t(kDecimation); in += kDecimation, n -= kDecimation) {
        Eigen::Array4f z = in[0] * phase_taps_[0];
        for (std::size_t k = 1; k < std::size_t(kDecimation); ++k) z += in[k] * phase_taps_[k];
        out_[produced++] = z0(0) + z1(1) + z2(2) + z(3);
        z0 = z1;
        z1 = z2;
        z2 = z;
        if (produced == out_.size()) {
            out.write(out_.data(), produced);
            produced = 0;
        }
    }
    recent_ = {z0, z1, z2};
    out.write(out_.data(), produced);
    std::memcpy(partial_.data(), in, n * sizeof(float));
    partial_fill_ = n;
}

float LowBandDecimator::group(const float* x) {
    Eigen::Array4f z = x[0] * phase_taps_[0];
    for (std::size_t k = 1; k < std::size_t(kDecimation); ++k) z += x[k] * phase_taps_[k];
    const float y = recent_[0](0) + recent_[1](1) + recent_[2](2) + z(3);
    recent_[0] = recent_[1];
    recent_[1] = recent_[2];
    recent_[2] = z;
    return y;
}

void LowBandDecimator::emit(float y, std::size_t& produced, StreamSamples& out) {
    out_[produced++] = y;
    if (produced == out_.size()) {
        out.write(out_.data(), produced);
        produced = 0;
    }
}

}  // namespace alignment

void Aligner::Impl::process_window(std::int64_t k) {
    AlignmentWindow w;
    w.ref_begin_sample = k * window;
    std::int64_t length = std::min(window, ref_full.total() - w.ref_begin_sample);
    w.ref_end_sample = w.ref_begin_sample + length;
    length -= length % kBlockFull;
    if (double(length) < kMinLastWindow_s * kRateHz) {
        record(w, 0.0, 0.0);
        return;
    }
    const std::int64_t n_low = length / kDecimation;
    const std::int64_t begin_low = k * window_low;
    const std::size_t frames = std::size_t(n_low / kFrameLow);
    const std::size_t region = std::size_t(n_low + 2 * max_delay_low);
    ref_low.read(begin_low, x_low.data(), std::size_t(n_low));
    deg_low.read(begin_low - max_delay_low, y_low.data(), region);
    remove_mean(x_low.data(), std::size_t(n_low));
    remove_mean(y_low.data(), region);

    // Speech activity of the reference window.
    double loudest = 0.0;
    for (std::size_t f = 0; f < frames; ++f) {
        ref_frame_energy[f] = energy(x_low.data() + f * kFrameLow, kFrameLow);
        loudest = std::max(loudest, ref_frame_energy[f]);
    }
    const double threshold =
        std::max(loudest * std::pow(10.0, -kActivityRangeDb / 10.0), kActivityFloorMeanSquare * kFrameLow);
    std::size_t active = 0;
    for (std::size_t f = 0; f < frames; ++f) active += ref_frame_energy[f] > threshold;
    w.speech_s = double(active) * kFrameLow / kLowRateHz;
    if (w.speech_s < kMinWindowSpeech_s) {
        record(w, 0.0, 0.0);
        return;
    }
    if (energy(y_low.data(), region) < kSilenceMeanSquare * double(region)) {
        w.verdict = WindowVerdict::DegradedSilent;
        record(w, 0.0, 0.0);
        return;
    }
    fine_envelope(w, std::size_t(n_low), region);

    // Coarse, step 1: +-max_delay on 2 kHz pair sums (the same on both
    // signals, so their aliasing correlates too) by FFT.
    const std::size_t n_half = std::size_t(n_low) / 2, region_half = region / 2;
    float* real = fft_real.get();
    std::fill(real, real + fft_size, 0.0f);
    double ref_energy_2k = 0.0;
    for (std::size_t i = 0; i < n_half; ++i) {
        real[i] = x_low[2 * i] + x_low[2 * i + 1];
        ref_energy_2k += double(real[i]) * real[i];
    }
    fftwf_execute_dft_r2c(forward, real, spectrum_ref.get());
    std::fill(real, real + fft_size, 0.0f);
    double running = 0.0;
    y_half_prefix[0] = 0.0;
    for (std::size_t i = 0; i < region_half; ++i) {
        const float pair = y_low[2 * i] + y_low[2 * i + 1];
        real[i] = pair;
        running += double(pair) * pair;
        y_half_prefix[i + 1] = running;
    }
    fftwf_execute_dft_r2c(forward, real, spectrum_deg.get());
    fftwf_complex* a = spectrum_ref.get();
    multiply_by_conjugate(a, spectrum_deg.get(), fft_size / 2 + 1);
    fftwf_execute_dft_c2r(inverse, a, real);
    std::copy(real, real + max_delay_low + 1, corr_2k.data());
    // Peak of corr^2 / deg_energy over positive corr: the normalised
    // correlation's argmax without a square root per lag.
    std::size_t best_2k = 0;
    double best_score = 0.0;
    for (std::size_t lag = 0; lag <= std::size_t(max_delay_low); ++lag) {
        const double corr = real[lag];
        const double deg_energy = y_half_prefix[lag + n_half] - y_half_prefix[lag];
        if (!(deg_energy > kAbsentRatio * ref_energy_2k)) continue;  // absent: FFT rounding over ~0
        if (corr > 0.0 && corr * corr > best_score * deg_energy) {
            best_score = corr * corr / deg_energy;
            best_2k = lag;
        }
    }
    // Step 2: the normalised correlation at 4 kHz, directly, around it.
    const std::size_t lags = std::size_t(2 * max_delay_low + 1);
    const double ref_energy = energy(x_low.data(), std::size_t(n_low));
    auto normalised = [&](std::size_t lag) {
        const double deg_energy = energy(y_low.data() + lag, std::size_t(n_low));
        if (!(deg_energy > 0.0) || !(ref_energy > 0.0)) return 0.0;
        return dot(x_low.data(), y_low.data() + lag, std::size_t(n_low)) / std::sqrt(ref_energy * deg_energy);
    };
    std::size_t best = 0;
    double best_value = -2.0;
    std::array<double, 7> around{};  // lags 2 best_2k - 3 ... + 3
    for (int i = 0; i < 7; ++i) {
        const std::int64_t lag = 2 * std::int64_t(best_2k) + i - 3;
        around[std::size_t(i)] = lag >= 0 && lag < std::int64_t(lags) ? normalised(std::size_t(lag)) : -2.0;
        if (i > 0 && i < 6 && around[std::size_t(i)] > best_value) {
            best_value = around[std::size_t(i)];
            best = std::size_t(lag);
        }
    }
    w.confidence = std::min(best_value, 1.0);  // rounding can pass 1 by an ulp
    const double window_s = double(length) / kRateHz;
    const double short_scale = std::sqrt(std::max(1.0, kShortWindow_s / window_s));
    const double threshold_confidence = config.min_confidence * short_scale;
    // Without a waveform peak, the envelopes may still match (drift).
    if (best_value < threshold_confidence) envelope_search(w, frames, region);
    // Only where something is shared: unrelated windows peak near 0.1.
    if (best_value < kStretchTestBelow &&
        (best_value >= kStretchTryAbove || w.verdict == WindowVerdict::EnvelopeOnly)) {
        w.stretch_percent = stretch_test(n_half, region_half, std::sqrt(best_score) / double(fft_size), short_scale);
        if (w.stretch_percent != 0.0) {
            w.verdict = WindowVerdict::Unstable;
            w.delay_samples = std::llround((double(best) - double(max_delay_low)) * kDecimation);
            record(w, 0.0, 0.0);
            return;
        }
    }
    if (best_value < threshold_confidence) {
        record(w, 0.0, 0.0);
        return;
    }
    const std::size_t in_around = best + 3 - 2 * best_2k;
    double offset = 0.0;
    if (around[in_around - 1] > -2.0 && around[in_around + 1] > -2.0)
        offset = parabolic_offset(around[in_around - 1], best_value, around[in_around + 1]);
    const std::int64_t coarse =
        std::llround((double(best) - double(max_delay_low) + offset) * kDecimation);
    const bool halves_agree = !halves_disagree(n_half, best_2k, frames, loudest);

    // Full rate, then the gain at the delay found (fine_refinement.cpp).
    refine(w, length, best, coarse);
    if (!halves_agree) w.verdict = WindowVerdict::Unstable;

    double ref_sum = 0.0, deg_sum = 0.0;  // the gain's energies, for the segment
    if (w.verdict == WindowVerdict::Found) window_gain(w, begin_low, frames, region, threshold, ref_sum, deg_sum);
    record(w, ref_sum, deg_sum);
}

}  // namespace sibilant::dsp
