// The aligner's streaming orchestration and public API (dsp/alignment.hpp).
//
// Both streams arrive in chunks of any size. Each is kept at full rate and as
// its 4 kHz low band in rings sized at set-up; a reference window is processed
// (coarse_search.cpp and on) as soon as the degraded has arrived far enough
// past its end to cover the search range, so memory stays bounded and batch
// (align(), which reads the caller's buffers in place) and streaming give the
// same results. Also here: the names of the enums, config validation, and
// remove_delay_and_gain().
#include "dsp/alignment/stages.hpp"

#include <cstdio>

#include "sibilant/error.hpp"

namespace sibilant::dsp {

const char* to_string(AlignmentMethod method) {
    switch (method) {
        case AlignmentMethod::Waveform: return "waveform";
        case AlignmentMethod::Envelope: return "envelope";
    }
    return "?";
}

const char* to_string(AlignmentStatus status) {
    switch (status) {
        case AlignmentStatus::Pending: return "pending";
        case AlignmentStatus::Aligned: return "aligned";
        case AlignmentStatus::AlignedPiecewise: return "aligned-piecewise";
        case AlignmentStatus::Drift: return "drift";
        case AlignmentStatus::NoCommonContent: return "no-common-content";
        case AlignmentStatus::ReferenceSilent: return "reference-silent";
        case AlignmentStatus::DegradedSilent: return "degraded-silent";
        case AlignmentStatus::TooShort: return "too-short";
        case AlignmentStatus::Overrun: return "overrun";
    }
    return "?";
}

const char* to_string(WindowVerdict verdict) {
    switch (verdict) {
        case WindowVerdict::NoSpeech: return "no-speech";
        case WindowVerdict::DegradedSilent: return "degraded-silent";
        case WindowVerdict::NoPeak: return "no-peak";
        case WindowVerdict::EnvelopeOnly: return "envelope-only";
        case WindowVerdict::Unstable: return "unstable";
        case WindowVerdict::Found: return "found";
    }
    return "?";
}

void validate(const AlignerConfig& c) {
    auto fail = [](const char* name, double value, const char* range) {
        char text[200];
        std::snprintf(text, sizeof text, "alignment: %s = %g is out of range %s", name, value, range);
        throw Error(text);
    };
    if (c.sample_rate_hz != kRateHz) fail("sample_rate_hz", c.sample_rate_hz, "{48000}");
    if (!(c.max_delay_s > 0.0 && c.max_delay_s <= 5.0)) fail("max_delay_s", c.max_delay_s, "(0, 5]");
    if (!(c.window_s >= 1.0 && c.window_s <= 8.0)) fail("window_s", c.window_s, "[1, 8]");
    if (!(c.min_confidence > 0.0 && c.min_confidence < 1.0)) fail("min_confidence", c.min_confidence, "(0, 1)");
    if (!(c.settle_speech_s >= 0.0 && c.settle_speech_s <= 60.0)) fail("settle_speech_s", c.settle_speech_s, "[0, 60]");
    if (!(c.min_duration_s >= 0.1 && c.min_duration_s <= 60.0)) fail("min_duration_s", c.min_duration_s, "[0.1, 60]");
    if (!(c.max_skew_s >= 0.0 && c.max_skew_s <= 60.0)) fail("max_skew_s", c.max_skew_s, "[0, 60]");
    if (!(c.kept_windows >= 0 && c.kept_windows <= 100000)) fail("kept_windows", c.kept_windows, "[0, 100000]");
}

Aligner::Impl::Impl(const AlignerConfig& c) : config(c) {
    validate(c);
    const std::int64_t block = kBlockFull;
    window = std::max<std::int64_t>(1, std::llround(c.window_s * kRateHz / double(block))) * block;
    window_low = window / kDecimation;
    max_delay_frames = std::int64_t(std::ceil(c.max_delay_s * kLowRateHz / kFrameLow));
    max_delay_low = max_delay_frames * kFrameLow;
    max_delay = max_delay_low * kDecimation;
    const std::int64_t region_low = window_low + 2 * max_delay_low;
    fft_size = 1;
    while (std::int64_t(fft_size) < region_low / 2) fft_size *= 2;  // the search runs on 2 kHz pair sums

    const std::int64_t skew = std::llround(c.max_skew_s * kRateHz);
    ref_full.reset(std::size_t(window + 2 * max_delay + skew + 2 * kMargin));
    deg_full.reset(std::size_t(window + 2 * max_delay + skew + 2 * kMargin));
    const std::int64_t low_capacity =
        (kHistoryWindows + 1) * window_low + 2 * max_delay_low + skew / kDecimation + kMargin;
    ref_low.reset(std::size_t(low_capacity));
    deg_low.reset(std::size_t(low_capacity));

    fft_real = fftw_array<float>(fft_size, "alignment");
    spectrum_ref = fftw_array<fftwf_complex>(fft_size / 2 + 1, "alignment");
    spectrum_deg = fftw_array<fftwf_complex>(fft_size / 2 + 1, "alignment");
    forward = shared_r2c_plan(int(fft_size));
    inverse = shared_c2r_plan(int(fft_size));
    if (!forward || !inverse) {
        throw Error("alignment: FFTW could not plan a " + std::to_string(fft_size) + "-point transform");
    }

    const std::size_t frames = std::size_t(window_low / kFrameLow);
    x_low.assign(std::size_t(window_low), 0.0f);
    y_low.assign(std::size_t(region_low), 0.0f);
    y_half_prefix.assign(std::size_t(region_low / 2) + 1, 0.0);
    corr_2k.assign(std::size_t(max_delay_low) + 1, 0.0f);
    ref_frame_energy.assign(frames, 0.0);
    envelope_ref.assign(frames, 0.0f);
    envelope_deg.assign(std::size_t(region_low / kFrameLow), 0.0f);
    envelope_prefix.assign(envelope_deg.size() + 1, 0.0);
    envelope_prefix_sq.assign(envelope_deg.size() + 1, 0.0);
    block_order.assign(std::size_t(window / kBlockFull), 0);
    block_ref.assign(kBlockFull, 0.0f);
    block_deg.assign(kBlockFull + kFineLags, 0.0f);
    span_ref.assign(std::size_t((kHistoryWindows + 1) * window_low), 0.0f);
    span_deg.assign(span_ref.size(), 0.0f);
    span_score.assign(span_ref.size() / kFrameLow + 1, 0.0);
    block_score.assign(block_order.size(), 0.0);
    block_energy.assign(block_order.size(), 0.0);
    env_prefix.assign(std::size_t(region_low) + 1, 0.0);
    env_fine_ref.assign(std::size_t(window_low / 2), 0.0f);
    env_fine_deg.assign(std::size_t(region_low / 2), 0.0f);
    env_fine_sum.assign(env_fine_deg.size() + 1, 0.0);
    env_fine_sum_sq.assign(env_fine_deg.size() + 1, 0.0);
    env_curve_sum.assign(std::size_t(max_delay_low) + 1, 0.0);
    const std::size_t reserved = c.kept_windows > 0 ? std::size_t(c.kept_windows) : kReservedWindows;
    windows.reserve(reserved);
    window_ref_energy.reserve(reserved);
    window_deg_energy.reserve(reserved);
    window_env_ref_energy.reserve(reserved);
    window_env_deg_energy.reserve(reserved);
    segments.reserve(kReservedSegments);
}

// Oldest absolute sample each ring must still hold for the windows not yet processed.
std::int64_t Aligner::Impl::needed_ref_full() const { return next_window * window; }
std::int64_t Aligner::Impl::needed_deg_full() const {
    return next_window * window - max_delay - kFineRadius - kMargin;
}
std::int64_t Aligner::Impl::needed_low() const {
    return (next_window - kHistoryWindows) * window_low - max_delay_low - kMargin / kDecimation;
}

void Aligner::Impl::push(bool is_reference, std::span<const float> samples) {
    if ((is_reference ? ref_ended : deg_ended) || overrun) return;
    StreamSamples& full = is_reference ? ref_full : deg_full;
    StreamSamples& low = is_reference ? ref_low : deg_low;
    LowBandDecimator& decimator = is_reference ? ref_decimator : deg_decimator;
    if (!is_reference && ref_ended && next_window * window >= ref_full.total()) {
        // Every reference window is done: the rest of the degraded is only counted.
        full.write(samples.data(), samples.size());
        return;
    }
    while (!samples.empty()) {
        const std::int64_t needed_full = is_reference ? needed_ref_full() : needed_deg_full();
        const std::int64_t limit = std::min(std::max<std::int64_t>(needed_full, 0) + full.capacity(),
                                            (std::max<std::int64_t>(needed_low(), 0) + low.capacity()) *
                                                kDecimation);
        const std::int64_t space = limit - full.total();
        if (space <= 0) {
            overrun = true;
            overrun_by_reference = is_reference;
            return;
        }
        const std::size_t n = std::min(samples.size(), std::size_t(space));
        full.write(samples.data(), n);
        decimator.push(samples.data(), n, low);
        samples = samples.subspan(n);
        process_ready();
    }
}

bool Aligner::Impl::window_ready(std::int64_t k) const {
    std::int64_t end = (k + 1) * window;
    if (ref_ended) {
        if (k * window >= ref_full.total()) return false;
        end = std::min(end, ref_full.total());
    } else if (ref_full.total() < end) {
        return false;
    }
    return deg_ended || deg_full.total() >= end + max_delay + kFineRadius + 2 * kDecimation;
}

void Aligner::Impl::process_ready() {
    while (window_ready(next_window)) {
        process_window(next_window);
        ++next_window;
        update_final_until();
    }
}

void Aligner::Impl::end_stream(bool is_reference) {
    (is_reference ? ref_ended : deg_ended) = true;
    finished = ref_ended && deg_ended;
    if (!overrun) process_ready();
    if (finished) drop_unconfirmed_last_step();
}

Aligner::Aligner(const AlignerConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Aligner::~Aligner() = default;
Aligner::Aligner(Aligner&&) noexcept = default;
Aligner& Aligner::operator=(Aligner&&) noexcept = default;

void Aligner::share_full_rate(const SampleRing& reference, const SampleRing& degraded,
                              std::int64_t max_ahead_samples) {
    const std::int64_t needed = full_rate_history_samples() + std::max<std::int64_t>(max_ahead_samples, 0);
    for (const SampleRing* ring : {&reference, &degraded})
        if (std::int64_t(ring->capacity()) < needed)
            throw Error("alignment: a shared ring holds " + std::to_string(ring->capacity()) +
                        " samples; the aligner needs " + std::to_string(needed));
    impl_->ref_full.share(reference);
    impl_->deg_full.share(degraded);
}

std::int64_t Aligner::full_rate_history_samples() const noexcept { return impl_->ref_full.capacity(); }

void Aligner::push_reference(std::span<const float> samples) noexcept { impl_->push(true, samples); }
void Aligner::push_degraded(std::span<const float> samples) noexcept { impl_->push(false, samples); }
void Aligner::end_reference() noexcept { impl_->end_stream(true); }
void Aligner::end_degraded() noexcept { impl_->end_stream(false); }
void Aligner::finish() noexcept {
    impl_->end_stream(true);
    impl_->end_stream(false);
}

AlignmentStatus Aligner::status() const noexcept { return impl_->decide().status; }

bool Aligner::settled() const noexcept {
    const AlignmentStatus s = status();
    return s == AlignmentStatus::Aligned || s == AlignmentStatus::AlignedPiecewise;
}

std::int64_t Aligner::current_delay_samples() const noexcept {
    return impl_->segments.empty() ? 0 : impl_->segments.back().delay_samples;
}

double Aligner::current_gain_db() const noexcept {
    if (impl_->segments.empty()) return 0.0;
    const Segment& s = impl_->segments.back();
    return s.ref_energy > 0.0 ? to_db(s.deg_energy / s.ref_energy) : 0.0;
}

double Aligner::current_confidence() const noexcept {
    if (impl_->segments.empty()) return 0.0;
    const Segment& s = impl_->segments.back();
    return s.windows > 0 ? s.confidence_sum / s.windows : 0.0;
}

std::int64_t Aligner::final_until_sample() const noexcept {
    return impl_->finished ? impl_->ref_full.total() : impl_->final_until;
}

std::int64_t Aligner::windows_processed() const noexcept { return impl_->next_window; }
std::size_t Aligner::segment_count() const noexcept { return impl_->segments.size(); }
DelaySegment Aligner::segment(std::size_t index) const noexcept { return impl_->delay_segment(index); }

AlignmentResult Aligner::result() const { return impl_->result(); }

AlignmentResult align(std::span<const float> reference, std::span<const float> degraded,
                      const AlignerConfig& config) {
    Aligner aligner(config);
    aligner.impl_->ref_full.attach(reference);
    aligner.impl_->deg_full.attach(degraded);
    // Fed in step, as a live probe would be, so the stream buffers never overrun.
    constexpr std::size_t kChunk = kRateHz / 4;
    for (std::size_t at = 0; at < std::max(reference.size(), degraded.size()); at += kChunk) {
        if (at < reference.size()) aligner.push_reference(reference.subspan(at, std::min(kChunk, reference.size() - at)));
        if (at + kChunk >= reference.size()) aligner.end_reference();
        if (at < degraded.size()) aligner.push_degraded(degraded.subspan(at, std::min(kChunk, degraded.size() - at)));
        if (at + kChunk >= degraded.size()) aligner.end_degraded();
    }
    aligner.finish();
    return aligner.result();
}

std::vector<float> remove_delay_and_gain(std::span<const float> degraded, const AlignmentResult& result,
                                         std::size_t reference_length) {
    std::vector<float> out(reference_length, 0.0f);
    if (!result.ok()) return out;
    const float scale = static_cast<float>(std::pow(10.0, -result.gain_db / 20.0));
    for (const DelaySegment& s : result.segments) {
        const std::int64_t end = std::min<std::int64_t>(s.ref_end_sample, std::int64_t(reference_length));
        for (std::int64_t n = std::max<std::int64_t>(s.ref_begin_sample, 0); n < end; ++n) {
            const std::int64_t j = n + s.delay_samples;
            if (j >= 0 && j < std::int64_t(degraded.size())) out[std::size_t(n)] = degraded[std::size_t(j)] * scale;
        }
    }
    return out;
}

}  // namespace sibilant::dsp
