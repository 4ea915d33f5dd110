// Delay track: see delay_track.hpp for what it measures and why.
#include "dsp/alignment/delay_track.hpp"
#include "dsp/alignment/stages.hpp"

#include <fftw3.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "dsp/fftw_planner.hpp"
#include "dsp/sample_ring.hpp"
#include "dsp/sibilant_detector.hpp"
#include "dsp/stft.hpp"
#include "sibilant/error.hpp"
#include "sibilant/resampler.hpp"

namespace sibilant::dsp {

namespace {

// kRateHz, kAbsentRatio, kSameDelay, remove_mean(), multiply_by_conjugate()
// and parabolic_offset() are the constant-delay stages' (stages.hpp).
constexpr int kTrackRateHz = 8000;
constexpr int kFactor = kRateHz / kTrackRateHz;
constexpr int kFrame = kTrackRateHz / 200;        // 5 ms
constexpr double kQuietMeanSquare = 1e-6;         // -60 dBFS: not speech
constexpr double kNearPeak = 0.02;                // peaks this close to the highest are candidates
constexpr double kOutlier_s = 0.002;
constexpr double kConsistent_s = 0.001;
constexpr double kAcquireConfidence = 0.8;        // a first point found over the whole range
constexpr double kNeighbour_s = 0.3;              // neighbours further apart do not judge a point
constexpr std::size_t kChunk = 4800;              // 0.1 s at 48 kHz per read
constexpr double kSibilantMargin_s = 0.03;        // kept at one delay either side of a sibilant
constexpr double kPointSpacing_s = 0.1;           // DelayTrackerConfig's default hop (speech_s of a segment)

// One stream pulled from the source at 48 kHz and kept at 8 kHz in a ring.
class Stream8k {
public:
    Stream8k(std::size_t capacity, bool reference) : ring_(capacity), reference_(reference) {}

    // Reads until sample `index` (8 kHz) exists or the stream has ended.
    void fill_until(AlignmentSource& source, std::int64_t index) {
        while (!ended_ && ring_.count() <= index) {
            const std::span<const float> chunk = reference_ ? source.next_reference(kChunk) : source.next_degraded(kChunk);
            out_.clear();
            if (chunk.empty()) {
                resampler_.flush(out_);
                ended_ = true;
            } else {
                resampler_.process(chunk, out_);
            }
            ring_.push(out_);
        }
    }
    bool ended() const { return ended_; }
    std::int64_t count() const { return ring_.count(); }
    std::int64_t oldest() const { return ring_.oldest(); }
    // Samples [first, first + n) into out, zeros outside what the stream holds.
    void copy(std::int64_t first, std::size_t n, float* out) const {
        ring_.copy_held(first, std::span<float>(out, n));
    }

private:
    Resampler resampler_{kRateHz, kTrackRateHz};
    dsp::SampleRing ring_;
    bool reference_;
    bool ended_ = false;
    std::vector<float> out_;
};

// The normalised cross-correlation of one reference window with the degraded
// over 2 * radius + 1 lags, by FFT.
class WindowCorrelator {
public:
    WindowCorrelator(int window, int radius) : window_(window), radius_(radius) {
        fft_size_ = 1;
        while (fft_size_ < window + 2 * radius) fft_size_ *= 2;
        const auto n = std::size_t(fft_size_), bins = n / 2 + 1;
        x_ = fftw_array<float>(n, "delay track");
        y_ = fftw_array<float>(n, "delay track");
        X_ = fftw_array<fftwf_complex>(bins, "delay track");
        Y_ = fftw_array<fftwf_complex>(bins, "delay track");
        forward_ = shared_r2c_plan(fft_size_);
        inverse_ = shared_c2r_plan(fft_size_);
        if (!forward_ || !inverse_) throw Error("delay track: FFTW cannot plan " + std::to_string(fft_size_));
        ncc_.resize(std::size_t(2 * radius + 1));
        energy_prefix_.resize(std::size_t(window + 2 * radius + 1));
    }

    float* reference() { return x_.get(); }  // window_ samples
    float* degraded() { return y_.get(); }   // window_ + 2 radius_ samples

    // Fills ncc() from the buffers; returns the reference window's energy
    // (after its mean is removed). deg_energy(l) is the degraded's under lag l.
    double run() {
        const auto n = std::size_t(fft_size_);
        const std::size_t w = std::size_t(window_), span = std::size_t(window_ + 2 * radius_);
        float* x = x_.get();
        float* y = y_.get();
        remove_mean(x, w);
        remove_mean(y, span);
        std::fill(x + w, x + n, 0.0f);
        std::fill(y + span, y + n, 0.0f);
        double ex = 0.0;
        for (std::size_t i = 0; i < w; ++i) ex += double(x[i]) * x[i];
        energy_prefix_[0] = 0.0;
        for (std::size_t i = 0; i < span; ++i) energy_prefix_[i + 1] = energy_prefix_[i] + double(y[i]) * y[i];
        fftwf_execute_dft_r2c(forward_, x, X_.get());
        fftwf_execute_dft_r2c(forward_, y, Y_.get());
        multiply_by_conjugate(X_.get(), Y_.get(), n / 2 + 1);
        fftwf_execute_dft_c2r(inverse_, X_.get(), x);  // x now holds the correlation * n
        for (std::size_t l = 0; l < ncc_.size(); ++l) {
            const double ey = deg_energy(int(l));
            ncc_[l] = ey > ex * kAbsentRatio && ex > 0.0 ? x[l] / double(n) / std::sqrt(ex * ey) : 0.0;
        }
        return ex;
    }
    const std::vector<double>& ncc() const { return ncc_; }
    double deg_energy(int lag) const {
        return energy_prefix_[std::size_t(lag + window_)] - energy_prefix_[std::size_t(lag)];
    }

private:
    int window_, radius_, fft_size_;
    std::unique_ptr<float, FftwFree> x_, y_;
    std::unique_ptr<fftwf_complex, FftwFree> X_, Y_;
    fftwf_plan forward_ = nullptr, inverse_ = nullptr;  // shared plans: not ours to destroy
    std::vector<double> ncc_;
    std::vector<double> energy_prefix_;
};

// The candidate peak nearest `expected_lag` among the local maxima within
// kNearPeak of the highest; -1 when there is none.
int pick_peak(const std::vector<double>& ncc, double expected_lag) {
    const double best = *std::max_element(ncc.begin(), ncc.end());
    int chosen = -1;
    for (std::size_t l = 0; l < ncc.size(); ++l) {
        const bool left = l == 0 || ncc[l] >= ncc[l - 1];
        const bool right = l + 1 == ncc.size() || ncc[l] >= ncc[l + 1];
        if (!left || !right || ncc[l] < best - kNearPeak) continue;
        if (chosen < 0 || std::abs(double(l) - expected_lag) < std::abs(double(chosen) - expected_lag))
            chosen = int(l);
    }
    return chosen;
}

// Drops lone points far off two neighbours that agree with each other.
void drop_outliers(std::vector<DelayTrackPoint>& points) {
    const double limit = kOutlier_s * kRateHz, near = kNeighbour_s * kRateHz;
    std::vector<bool> drop(points.size(), false);
    for (std::size_t i = 1; i + 1 < points.size(); ++i) {
        const auto& a = points[i - 1];
        const auto& b = points[i + 1];
        if (double(points[i].ref_sample - a.ref_sample) > near || double(b.ref_sample - points[i].ref_sample) > near)
            continue;
        const double middle = 0.5 * (a.delay_samples + b.delay_samples);
        if (std::abs(b.delay_samples - a.delay_samples) < limit && std::abs(points[i].delay_samples - middle) > limit)
            drop[i] = true;
    }
    std::size_t kept = 0;
    for (std::size_t i = 0; i < points.size(); ++i)
        if (!drop[i]) points[kept++] = points[i];
    points.resize(kept);
}

}  // namespace

DelayTrack track_delay(AlignmentSource& source, const std::vector<DelaySeed>& seeds, const DelayTrackerConfig& c) {
    const int window = int(std::lround(c.window_s * kTrackRateHz));
    const int hop = int(std::lround(c.hop_s * kTrackRateHz));
    const int radius = int(std::lround(c.radius_s * kTrackRateHz));
    const auto max_delay = std::int64_t(std::lround(c.max_delay_s * kTrackRateHz));
    // The degraded is read ahead at most to the furthest lag a point may
    // search; a track that follows drift or stretch can wander past the
    // aligner's range, so the rings are generous (a few seconds at 8 kHz).
    const auto capacity = std::size_t(window + 2 * radius + 4 * max_delay + 8 * kTrackRateHz);
    Stream8k reference(std::size_t(window + 2 * kTrackRateHz), true), degraded(capacity, false);
    WindowCorrelator correlator(window, radius);
    DelayTrack track;
    std::vector<float> window_samples(static_cast<std::size_t>(window));
    double ref_energy = 0.0, deg_energy = 0.0;

    bool have_last = false;
    double last_delay = 0.0;  // 8 kHz samples
    std::size_t next_seed = 0;
    auto seed_near = [&](std::int64_t centre) -> std::optional<double> {
        if (seeds.empty()) return std::nullopt;
        while (next_seed + 1 < seeds.size() && seeds[next_seed + 1].ref_sample <= centre * kFactor) ++next_seed;
        const DelaySeed& s = seeds[next_seed];
        return std::clamp(double(s.delay_samples) / kFactor, -double(max_delay), double(max_delay));
    };

    // One try at a predicted delay: the point, if its peak is confident.
    auto measure_with = [&](WindowCorrelator& by, int lags, double min_confidence, std::int64_t centre,
                            double predicted, DelayTrackPoint& out, double& ex, double& ey) {
        const std::int64_t first = centre - window / 2;
        const std::int64_t base = std::llround(predicted) - lags;
        const std::int64_t deg_first = first + base, deg_end = deg_first + window + 2 * lags;
        degraded.fill_until(source, deg_end);
        if (deg_first < degraded.oldest() && deg_first >= 0) return false;  // fell out of the ring
        reference.copy(first, std::size_t(window), by.reference());
        degraded.copy(deg_first, std::size_t(window + 2 * lags), by.degraded());
        ex = by.run();
        const auto& ncc = by.ncc();
        const int peak = pick_peak(ncc, predicted - double(base));
        if (peak < 0 || ncc[std::size_t(peak)] < min_confidence) return false;
        const auto p = std::size_t(peak);
        const double fraction =
            p > 0 && p + 1 < ncc.size() ? parabolic_offset(ncc[p - 1], ncc[p], ncc[p + 1]) : 0.0;
        out.ref_sample = centre * kFactor;
        out.delay_samples = (double(base) + double(peak) + fraction) * kFactor;
        out.confidence = ncc[p];
        ey = by.deg_energy(peak);
        return true;
    };
    auto measure = [&](std::int64_t centre, double predicted, DelayTrackPoint& out, double& ex, double& ey) {
        return measure_with(correlator, radius, c.min_confidence, centre, predicted, out, ex, ey);
    };
    // Without a seed (the aligner's windows found no delay: a strong stretch
    // leaves a 2 s window little to correlate), the first point is searched
    // over the whole range, and must be clearly confident.
    std::optional<WindowCorrelator> wide;
    auto acquire = [&](std::int64_t centre, DelayTrackPoint& out, double& ex, double& ey) {
        if (!wide) wide.emplace(window, int(max_delay));
        return measure_with(*wide, int(max_delay), kAcquireConfidence, centre, 0.0, out, ex, ey);
    };

    for (std::int64_t centre = window / 2;; centre += hop) {
        reference.fill_until(source, centre + window / 2);
        if (reference.count() < centre + window / 2) break;  // no full window left
        reference.copy(centre - window / 2, std::size_t(window), window_samples.data());
        double mean_square = 0.0;
        for (float v : window_samples) mean_square += double(v) * v;
        mean_square /= window;
        if (mean_square < kQuietMeanSquare) continue;
        ++track.speech_points;
        const std::optional<double> seed = seed_near(centre);
        const double predicted = have_last ? last_delay : seed.value_or(0.0);
        DelayTrackPoint point;
        double ex = 0.0, ey = 0.0;
        bool found = have_last || seed ? measure(centre, predicted, point, ex, ey) : acquire(centre, point, ex, ey);
        // Lost (or never found): the seed, when it points elsewhere.
        if (!found && seed && std::abs(*seed - predicted) > radius / 2.0) found = measure(centre, *seed, point, ex, ey);
        if (!found) continue;
        track.points.push_back(point);
        ref_energy += ex;
        deg_energy += ey;
        have_last = true;
        last_delay = point.delay_samples / kFactor;
    }
    // The rest of both streams (the source is read to its end, so the caller
    // sees every sample counted).
    reference.fill_until(source, std::numeric_limits<std::int64_t>::max());
    degraded.fill_until(source, std::numeric_limits<std::int64_t>::max());
    track.reference_samples = reference.count() * kFactor;
    drop_outliers(track.points);
    track.gain_db = ref_energy > 0.0 && deg_energy > 0.0 ? 10.0 * std::log10(deg_energy / ref_energy) : 0.0;
    return track;
}

std::vector<DelayTrackPoint> smooth_points(const std::vector<DelayTrackPoint>& points) {
    const double limit = kConsistent_s * kRateHz, near = kNeighbour_s * kRateHz;
    std::vector<DelayTrackPoint> smooth;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const DelayTrackPoint* a =
            i > 0 && double(points[i].ref_sample - points[i - 1].ref_sample) <= near ? &points[i - 1] : nullptr;
        const DelayTrackPoint* b = i + 1 < points.size() &&
                                           double(points[i + 1].ref_sample - points[i].ref_sample) <= near
                                       ? &points[i + 1]
                                       : nullptr;
        const double d = points[i].delay_samples;
        bool ok = (a && std::abs(d - a->delay_samples) < limit) || (b && std::abs(d - b->delay_samples) < limit);
        if (!ok && a && b) {
            // The line through the neighbours, at this point's time.
            const double w = double(points[i].ref_sample - a->ref_sample) / double(b->ref_sample - a->ref_sample);
            ok = std::abs(d - (a->delay_samples + w * (b->delay_samples - a->delay_samples))) < limit;
        }
        if (ok) smooth.push_back(points[i]);
    }
    return smooth;
}

ReferencePass read_reference_for_map(AlignmentSource& source) {
    // The kernel's settings (pipeline/kernel.cpp: default StftConfig and
    // DetectorConfig), so that these are the events it will compare.
    const StftConfig stft_config{};
    Stft stft(stft_config);
    SibilantDetector detector(DetectorConfig{}, stft_config);
    ReferencePass pass;
    auto take = [&] {
        for (const SibilantEvent& e : detector.events())
            pass.sibilants.push_back(
                {std::int64_t(std::floor(e.start_s * kRateHz)), std::int64_t(std::ceil(e.end_s * kRateHz))});
        detector.clear_events();
    };
    // The frames' energies at 8 kHz, from the same chunks through the same
    // resampler as the track's reference stream: the same samples.
    Resampler resampler(kRateHz, kTrackRateHz);
    std::vector<float> low;
    double frame_sum = 0.0;
    int in_frame = 0;
    auto add_energy = [&] {
        for (float v : low) {
            frame_sum += double(v) * v;
            if (++in_frame == kFrame) {
                pass.frame_energy.push_back(static_cast<float>(frame_sum / kFrame));
                frame_sum = 0.0;
                in_frame = 0;
            }
        }
        low.clear();
    };
    for (std::span<const float> chunk; !(chunk = source.next_reference(kChunk)).empty();) {
        stft.push(chunk, [&](const StftFrame& f) { detector.push(f); });
        take();
        resampler.process(chunk, low);
        add_energy();
    }
    detector.finish();
    take();
    resampler.flush(low);
    add_energy();
    return pass;
}

std::vector<DelaySegment> delay_map_from_track(const DelayTrack& track, const ReferencePass& reference) {
    const std::vector<SampleSpan>& sibilants = reference.sibilants;
    const std::vector<float>& frame_energy = reference.frame_energy;
    std::vector<DelaySegment> segments;
    const std::vector<DelayTrackPoint> p = smooth_points(track.points);
    if (p.empty()) return segments;
    const std::int64_t length = std::max<std::int64_t>(track.reference_samples, 1);
    const auto margin = std::int64_t(std::lround(kSibilantMargin_s * kRateHz));

    // Protected spans: sibilants with their margins, joined where they overlap.
    std::vector<SampleSpan> keep;
    for (const auto& s : sibilants) {
        const SampleSpan span{std::max<std::int64_t>(0, s.begin - margin), std::min(length, s.end + margin)};
        if (span.end <= span.begin) continue;
        if (!keep.empty() && span.begin <= keep.back().end)
            keep.back().end = std::max(keep.back().end, span.end);
        else
            keep.push_back(span);
    }
    auto inside_kept = [&](std::int64_t n) {
        for (const auto& k : keep)
            if (n > k.begin && n < k.end) return true;
        return false;
    };

    // Boundaries: where the grouped points change delay (at the quietest
    // frame between them that no sibilant holds), and every protected span's edges.
    std::vector<std::int64_t> cuts = {0, length};
    const std::int64_t frame48 = std::int64_t(kFrame) * kFactor;
    auto quietest_between = [&](std::int64_t from, std::int64_t to) -> std::optional<std::int64_t> {
        std::optional<std::int64_t> best;
        float lowest = std::numeric_limits<float>::max();
        for (std::int64_t f = from / frame48; f <= to / frame48 && f < std::int64_t(frame_energy.size()); ++f) {
            const std::int64_t at = f * frame48 + frame48 / 2;
            if (at <= from || at >= to || inside_kept(at)) continue;
            if (frame_energy[std::size_t(f)] < lowest) {
                lowest = frame_energy[std::size_t(f)];
                best = at;
            }
        }
        return best;
    };
    const double same = double(kSameDelay);
    double sum = p[0].delay_samples;
    std::size_t group_first = 0;
    for (std::size_t i = 1; i < p.size(); ++i) {
        if (std::abs(p[i].delay_samples - sum / double(i - group_first)) <= same) {
            sum += p[i].delay_samples;
            continue;
        }
        // No free place between them: a protected span's edge will cut.
        if (const auto cut = quietest_between(p[i - 1].ref_sample, p[i].ref_sample)) cuts.push_back(*cut);
        group_first = i;
        sum = p[i].delay_samples;
    }
    for (const auto& k : keep) {
        cuts.push_back(k.begin);
        cuts.push_back(k.end);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

    // Each segment's delay: the median of the points in it (a protected
    // span's: of the points in the span), else the nearest point's.
    auto delay_over = [&](std::int64_t begin, std::int64_t end, double& confidence, int& count) {
        std::vector<double> delays;
        confidence = 0.0;
        for (const auto& q : p)
            if (q.ref_sample >= begin && q.ref_sample < end) {
                delays.push_back(q.delay_samples);
                confidence += q.confidence;
            }
        count = int(delays.size());
        if (delays.empty()) {
            const std::int64_t centre = (begin + end) / 2;
            const auto nearest = std::min_element(p.begin(), p.end(), [&](const auto& x, const auto& y) {
                return std::abs(x.ref_sample - centre) < std::abs(y.ref_sample - centre);
            });
            confidence = nearest->confidence;
            return nearest->delay_samples;
        }
        confidence /= double(delays.size());
        std::sort(delays.begin(), delays.end());
        const std::size_t m = delays.size() / 2;
        return delays.size() % 2 ? delays[m] : 0.5 * (delays[m - 1] + delays[m]);
    };
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        double confidence = 0.0;
        int count = 0;
        const double delay = delay_over(cuts[i], cuts[i + 1], confidence, count);
        DelaySegment s;
        s.ref_begin_sample = cuts[i];
        s.ref_end_sample = cuts[i + 1];
        s.delay_samples = std::llround(delay);
        s.confidence = confidence;
        s.gain_db = track.gain_db;
        s.windows = count;
        s.speech_s = double(count) * kPointSpacing_s;
        if (!segments.empty() && segments.back().delay_samples == s.delay_samples) {
            DelaySegment& last = segments.back();
            last.confidence = (last.confidence * last.windows + s.confidence * s.windows) /
                              std::max(1, last.windows + s.windows);
            last.ref_end_sample = s.ref_end_sample;
            last.windows += s.windows;
            last.speech_s += s.speech_s;
        } else {
            segments.push_back(s);
        }
    }
    return segments;
}

}  // namespace sibilant::dsp
