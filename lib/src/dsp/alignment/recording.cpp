// align_recording(): the whole-file aligner that analysis calls (issue #10).
// It runs the stages in order (constant-delay Aligner, delay track, drift
// estimate and compensation, time-varying delay map) and decides which delay
// map the kernel gets; see dsp/alignment.hpp for the rules.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>

#include "dsp/alignment.hpp"
#include "dsp/alignment/delay_track.hpp"
#include "dsp/alignment/drift_estimate.hpp"
#include "sibilant/resampler.hpp"

namespace sibilant::dsp {

namespace {

constexpr double kRateHz = 48000.0;
constexpr std::size_t kChunk = 4800;
constexpr double kDisagree_ms = 2.0;     // the track and the map differ this much at a point ...
constexpr double kDisagreeShare = 0.15;  // ... at this share of the points (and at least 3)
constexpr int kMinDisagreeing = 3;
constexpr double kMinCoverage = 0.5;     // smoothly tracked share of the reference's speech points
constexpr int kMinTrackPoints = 5;
// Mean peak of the smooth points a time-varying map may stand on. Through
// Opus 6 kbps the track's points average 0.86 (celine), through a WSOLA
// stretch of Opus 64 kbps 0.86, through Codec2 3200 0.64: a vocoder's
// waveform matches only by accident, and its delay is the envelope's.
constexpr double kMinTrackConfidence = 0.7;
// A jitter buffer or a WSOLA stretch moves the delay one way for a while
// (accelerate, expand), so its jumps rarely reverse within 0.5 s (WSOLA at
// 0.95-1.05 over Opus 6-64 kbps: 2-15% of jumps); a vocoder's chance lags
// wander both ways (Codec2 3200 on the test sentences: 30-50%).
constexpr double kJump_ms = 1.0;
constexpr double kQuickReversal_s = 0.5;
constexpr double kMaxQuickReversals = 0.25;

// The constant-delay Aligner over the whole source, both streams in step.
AlignmentResult run_aligner(AlignmentSource& source, double scale, const AlignerConfig& config) {
    source.rewind(scale);
    std::span<const float> reference, degraded;
    if (source.whole(reference, degraded)) return align(reference, degraded, config);  // the same result, no copies
    Aligner aligner(config);
    bool ref_open = true, deg_open = true;
    while (ref_open || deg_open) {
        if (ref_open) {
            const std::span<const float> a = source.next_reference(kChunk);
            aligner.push_reference(a);
            if (a.empty()) {
                aligner.end_reference();
                ref_open = false;
            }
        }
        if (deg_open) {
            const std::span<const float> b = source.next_degraded(kChunk);
            aligner.push_degraded(b);
            if (b.empty()) {
                aligner.end_degraded();
                deg_open = false;
            }
        }
    }
    aligner.finish();
    return aligner.result();
}

// Where the Aligner saw a delay: windows that found one (waveform or
// envelope), else its segments.
std::vector<DelaySeed> seeds_of(const AlignmentResult& a) {
    std::vector<DelaySeed> seeds;
    for (const auto& w : a.windows) {
        const std::int64_t centre = (w.ref_begin_sample + w.ref_end_sample) / 2;
        if (w.verdict == WindowVerdict::Found || w.verdict == WindowVerdict::Unstable)
            seeds.push_back({centre, w.delay_samples});
        else if (w.verdict == WindowVerdict::EnvelopeOnly)
            seeds.push_back({centre, std::llround(w.envelope_delay_samples)});
    }
    if (seeds.empty())
        for (const auto& s : a.segments) seeds.push_back({(s.ref_begin_sample + s.ref_end_sample) / 2, s.delay_samples});
    return seeds;
}

DelayTrack run_track(AlignmentSource& source, double scale, const std::vector<DelaySeed>& seeds,
                     const AlignerConfig& config) {
    source.rewind(scale);
    return track_delay(source, seeds, DelayTrackerConfig{.max_delay_s = config.max_delay_s});
}

std::optional<std::int64_t> map_delay_at(const std::vector<DelaySegment>& segments, std::int64_t n) {
    for (const auto& s : segments)
        if (n >= s.ref_begin_sample && n < s.ref_end_sample) return s.delay_samples;
    return std::nullopt;
}

// Smooth track points (smooth_points(): the ones a delay map may follow)
// more than kDisagree_ms off the Aligner's delay map there.
int disagreeing_points(const AlignmentResult& a, const std::vector<DelayTrackPoint>& smooth, int& judged) {
    int bad = 0;
    judged = 0;
    for (const auto& p : smooth) {
        const auto d = map_delay_at(a.segments, p.ref_sample);
        if (!d) continue;
        ++judged;
        if (std::abs(p.delay_samples - double(*d)) > kDisagree_ms * kRateHz / 1000.0) ++bad;
    }
    return bad;
}

bool disagrees(const AlignmentResult& a, const std::vector<DelayTrackPoint>& smooth) {
    if (!a.ok()) return true;
    int judged = 0;
    const int bad = disagreeing_points(a, smooth, judged);
    return bad >= kMinDisagreeing && double(bad) > kDisagreeShare * double(judged);
}

// Share of the reference's speech points the track follows smoothly.
double coverage(const DelayTrack& track, const std::vector<DelayTrackPoint>& smooth) {
    return track.speech_points > 0 ? double(smooth.size()) / double(track.speech_points) : 0.0;
}

// Share of the jumps between consecutive points that reverse the previous
// jump within kQuickReversal_s.
double quick_reversal_share(const std::vector<DelayTrackPoint>& points) {
    int jumps = 0, quick = 0;
    double last_jump = 0.0;
    std::int64_t last_at = 0;
    for (std::size_t i = 1; i < points.size(); ++i) {
        const double jump = points[i].delay_samples - points[i - 1].delay_samples;
        if (std::abs(jump) <= kJump_ms * kRateHz / 1000.0) continue;
        if (jumps > 0 && jump * last_jump < 0.0 &&
            double(points[i].ref_sample - last_at) <= kQuickReversal_s * kRateHz)
            ++quick;
        ++jumps;
        last_jump = jump;
        last_at = points[i].ref_sample;
    }
    return jumps > 0 ? double(quick) / double(jumps) : 0.0;
}

std::string format(const char* fmt, double a, double b) {
    char buf[128];
    std::snprintf(buf, sizeof buf, fmt, a, b);
    return buf;
}

// The track's own delay map in place of the Aligner's.
AlignmentResult time_varying(const AlignmentResult& aligner, const DelayTrack& track,
                             const std::vector<DelayTrackPoint>& smooth, const ReferencePass& reference) {
    AlignmentResult t = aligner;
    t.segments = delay_map_from_track(track, reference);
    t.status = t.segments.size() > 1 ? AlignmentStatus::AlignedPiecewise : AlignmentStatus::Aligned;
    t.time_varying = true;
    t.method = AlignmentMethod::Waveform;
    // The plateaus of a stretch fit some slope, which is no clock's.
    if (!t.drift_compensated) t.drift_ppm = std::numeric_limits<double>::quiet_NaN();
    const auto dominant = std::max_element(t.segments.begin(), t.segments.end(),
                                           [](const auto& x, const auto& y) { return x.windows < y.windows; });
    t.delay_samples = dominant->delay_samples;
    t.delay_ms = double(t.delay_samples) * 1000.0 / kRateHz;
    t.fractional_delay_samples = 0.0;
    t.gain_db = track.gain_db;
    double confidence = 0.0, lowest = std::numeric_limits<double>::max(), highest = -lowest;
    for (const auto& p : smooth) {
        confidence += p.confidence;
        lowest = std::min(lowest, p.delay_samples * 1000.0 / kRateHz);
        highest = std::max(highest, p.delay_samples * 1000.0 / kRateHz);
    }
    t.confidence = confidence / double(smooth.size()) * std::min(1.0, coverage(track, smooth));
    t.reason = "aligned along the delay track (" + std::to_string(t.segments.size()) + " segments)";
    t.warning = "the delay varies over time (" + format("%.1f to %.1f ms", lowest, highest) +
                ": time-stretch, or audio inserted or removed), so each part is compared at the delay measured "
                "around it, along a track of " +
                std::to_string(smooth.size()) + " points; the constant-delay aligner found " +
                (aligner.ok() ? "a delay map that does not follow it" : "no single delay: " + aligner.reason);
    return t;
}

std::span<const float> take(std::span<const float> from, std::size_t& pos, std::size_t max_samples) {
    const std::size_t n = std::min(max_samples, from.size() - pos);
    pos += n;
    return from.subspan(pos - n, n);
}

}  // namespace

BufferSource::BufferSource(std::span<const float> reference, std::span<const float> degraded)
    : reference_(reference), degraded_(degraded), current_(degraded) {}

void BufferSource::rewind(double degraded_rate_scale) {
    reference_pos_ = degraded_pos_ = 0;
    if (degraded_rate_scale == 1.0) {
        current_ = degraded_;
        return;
    }
    if (degraded_rate_scale != scaled_for_) {
        scaled_ = resample(degraded_, kRateHz * degraded_rate_scale, kRateHz);
        scaled_for_ = degraded_rate_scale;
    }
    current_ = scaled_;
}

bool BufferSource::whole(std::span<const float>& reference, std::span<const float>& degraded) {
    reference = reference_;
    degraded = current_;
    return true;
}

std::span<const float> BufferSource::next_reference(std::size_t max_samples) {
    return take(reference_, reference_pos_, max_samples);
}
std::span<const float> BufferSource::next_degraded(std::size_t max_samples) {
    return take(current_, degraded_pos_, max_samples);
}

AlignmentResult align_recording(AlignmentSource& source, const AlignerConfig& config) {
    validate(config);
    const double unknown = std::numeric_limits<double>::quiet_NaN();
    AlignmentResult a = run_aligner(source, 1.0, config);
    a.drift_ppm = unknown;
    // Silent or too short: nothing to track. A drift, and "no common
    // content" where some window still found a delay (a strong stretch
    // leaves a 2 s window little to correlate), may be a moving delay that
    // the track follows; unrelated audio gives it no smooth, confident track.
    if (!a.ok() && a.status != AlignmentStatus::Drift && a.status != AlignmentStatus::NoCommonContent) return a;
    const std::vector<DelaySeed> seeds = seeds_of(a);
    DelayTrack track = run_track(source, 1.0, seeds, config);
    const DriftEstimate drift = estimate_drift(track.points);
    if (drift.measured && drift.linear) a.drift_ppm = drift.ppm;

    if (drift.significant) {
        // Compensate, and keep it only if it made the delay constant.
        const double scale = 1.0 + drift.ppm * 1e-6;
        AlignmentResult b = run_aligner(source, scale, config);
        const std::vector<DelaySeed> b_seeds = b.ok() ? seeds_of(b) : std::vector<DelaySeed>{};
        if (!b_seeds.empty()) {
            DelayTrack b_track = run_track(source, scale, b_seeds, config);
            if (!disagrees(b, smooth_points(b_track.points))) {
                const DriftEstimate residual = estimate_drift(b_track.points);
                b.drift_compensated = true;
                b.degraded_rate_scale = scale;
                b.drift_ppm = (scale * (1.0 + (residual.measured && residual.linear ? residual.ppm : 0.0) * 1e-6) -
                               1.0) * 1e6;
                a = std::move(b);
                track = std::move(b_track);
            }
        }
    }
    const std::vector<DelayTrackPoint> smooth = smooth_points(track.points);
    // The track goes into the result once nothing else needs it (a long
    // file's track is 24 bytes per 0.1 s of speech: not copied about).
    auto with_track = [&track](AlignmentResult r) {
        r.delay_track = std::move(track.points);
        return r;
    };
    if (!disagrees(a, smooth)) return with_track(std::move(a));
    double mean_confidence = 0.0;
    for (const auto& p : smooth) mean_confidence += p.confidence / double(smooth.size());
    const double reversals = quick_reversal_share(smooth);
    if (coverage(track, smooth) >= kMinCoverage && int(smooth.size()) >= kMinTrackPoints &&
        mean_confidence >= kMinTrackConfidence && reversals <= kMaxQuickReversals) {
        source.rewind(a.degraded_rate_scale);
        return with_track(time_varying(a, track, smooth, read_reference_for_map(source)));
    }
    const std::string tracked = std::to_string(smooth.size()) + " of " + std::to_string(track.speech_points);
    if (!a.ok()) {
        a.reason += "; the delay track could not replace it (it follows " + tracked +
                    " of the reference's speech points smoothly, at a mean correlation of " +
                    format("%.2f, and %.0f%% of its jumps reverse within 0.5 s", mean_confidence, 100.0 * reversals) +
                    ")";
        return with_track(std::move(a));
    }
    int judged = 0;
    const int bad = disagreeing_points(a, smooth, judged);
    const std::string doubt = "the delay track (" + tracked + " speech points) differs from the delay map by over 2 ms at " +
                              std::to_string(bad) + " of " + std::to_string(judged) + " points";
    a.warning = a.warning.empty() ? doubt : a.warning + "; " + doubt;
    return with_track(std::move(a));
}

}  // namespace sibilant::dsp
