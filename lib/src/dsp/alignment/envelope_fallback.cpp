// Envelope fallback for vocoders (header, step 8).
//
// Through a vocoder (Codec2, LPCNet-like) the waveform does not follow the
// input but the low band's 5 ms RMS envelope does. Every speech window adds its
// envelope correlation over +-max_delay (0.5 ms grid) to a curve summed over the
// file, weighted by speech; once both streams have ended, a clear peak that
// most windows share on their own is the delay, unless a time stretch (which
// also keeps envelopes alike) is seen. confidence.cpp decides when to use it.
#include "dsp/alignment/stages.hpp"

namespace sibilant::dsp {

// 5 ms RMS envelope of x (4 kHz) every 0.5 ms, centred on each 2 kHz sample.
void Aligner::Impl::rms_envelope(const float* x, std::size_t n, float* out, std::size_t m) {
    env_prefix[0] = 0.0;
    for (std::size_t i = 0; i < n; ++i) env_prefix[i + 1] = env_prefix[i] + double(x[i]) * x[i];
    for (std::size_t k = 0; k < m; ++k) {
        const std::size_t c = 2 * k;
        const std::size_t from = c >= std::size_t(kFrameLow / 2) ? c - std::size_t(kFrameLow / 2) : 0;
        const std::size_t to = std::min(n, c + std::size_t(kFrameLow / 2));
        out[k] = static_cast<float>(std::sqrt(std::max(env_prefix[to] - env_prefix[from], 0.0) / double(kFrameLow)));
    }
}

// The window's fine envelope correlation over +-max_delay, by FFT, added
// to the whole file's curve (header, step 8). The waveform search has not
// run yet: the transform buffers are free.
void Aligner::Impl::fine_envelope(AlignmentWindow& w, std::size_t n_low, std::size_t region) {
    const std::size_t m_ref = n_low / 2, m_deg = region / 2;
    rms_envelope(x_low.data(), n_low, env_fine_ref.data(), m_ref);
    rms_envelope(y_low.data(), region, env_fine_deg.data(), m_deg);
    double mean = 0.0;
    for (std::size_t k = 0; k < m_ref; ++k) mean += env_fine_ref[k];
    mean /= double(m_ref);
    double ref_var = 0.0;
    float* real = fft_real.get();
    std::fill(real, real + fft_size, 0.0f);
    for (std::size_t k = 0; k < m_ref; ++k) {
        real[k] = static_cast<float>(env_fine_ref[k] - mean);
        ref_var += double(real[k]) * real[k];
    }
    if (!(ref_var > 0.0)) return;
    fftwf_execute_dft_r2c(forward, real, spectrum_ref.get());
    std::fill(real, real + fft_size, 0.0f);
    env_fine_sum[0] = env_fine_sum_sq[0] = 0.0;
    for (std::size_t k = 0; k < m_deg; ++k) {
        real[k] = env_fine_deg[k];
        env_fine_sum[k + 1] = env_fine_sum[k] + env_fine_deg[k];
        env_fine_sum_sq[k + 1] = env_fine_sum_sq[k] + double(env_fine_deg[k]) * env_fine_deg[k];
    }
    fftwf_execute_dft_r2c(forward, real, spectrum_deg.get());
    multiply_by_conjugate(spectrum_ref.get(), spectrum_deg.get(), fft_size / 2 + 1);
    fftwf_execute_dft_c2r(inverse, spectrum_ref.get(), real);
    const std::size_t lags = std::min(std::size_t(max_delay_low) + 1, m_deg - m_ref + 1);
    double best = -2.0;
    std::size_t best_lag = 0;
    for (std::size_t j = 0; j < lags; ++j) {
        const double sum = env_fine_sum[j + m_ref] - env_fine_sum[j];
        const double var = env_fine_sum_sq[j + m_ref] - env_fine_sum_sq[j] - sum * sum / double(m_ref);
        // Absent degraded: 0 (kAbsentRatio). A Pearson value is at most 1; the clamp only removes FFT rounding.
        const double r = var > kAbsentRatio * ref_var
                             ? std::clamp(double(real[j]) / double(fft_size) / std::sqrt(ref_var * var), -1.0, 1.0)
                             : 0.0;
        env_curve_sum[j] += w.speech_s * r;
        if (r > best) {
            best = r;
            best_lag = j;
        }
    }
    env_curve_weight += w.speech_s;
    w.envelope_curve_peak = std::max(best, 0.0);
    w.envelope_delay_samples = (double(best_lag) - double(max_delay_low) / 2.0) * 2.0 * kDecimation;
    // Gain at that delay, as step 4 does at the waveform's, for the envelope rescue.
    const std::int64_t shift = std::int64_t(best_lag) * 2;
    const std::size_t frames = n_low / kFrameLow;
    double loudest = 0.0;
    for (std::size_t f = 0; f < frames; ++f) loudest = std::max(loudest, ref_frame_energy[f]);
    const double threshold =
        std::max(loudest * std::pow(10.0, -kActivityRangeDb / 10.0), kActivityFloorMeanSquare * kFrameLow);
    for (std::size_t f = 0; f < frames; ++f) {
        const std::int64_t at = std::int64_t(f) * kFrameLow + shift;
        if (!(ref_frame_energy[f] > threshold) || at + kFrameLow > std::int64_t(region)) continue;
        pending_env_ref += ref_frame_energy[f];
        pending_env_deg += energy(y_low.data() + at, kFrameLow);
    }
}

// Step 8: the summed envelope curve has one clear peak most windows share.
bool Aligner::Impl::envelope_consensus(Decision& d) const {
    if (!(env_curve_weight > 0.0)) return false;
    int audible = 0, waveform = 0, stretched = 0;
    for (const AlignmentWindow& w : windows) {
        if (w.verdict == WindowVerdict::NoSpeech || w.verdict == WindowVerdict::DegradedSilent) continue;
        ++audible;
        waveform += w.stretch_percent == 0.0 && w.confidence >= config.min_confidence;
        stretched += w.stretch_percent != 0.0;
    }
    // A time stretch also leaves the envelopes correlating: more than a
    // stray window that prefers a stretched copy is a stretch, not a vocoder.
    if (stretched >= kEnvelopeMaxStretched || double(stretched) > kEnvelopeMaxStretchedShare * audible) return false;
    const bool waveform_ok = d.status == AlignmentStatus::Aligned || d.status == AlignmentStatus::AlignedPiecewise;
    // Where the waveform mostly correlates, its verdict (drift or not) stands.
    if (!waveform_ok && double(waveform) >= kMinCorrelatingFraction * audible) return false;
    std::size_t best = 0;
    for (std::size_t j = 1; j < env_curve_sum.size(); ++j)
        if (env_curve_sum[j] > env_curve_sum[best]) best = j;
    const double value = env_curve_sum[best] / env_curve_weight;
    double offset = 0.0;
    if (best > 0 && best + 1 < env_curve_sum.size())
        offset = parabolic_offset(env_curve_sum[best - 1], env_curve_sum[best], env_curve_sum[best + 1]);
    const double delay = (double(best) + offset - double(max_delay_low) / 2.0) * 2.0 * kDecimation;
    double agree_speech = 0.0, ref_energy = 0.0, deg_energy = 0.0;
    LineFit line;  // the agreeing windows' own delays against time
    int agreeing = 0;
    for (std::size_t i = 0; i < windows.size(); ++i) {
        const AlignmentWindow& w = windows[i];
        if (!(w.envelope_curve_peak > 0.0)) continue;
        if (std::fabs(w.envelope_delay_samples - delay) > kEnvelopeAgree_s * kRateHz) continue;
        ++agreeing;
        agree_speech += w.speech_s;
        ref_energy += window_env_ref_energy[i];
        deg_energy += window_env_deg_energy[i];
        line.add(0.5 * double(w.ref_begin_sample + w.ref_end_sample) / kRateHz, w.envelope_delay_samples);
    }
    // They must not trend (a stretch does).
    if (std::fabs(line.change()) >= kEnvelopeMaxTrend_s * kRateHz) return false;
    const double share = agree_speech / env_curve_weight;
    // One window alone must be near-certain: chance envelope peaks reach 0.7.
    const bool enough = agreeing >= 2 || (audible == 1 && agreeing == 1 && value >= kEnvelopeSingle);
    if (value < kEnvelopeConsensusMin || share < kEnvelopeMinAgreeShare || !enough) return false;
    d.rescued = true;
    d.rescue = {.method = AlignmentMethod::Envelope,
                .delay_samples = delay,
                .confidence = kEnvelopeConfidenceScale * value * share,
                .envelope_mean = value,
                .inliers = agreeing,
                .windows = audible,
                .ref_energy = ref_energy,
                .deg_energy = deg_energy,
                .speech_s = agree_speech};
    d.status = AlignmentStatus::Aligned;
    return true;
}

}  // namespace sibilant::dsp
