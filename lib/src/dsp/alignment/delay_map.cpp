// The delay map: segments of one delay, and the steps between them (header,
// steps 5 and 6).
//
// Each processed window is recorded here. Window delays within 0.25 ms of the
// open segment's join it (their fine curves add up); a change of 1 ms or more
// is a step (a jitter buffer), located at 5 ms resolution and guarded on both
// sides; a smaller change confirmed by a second window, a segment that changes
// again at once, or drifting windows in a row are drift. A step only the last
// window shows is dropped as an outlier.
#include "dsp/alignment/stages.hpp"

namespace sibilant::dsp {

void Aligner::Impl::record(const AlignmentWindow& w, double ref_energy, double deg_energy) {
    const std::size_t index = recorded++;
    if (config.kept_windows == 0 || windows.size() < std::size_t(config.kept_windows)) {
        windows.push_back(w);
        window_ref_energy.push_back(ref_energy);
        window_deg_energy.push_back(deg_energy);
        window_env_ref_energy.push_back(pending_env_ref);
        window_env_deg_energy.push_back(pending_env_deg);
    } else {  // the oldest gives way
        const std::size_t at = index % std::size_t(config.kept_windows);
        windows[at] = w;
        window_ref_energy[at] = ref_energy;
        window_deg_energy[at] = deg_energy;
        window_env_ref_energy[at] = pending_env_ref;
        window_env_deg_energy[at] = pending_env_deg;
    }
    pending_env_ref = pending_env_deg = 0.0;
    if (w.verdict != WindowVerdict::NoSpeech) {
        ++speech_windows;
        speech_seen_s += w.speech_s;
        if (w.verdict != WindowVerdict::DegradedSilent) {
            ++audible_windows;
            best_confidence = std::max(best_confidence, w.confidence);
            if (w.verdict == WindowVerdict::Found || w.verdict == WindowVerdict::Unstable) ++correlating_windows;
            if (w.verdict == WindowVerdict::EnvelopeOnly) ++envelope_windows;
        }
    }
    if (!segments.empty()) segments.back().ref_end_sample = w.ref_end_sample;
    if (w.stretch_percent != 0.0 && drift == DriftCause::None) set_drift(DriftCause::Stretch, w, w);
    const bool has_delay = w.verdict == WindowVerdict::Found || w.verdict == WindowVerdict::Unstable ||
                           w.verdict == WindowVerdict::EnvelopeOnly;
    auto remember_delay = [&] {
        last_delay_window = index;
        last_delay_verdict = w.verdict;
        last_delay_samples = w.delay_samples;
        last_delay_begin = w.ref_begin_sample;
    };
    if (!has_delay || drift != DriftCause::None) {
        if (has_delay) remember_delay();
        return;
    }
    const bool drifting = w.verdict != WindowVerdict::Found;
    if (drifting && last_delay_window != SIZE_MAX) {
        const bool previous_drifting = last_delay_verdict != WindowVerdict::Found;
        const double step_s = double(std::llabs(w.delay_samples - last_delay_samples)) / kRateHz;
        if (previous_drifting && step_s <= kDriftMaxStep_s) {
            AlignmentWindow previous;
            previous.verdict = last_delay_verdict;
            previous.delay_samples = last_delay_samples;
            previous.ref_begin_sample = last_delay_begin;
            set_drift(DriftCause::UnstableWindows, previous, w);
        }
    }
    remember_delay();
    if (drifting || drift != DriftCause::None) return;

    last_found_begin = w.ref_begin_sample;
    if (segments.empty()) {
        open_segment(0, w, index, false);
    } else {
        Segment& s = segments.back();
        const std::int64_t step = std::llabs(w.delay_samples - s.delay_samples);
        if (step <= kSameDelay) {
            add_to_segment(s, w, index);
            small_step_window = SIZE_MAX;
        } else if (step < kMinStep) {
            // Clock skew moves the delay steadily: drift once a second window
            // confirms the move. A lone quiet window a few samples off is an
            // outlier, kept out of the segment.
            const bool confirms = small_step_window != SIZE_MAX &&
                                  (small_step_delay > s.delay_samples) == (w.delay_samples > s.delay_samples);
            if (confirms) {
                set_drift(DriftCause::CreepingDelay, last_of(s), w);
            } else {
                small_step_window = index;
                small_step_delay = w.delay_samples;
            }
        } else if (s.windows == 1 && s.entered_by_step) {
            set_drift(DriftCause::DelayKeepsChanging, last_of(s), w);
        } else {
            const std::int64_t split = locate_step(s, w);
            const std::int64_t guard =
                std::llround(kGuard_s * kRateHz) + std::llabs(w.delay_samples - s.delay_samples);
            s.ref_end_sample = std::max(s.ref_begin_sample, split - guard);
            open_segment(split + guard, w, index, true);
        }
    }
}

void Aligner::Impl::open_segment(std::int64_t begin, const AlignmentWindow& w, std::size_t index, bool by_step) {
    small_step_window = SIZE_MAX;
    Segment s;
    s.ref_begin_sample = begin;
    s.anchor_samples = window_centre;
    s.delay_samples = w.delay_samples;
    s.fractional_delay_samples = w.fractional_delay_samples;
    s.entered_by_step = by_step;
    segments.push_back(s);
    add_to_segment(segments.back(), w, index);
}

void Aligner::Impl::add_to_segment(Segment& s, const AlignmentWindow& w, std::size_t index) {
    // The opening window was searched around the anchor by definition; later
    // windows only when their coarse delay was close to it.
    if (s.windows == 0 || window_anchored) {
        s.curve.add(window_curve);
        double value = 0.0;
        const std::size_t at = s.curve.peak(value);
        s.delay_samples = s.anchor_samples - kFineRadius + std::int64_t(at);
        s.fractional_delay_samples = double(s.delay_samples);
        if (at > 0 && at + 1 < kFineLags)
            s.fractional_delay_samples += parabolic_offset(s.curve.at(at - 1), value, s.curve.at(at + 1));
    }
    s.confidence_sum += w.confidence;
    ++s.windows;
    s.speech_s += w.speech_s;
    s.ref_energy += window_ref_energy[config.kept_windows == 0 ? index : index % std::size_t(config.kept_windows)];
    s.deg_energy += window_deg_energy[config.kept_windows == 0 ? index : index % std::size_t(config.kept_windows)];
    s.last_window = index;
    s.last_window_begin = w.ref_begin_sample;
    s.last_window_end = w.ref_end_sample;
    s.last_window_delay = w.delay_samples;
    s.ref_end_sample = w.ref_end_sample;
}

void Aligner::Impl::set_drift(DriftCause cause, const AlignmentWindow& a, const AlignmentWindow& b) {
    drift = cause;
    drift_a = a;
    drift_b = b;
}

// What describe_drift() needs of a segment's last window (found, unstretched).
AlignmentWindow Aligner::Impl::last_of(const Segment& s) {
    AlignmentWindow w;
    w.ref_begin_sample = s.last_window_begin;
    w.ref_end_sample = s.last_window_end;
    w.verdict = WindowVerdict::Found;
    w.delay_samples = s.last_window_delay;
    return w;
}

// Where between segment `s` (its last found window) and window `w` the delay
// changed: the 5 ms point that best splits the low band into "explained by
// the old delay" before and "by the new delay" after.
std::int64_t Aligner::Impl::locate_step(const Segment& s, const AlignmentWindow& w) {
    const std::int64_t earliest = (next_window - kHistoryWindows) * window;
    const std::int64_t begin = std::max(s.last_window_begin, earliest);
    const std::int64_t begin_low = begin / kDecimation;
    const std::int64_t length_low =
        std::min<std::int64_t>((w.ref_end_sample - begin) / kDecimation, std::int64_t(span_ref.size()));
    const std::size_t frames = std::size_t(length_low / kFrameLow);
    const std::size_t n = frames * kFrameLow;
    ref_low.read(begin_low, span_ref.data(), n);
    const std::int64_t old_shift = std::llround(double(s.delay_samples) / kDecimation);
    const std::int64_t new_shift = std::llround(double(w.delay_samples) / kDecimation);
    // span_score[t] = (old-delay score of frames < t) - (new-delay score of frames < t)
    deg_low.read(begin_low + old_shift, span_deg.data(), n);
    span_score[0] = 0.0;
    for (std::size_t f = 0; f < frames; ++f)
        span_score[f + 1] = span_score[f] + dot(span_ref.data() + f * kFrameLow, span_deg.data() + f * kFrameLow, kFrameLow);
    deg_low.read(begin_low + new_shift, span_deg.data(), n);
    double new_total = 0.0;
    for (std::size_t f = 0; f < frames; ++f) {
        new_total += dot(span_ref.data() + f * kFrameLow, span_deg.data() + f * kFrameLow, kFrameLow);
        span_score[f + 1] -= new_total;
    }
    std::size_t best = 0;
    for (std::size_t t = 1; t <= frames; ++t)
        if (span_score[t] > span_score[best]) best = t;
    return begin + std::int64_t(best) * kFrameFull;
}

// A step is confirmed by the next window that correlates at the new
// delay. One that only the last window shows never was: that window is
// an outlier (seen: the last 0.8 s of a short file through Opus with 5%
// loss, where concealed packets put a weak peak at 17 ms), and the
// segment before it runs to the end. A true jitter-buffer step inside
// the last window is missed, at the cost of comparing that tail at the
// old delay.
void Aligner::Impl::drop_unconfirmed_last_step() {
    if (segments.size() < 2 || drift != DriftCause::None) return;
    const Segment& last = segments.back();
    if (last.windows != 1 || !last.entered_by_step) return;
    segments.pop_back();
    segments.back().ref_end_sample = last.last_window_end;
}

// How far the delays are final (final_until_sample()). A later step is
// located no earlier than the start of the open segment's last window, nor
// than the low-band history the next window keeps (so the bound moves on
// through pauses), and its guard zone reaches back 10 ms + |step| from there;
// the new delay lies within the search range, so |step| is at most
// max_delay + the fine radius + the open segment's |delay|. A segment that
// only one window entered by a step may still be dropped (at the end) or
// turn into drift: until a second window confirms it, only what lies before
// the previous segment's end is final.
void Aligner::Impl::update_final_until() {
    if (segments.empty() || drift != DriftCause::None) return;
    const Segment& s = segments.back();
    std::int64_t bound = 0;
    if (s.windows == 1 && s.entered_by_step && segments.size() >= 2) {
        bound = segments[segments.size() - 2].ref_end_sample;
    } else {
        const std::int64_t earliest_split =
            std::max(s.last_window_begin, (next_window - kHistoryWindows) * window);
        const std::int64_t widest_guard =
            std::llround(kGuard_s * kRateHz) + max_delay + kFineRadius + std::llabs(s.delay_samples);
        bound = earliest_split - widest_guard;
    }
    final_until = std::max(final_until, bound);
}

}  // namespace sibilant::dsp
