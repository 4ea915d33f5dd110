// The decision and the result (header, failures and steps 7-8).
//
// From the windows: pending, aligned (one segment or piecewise), drift, or a
// failure (too short, silent, no common content). Once both streams have ended
// the whole file is judged again: per-window drift signs are local (a CELP
// codec's window can peak a pitch period off), so a drift verdict gives way to
// one constant delay that most windows share and that does not creep, and a
// failed or weak waveform result to the envelope consensus
// (envelope_fallback.cpp). Then the AlignmentResult: segments, confidence, the
// reason and any warning.
#include "dsp/alignment/stages.hpp"

#include <cstdio>

namespace sibilant::dsp {

Decision Aligner::Impl::decide_windows() const {
    Decision d;
    if (overrun) {
        d.status = AlignmentStatus::Overrun;
        return d;
    }
    const std::int64_t min_length = std::llround(config.min_duration_s * kRateHz);
    if (finished && (ref_full.total() < min_length || deg_full.total() < min_length)) {
        d.status = AlignmentStatus::TooShort;
        d.short_is_reference = ref_full.total() < min_length;
        d.short_length = d.short_is_reference ? ref_full.total() : deg_full.total();
        return d;
    }
    d.speech_windows = speech_windows;
    d.speech_seen_s = speech_seen_s;
    d.audible_windows = audible_windows;
    d.best_confidence = best_confidence;
    d.correlating_windows = correlating_windows;
    d.envelope_windows = envelope_windows;
    // Before the end, failures are only called once two speech windows agree on them.
    const bool conclusive = finished || d.speech_windows >= 2;
    if (d.speech_windows == 0) {
        d.status = finished ? AlignmentStatus::ReferenceSilent : AlignmentStatus::Pending;
        return d;
    }
    if (d.audible_windows == 0) {
        d.status = conclusive ? AlignmentStatus::DegradedSilent : AlignmentStatus::Pending;
        return d;
    }
    // Drift needs most windows to show the content (envelopes count: a
    // stretch defeats waveform correlation); otherwise it is chance.
    const double needed = kMinCorrelatingFraction * d.audible_windows;
    if (drift != DriftCause::None && double(d.correlating_windows + d.envelope_windows) >= needed) {
        d.status = AlignmentStatus::Drift;
        return d;
    }
    const bool too_few = double(d.correlating_windows) < needed || drift != DriftCause::None;
    if (too_few || segments.empty()) {
        d.status = conclusive ? AlignmentStatus::NoCommonContent : AlignmentStatus::Pending;
        return d;
    }
    if (finished) {
        // A step between two single-window segments cannot be told from drift.
        for (std::size_t i = 1; i < segments.size(); ++i) {
            if (segments[i - 1].windows < 2 && segments[i].windows < 2) {
                d.status = AlignmentStatus::Drift;
                return d;
            }
        }
    }
    for (std::size_t i = 1; i < segments.size(); ++i)
        if (segments[i].speech_s > segments[d.dominant].speech_s) d.dominant = i;
    if (!finished) {
        bool any_settled = false;
        for (const Segment& s : segments) any_settled = any_settled || s.speech_s >= config.settle_speech_s;
        if (!any_settled) {
            d.status = AlignmentStatus::Pending;
            return d;
        }
    }
    d.status = segments.size() == 1 ? AlignmentStatus::Aligned : AlignmentStatus::AlignedPiecewise;
    return d;
}

// What the windows said, then (once both streams have ended) the
// whole-file rescues of steps 7 and 8 of the header.
Decision Aligner::Impl::decide() const {
    Decision d = decide_windows();
    d.waveform_status = d.status;
    if (!finished || !all_windows_kept()) return d;
    const bool waveform_ok = d.status == AlignmentStatus::Aligned || d.status == AlignmentStatus::AlignedPiecewise;
    if (!waveform_ok && d.status != AlignmentStatus::Drift && d.status != AlignmentStatus::NoCommonContent) return d;
    if (d.status == AlignmentStatus::Drift && constant_delay(d)) return d;
    Decision e = d;
    if (!envelope_consensus(e)) return d;
    if (waveform_ok) {
        // A weak waveform result far from a strong envelope consensus is a
        // chance peak (seen through Codec2 2400: 0.36 at 7 ms off).
        const double confidence = segments[d.dominant].confidence_sum / segments[d.dominant].windows;
        const double apart = std::fabs(e.rescue.delay_samples - double(segments[d.dominant].delay_samples));
        const bool overrule = confidence < kWeakWaveform && e.rescue.envelope_mean >= kEnvelopeStrong &&
                              apart > kEnvelopeDisagree_s * kRateHz;
        if (!overrule) {
            d.envelope_seen = true;
            d.envelope_delay_samples = e.rescue.delay_samples;
            d.envelope_mean = e.rescue.envelope_mean;
            return d;
        }
    }
    return e;
}

// A waveform result below kWeakWaveform that the file does not confirm.
// Why: through a vocoder (Codec2) the waveform correlates only by chance,
// and a chance peak of one window reaches 0.35-0.6, as high as a real but
// weak one (Speex NB on some files). What tells them apart is agreement: a
// real delay is found again by the other windows (a codec's delay is the
// same all through the file), a chance peak is not. So a weak result is
// doubtful when fewer than two windows found it, when a window's waveform
// delay matches none of the delay map's segments (chance peaks scatter;
// this also catches the last window's "step" set aside as an outlier), or
// when the envelope consensus puts the delay more than kEnvelopeDisagree_s
// away. Such a result is kept, with a confidence of at most
// kEnvelopeConfidenceScale (as good as an envelope delay, no better) and a
// warning saying why; a strong one (>= kWeakWaveform) stands as it is.
// Seen on the corpus through Codec2 2400 and 1200: 0.44-0.59 on one window,
// 6-9 ms from the click-train delay, with nothing said.
bool Aligner::Impl::weak_waveform_doubt(const Decision& d, WaveformDoubt& doubt) const {
    if (!finished || d.rescued || segments.empty() || !all_windows_kept()) return false;
    const Segment& main = segments[d.dominant];
    if (!(main.confidence_sum / main.windows < kWeakWaveform)) return false;
    for (std::size_t i = 0; i < windows.size(); ++i) {
        const AlignmentWindow& w = windows[i];
        if (w.stretch_percent != 0.0 || !(w.verdict == WindowVerdict::Found || w.verdict == WindowVerdict::Unstable))
            continue;
        bool matches = false;
        for (const Segment& s : segments) matches = matches || std::llabs(w.delay_samples - s.delay_samples) <= kMinStep;
        if (matches) {
            ++doubt.agreeing;
        } else {
            ++doubt.disagreeing;
            if (doubt.first_disagreeing == SIZE_MAX) doubt.first_disagreeing = i;
        }
    }
    doubt.envelope_apart =
        d.envelope_seen &&
        std::fabs(d.envelope_delay_samples - double(main.delay_samples)) > kEnvelopeDisagree_s * kRateHz;
    return doubt.agreeing < 2 || doubt.disagreeing > 0 || doubt.envelope_apart;
}

// Step 7: one delay explains most windows and does not creep.
bool Aligner::Impl::constant_delay(Decision& d) const {
    auto waveform_delay = [](const AlignmentWindow& w) {
        return w.stretch_percent == 0.0 &&
               (w.verdict == WindowVerdict::Found || w.verdict == WindowVerdict::Unstable);
    };
    int with_delay = 0;
    for (const AlignmentWindow& w : windows)
        with_delay += w.verdict == WindowVerdict::Found || w.verdict == WindowVerdict::Unstable ||
                      w.verdict == WindowVerdict::EnvelopeOnly;
    int best_count = 0;
    std::int64_t centre = 0;
    for (const AlignmentWindow& a : windows) {
        if (a.verdict != WindowVerdict::Found || a.stretch_percent != 0.0) continue;
        int count = 0;
        for (const AlignmentWindow& b : windows)
            count += waveform_delay(b) && std::llabs(b.delay_samples - a.delay_samples) <= kMinStep;
        if (count > best_count) {
            best_count = count;
            centre = a.delay_samples;
        }
    }
    if (best_count < kConstantMinWindows || double(best_count) < kConstantMinShare * with_delay) return false;
    LineFit line;  // the inliers' delays against time
    double confidence = 0.0, ref_energy = 0.0, deg_energy = 0.0, speech = 0.0;
    for (std::size_t i = 0; i < windows.size(); ++i) {
        const AlignmentWindow& w = windows[i];
        if (!waveform_delay(w) || std::llabs(w.delay_samples - centre) > kMinStep) continue;
        line.add(0.5 * double(w.ref_begin_sample + w.ref_end_sample) / kRateHz, double(w.delay_samples));
        confidence += w.confidence;
        ref_energy += window_ref_energy[i];
        deg_energy += window_deg_energy[i];
        speech += w.speech_s;
    }
    if (std::fabs(line.change()) >= kConstantMaxSlopeMs * kRateHz / 1000.0) return false;
    const double mean = line.mean();
    std::size_t holder = SIZE_MAX;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (std::fabs(double(segments[i].delay_samples) - mean) > double(kMinStep)) continue;
        if (holder == SIZE_MAX || segments[i].speech_s > segments[holder].speech_s) holder = i;
    }
    d.rescued = true;
    d.rescue = {.method = AlignmentMethod::Waveform,
                .delay_samples = holder != SIZE_MAX ? double(segments[holder].delay_samples) : std::round(mean),
                .confidence = confidence / line.n * double(best_count) / double(with_delay),
                .inliers = best_count,
                .windows = with_delay,
                .segment = holder,
                .ref_energy = ref_energy,
                .deg_energy = deg_energy,
                .speech_s = speech};
    d.status = AlignmentStatus::Aligned;
    return true;
}

std::string Aligner::Impl::describe_drift() const {
    char text[400];
    const AlignmentWindow& a = drift_a;
    const AlignmentWindow& b = drift_b;
    const double a_ms = 1000.0 * double(a.delay_samples) / kRateHz, b_ms = 1000.0 * double(b.delay_samples) / kRateHz;
    const double a_s = double(a.ref_begin_sample) / kRateHz, b_s = double(b.ref_begin_sample) / kRateHz;
    switch (drift) {
        case DriftCause::Stretch:
            std::snprintf(text, sizeof text,
                          "delay drifts: the degraded is time-stretched by about %+.1f%% (the window at %.1f s "
                          "correlates best stretched; the delay moves %.1f ms per second): not aligned",
                          a.stretch_percent, a_s, 10.0 * a.stretch_percent);
            break;
        case DriftCause::UnstableWindows:
            std::snprintf(text, sizeof text,
                          "delay drifts: the windows at %.1f s and %.1f s match no single delay (%s, %s; about "
                          "%.1f ms then %.1f ms): time stretch or clock skew, not aligned",
                          a_s, b_s, to_string(a.verdict), to_string(b.verdict), a_ms, b_ms);
            break;
        case DriftCause::DelayKeepsChanging:
            std::snprintf(text, sizeof text,
                          "delay drifts: it changed again before settling (%.3f ms at %.1f s, %.3f ms at %.1f s): "
                          "time stretch or clock skew, not aligned",
                          a_ms, a_s, b_ms, b_s);
            break;
        case DriftCause::CreepingDelay:
            std::snprintf(text, sizeof text,
                          "delay drifts: it crept from %.3f ms (%.1f s) to %.3f ms (%.1f s), too little for a "
                          "jitter-buffer step: clock skew or time stretch, not aligned",
                          a_ms, a_s, b_ms, b_s);
            break;
        default:
            std::snprintf(text, sizeof text, "delay drifts: not aligned");
    }
    return text;
}

// One segment over the whole file from a rescue (steps 7 and 8).
AlignmentResult Aligner::Impl::rescued_result(AlignmentResult& r, const Decision& d) const {
    char text[600];
    DelaySegment out;
    out.delay_samples = std::llround(d.rescue.delay_samples);
    out.ref_begin_sample = std::max<std::int64_t>(0, -out.delay_samples);
    out.ref_end_sample = std::max(out.ref_begin_sample, std::min(ref_full.total(), deg_full.total() - out.delay_samples));
    out.confidence = d.rescue.confidence;
    out.gain_db = d.rescue.ref_energy > 0.0 ? to_db(d.rescue.deg_energy / d.rescue.ref_energy) : 0.0;
    out.windows = d.rescue.inliers;
    out.speech_s = d.rescue.speech_s;
    r.segments.push_back(out);
    r.method = d.rescue.method;
    r.delay_samples = out.delay_samples;
    r.delay_ms = 1000.0 * double(out.delay_samples) / kRateHz;
    r.fractional_delay_samples = d.rescue.segment != SIZE_MAX ? segments[d.rescue.segment].fractional_delay_samples
                                                               : d.rescue.delay_samples;
    r.gain_db = out.gain_db;
    r.confidence = out.confidence;
    if (d.rescue.method == AlignmentMethod::Envelope) {
        std::snprintf(text, sizeof text,
                      "aligned on the low-band envelopes only: the waveform does not correlate (%s by the "
                      "waveform: a vocoder or heavy processing?); %d of %d speech windows agree; delay "
                      "accurate to about 1 ms, not to the sample",
                      to_string(d.waveform_status), d.rescue.inliers, d.rescue.windows);
    } else {
        std::snprintf(text, sizeof text,
                      "%d of %d windows with a delay agree on one constant delay; the local drift sign was "
                      "set aside as an outlier (%s)",
                      d.rescue.inliers, d.rescue.windows, drift != DriftCause::None ? describe_drift().c_str() : "-");
    }
    r.warning = text;
    std::snprintf(text, sizeof text, "delay %.3f ms (%lld samples), gain %.2f dB, confidence %.2f, by the %s",
                  r.delay_ms, static_cast<long long>(r.delay_samples), r.gain_db, r.confidence,
                  to_string(r.method));
    r.reason = text;
    return r;
}

DelaySegment Aligner::Impl::delay_segment(std::size_t i) const {
    const Segment& s = segments[i];
    DelaySegment out;
    out.ref_begin_sample = i == 0 ? 0 : s.ref_begin_sample;
    out.ref_end_sample = i + 1 == segments.size() && finished ? ref_full.total() : s.ref_end_sample;
    // Only where the degraded counterpart exists.
    out.ref_begin_sample = std::max(out.ref_begin_sample, -s.delay_samples);
    out.ref_end_sample = std::min(out.ref_end_sample, deg_full.total() - s.delay_samples);
    out.ref_end_sample = std::max(out.ref_end_sample, out.ref_begin_sample);
    out.delay_samples = s.delay_samples;
    out.confidence = s.confidence_sum / s.windows;
    out.gain_db = s.ref_energy > 0.0 ? to_db(s.deg_energy / s.ref_energy) : 0.0;
    out.windows = s.windows;
    out.speech_s = s.speech_s;
    return out;
}

AlignmentResult Aligner::Impl::result() const {
    AlignmentResult r;
    const Decision d = decide();
    r.status = d.status;
    // In order: with kept_windows the oldest kept sits where the next goes.
    const std::size_t first = all_windows_kept() ? 0 : recorded % windows.size();
    r.windows.assign(windows.begin() + std::ptrdiff_t(first), windows.end());
    r.windows.insert(r.windows.end(), windows.begin(), windows.begin() + std::ptrdiff_t(first));
    char text[400];
    switch (d.status) {
        case AlignmentStatus::Pending:
            std::snprintf(text, sizeof text, "waiting for speech: %.1f s of reference speech seen, %.1f s needed",
                          d.speech_seen_s, config.settle_speech_s);
            break;
        case AlignmentStatus::Overrun:
            std::snprintf(text, sizeof text,
                          "the %s ran more than %.1f s ahead of the %s: streaming buffer full, alignment stopped",
                          overrun_by_reference ? "reference" : "degraded", config.max_skew_s,
                          overrun_by_reference ? "degraded" : "reference");
            break;
        case AlignmentStatus::TooShort:
            std::snprintf(text, sizeof text, "%s is too short: %.3f s, alignment needs at least %.3f s",
                          d.short_is_reference ? "reference" : "degraded", double(d.short_length) / kRateHz,
                          config.min_duration_s);
            break;
        case AlignmentStatus::ReferenceSilent:
            std::snprintf(text, sizeof text, "reference is silent: no speech above -70 dBFS");
            break;
        case AlignmentStatus::DegradedSilent:
            std::snprintf(text, sizeof text, "degraded is silent where the reference has speech (%d windows)",
                          d.speech_windows);
            break;
        case AlignmentStatus::NoCommonContent:
            std::snprintf(text, sizeof text,
                          "no correlation peak: the signals do not share content (%d of %d speech windows "
                          "correlate; best normalised correlation %.2f, threshold %.2f)",
                          d.correlating_windows, d.audible_windows, d.best_confidence, config.min_confidence);
            break;
        case AlignmentStatus::Drift:
            if (drift != DriftCause::None) {
                r.reason = describe_drift();
            } else {
                std::snprintf(text, sizeof text,
                              "delay drifts: it changed between windows that each found a different delay "
                              "(%zu segments of one window): time stretch or clock skew, not aligned",
                              segments.size());
                r.reason = text;
            }
            return r;
        case AlignmentStatus::Aligned:
        case AlignmentStatus::AlignedPiecewise:
            break;
    }
    if (!(d.status == AlignmentStatus::Aligned || d.status == AlignmentStatus::AlignedPiecewise)) {
        r.reason = text;
        return r;
    }
    if (d.rescued) return rescued_result(r, d);

    double ref_energy = 0.0, deg_energy = 0.0;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        r.segments.push_back(delay_segment(i));
        ref_energy += segments[i].ref_energy;
        deg_energy += segments[i].deg_energy;
    }
    const Segment& main = segments[d.dominant];
    r.delay_samples = main.delay_samples;
    r.delay_ms = 1000.0 * double(main.delay_samples) / kRateHz;
    r.fractional_delay_samples = main.fractional_delay_samples;
    r.gain_db = ref_energy > 0.0 ? to_db(deg_energy / ref_energy) : 0.0;
    r.confidence = r.segments[d.dominant].confidence;
    WaveformDoubt doubt;
    if (weak_waveform_doubt(d, doubt)) {
        const double share = double(doubt.agreeing) / double(std::max(1, doubt.agreeing + doubt.disagreeing));
        const double measured = r.confidence;
        for (DelaySegment& s : r.segments) s.confidence = std::min(s.confidence, kEnvelopeConfidenceScale) * share;
        r.confidence = r.segments[d.dominant].confidence;
        std::string why;
        if (doubt.agreeing < 2) why += "; only " + std::to_string(doubt.agreeing) + " window found it";
        if (doubt.disagreeing > 0) {
            const AlignmentWindow& w = windows[doubt.first_disagreeing];
            std::snprintf(text, sizeof text, "; %d window%s found another delay (%.3f ms at %.1f s)",
                          doubt.disagreeing, doubt.disagreeing > 1 ? "s" : "", 1000.0 * double(w.delay_samples) / kRateHz,
                          double(w.ref_begin_sample) / kRateHz);
            why += text;
        }
        if (doubt.envelope_apart) {
            std::snprintf(text, sizeof text, "; the low-band envelopes put it at %.1f ms (mean correlation %.2f)",
                          1000.0 * d.envelope_delay_samples / kRateHz, d.envelope_mean);
            why += text;
        }
        std::snprintf(text, sizeof text,
                      "weak waveform correlation (%.2f, below %.2f) that the file does not confirm%s: possibly a "
                      "chance peak (a vocoder?), the delay may be off by several ms",
                      measured, kWeakWaveform, why.c_str());
        r.warning = text;
    }
    if (segments.size() == 1) {
        std::snprintf(text, sizeof text, "delay %.3f ms (%lld samples), gain %.2f dB, confidence %.2f%s", r.delay_ms,
                      static_cast<long long>(r.delay_samples), r.gain_db, r.confidence,
                      finished ? "" : " (so far)");
        r.reason = text;
    } else {
        r.reason = std::to_string(segments.size()) + " segments (delay steps, e.g. a jitter buffer):";
        for (const DelaySegment& s : r.segments) {
            std::snprintf(text, sizeof text, " %.3f-%.3f s: %.3f ms;", double(s.ref_begin_sample) / kRateHz,
                          double(s.ref_end_sample) / kRateHz, 1000.0 * double(s.delay_samples) / kRateHz);
            r.reason += text;
        }
        std::snprintf(text, sizeof text, " gain %.2f dB", r.gain_db);
        r.reason += text;
    }
    return r;
}

}  // namespace sibilant::dsp
