#include "dsp/sibilant_detector.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "sibilant/error.hpp"

namespace sibilant::dsp {

namespace {

// Floor of every level, so that log10 never sees 0: digital silence.
constexpr double kFloorPower = 1e-15;
constexpr double kFloorDb = -150.0;

// In float: the levels are reported as float, and log10f is several times
// cheaper than log10, which matters at a dozen levels per frame.
inline float to_db(double power) { return 10.0f * std::log10(static_cast<float>(std::max(power, kFloorPower))); }

// How many recent events the speaker's /s/ reference is fitted to.
constexpr int kCogMemory = 32;

// One quantile of the levels (dB) of roughly the last `memory` frames,
// without storing them: a leaky histogram on a 0.5 dB grid. Newer frames are
// added with exponentially growing weight instead of decaying all bins every
// frame (bins are rescaled before the weights overflow), and the quantile's
// bin is tracked as it moves, so an update costs O(1) on average.
class LevelQuantile {
public:
    static constexpr double kLowDb = kFloorDb;
    static constexpr double kHighDb = 30.0;
    static constexpr double kStepDb = 0.5;
    static constexpr int kBins = static_cast<int>((kHighDb - kLowDb) / kStepDb);

    LevelQuantile() : weight_(kBins, 0.0) {}

    void configure(double quantile, double memory_frames) {
        quantile_ = quantile;
        growth_ = std::exp(1.0 / std::max(memory_frames, 1.0));
        reset();
    }

    void reset() {
        std::fill(weight_.begin(), weight_.end(), 0.0);
        total_ = 0.0;
        below_ = 0.0;
        bin_ = 0;
        increment_ = 1.0;
    }

    void add(double level_db) {
        // Clamped before the cast: a level of +-inf or NaN (a signal of
        // garbage, +120 dBFS and more) must not reach an int conversion.
        const double position = (level_db - kLowDb) / kStepDb;
        const int bin = position >= 0.0 ? int(std::min(std::floor(position), double(kBins - 1))) : 0;
        weight_[static_cast<std::size_t>(bin)] += increment_;
        total_ += increment_;
        if (bin < bin_) below_ += increment_;
        increment_ *= growth_;
        if (increment_ > 1e100) {
            for (double& w : weight_) w *= 1e-100;
            total_ *= 1e-100;
            below_ *= 1e-100;
            increment_ *= 1e-100;
        }
        // Move to the bin holding the quantile: below_ (the weight under
        // bin_) must not exceed the target, below_ + this bin must reach it.
        const double target = quantile_ * total_;
        while (bin_ > 0 && below_ > target) {
            --bin_;
            below_ -= weight_[static_cast<std::size_t>(bin_)];
        }
        while (bin_ < kBins - 1 && below_ + weight_[static_cast<std::size_t>(bin_)] < target) {
            below_ += weight_[static_cast<std::size_t>(bin_)];
            ++bin_;
        }
    }

    bool empty() const { return total_ <= 0.0; }

    // Interpolated within the bin; `fallback` before anything was added.
    double value(double fallback) const {
        if (empty()) return fallback;
        const double w = weight_[static_cast<std::size_t>(bin_)];
        const double fraction = w > 0.0 ? std::clamp((quantile_ * total_ - below_) / w, 0.0, 1.0) : 0.5;
        return kLowDb + (bin_ + fraction) * kStepDb;
    }

private:
    std::vector<double> weight_;
    double quantile_ = 0.5;
    double total_ = 0.0;
    double below_ = 0.0;
    int bin_ = 0;
    double increment_ = 1.0;
    double growth_ = 1.0;
};

void check(bool ok, const char* name, double value, const char* range) {
    if (!ok) throw Error(std::string("sibilant detector: ") + name + " " + std::to_string(value) + " is outside " + range);
}

}  // namespace

// ---------------------------------------------------------------- features

FeatureExtractor::FeatureExtractor(int bins, double bin_hz) : bins_(bins), bin_hz_(bin_hz) {
    if (bins < 2 || !(bin_hz > 0.0)) throw Error("feature extractor: needs at least 2 bins of positive width");
    for (int b = 0; b < kBandCount; ++b)
        bands_[static_cast<std::size_t>(b)] =
            range(kBandEdgesHz[static_cast<std::size_t>(b)], kBandEdgesHz[static_cast<std::size_t>(b) + 1]);
    total_ = range(0.0, kTopHz);
    high_ = range(kHighLowHz, kTopHz);
    share_base_ = range(kVoiceBarHz, kTopHz);
    cog_ = range(kCogLowHz, kTopHz);
    cog_11k_ = range(kCogLowHz, kClassCogHighHz);
    flat_ = range(kFlatLowHz, kFlatHighHz);
    mid_ = range(kMidLowHz, kUpperLowHz);
    upper_ = range(kUpperLowHz, kTopHz);
    smooth_half_bins_ = std::max(0, static_cast<int>(std::lround(235.0 / bin_hz - 0.5)));  // 5 bins at 93.75 Hz
    flat_group_bins_ = std::max(1, static_cast<int>(std::lround(560.0 / bin_hz)));  // 6 bins at 93.75 Hz
    // The smoothing window must stay inside the spectrum.
    peak_ = range(kPeakLowHz, kPeakHighHz);
    peak_.first = std::max(peak_.first, smooth_half_bins_);
    peak_.end = std::min(peak_.end, total_.end - smooth_half_bins_ - 1);
    tail_power_.resize(static_cast<std::size_t>(total_.end) + 1);
    tail_moment_.resize(static_cast<std::size_t>(total_.end) + 1);
}

FeatureExtractor::Range FeatureExtractor::range(double low_hz, double high_hz) const noexcept {
    // Bin k (centre k * bin_hz) belongs to [low_hz, high_hz) by its centre.
    const auto edge = [this](double hz) {
        return std::clamp(static_cast<int>(std::ceil(hz / bin_hz_ - 1e-9)), 0, bins_);
    };
    return Range{edge(low_hz), edge(high_hz)};
}

void FeatureExtractor::compute(std::span<const float> power, FrameFeatures& out) noexcept {
    compute_levels(power, out);
    compute_shape(out);
}

void FeatureExtractor::compute_levels(std::span<const float> power, FrameFeatures& out) noexcept {
    // One pass builds sums from each bin up to 20 kHz (of power and of
    // bin * power); every band sum is then a difference of two of them.
    // Summing from the top keeps the small high bands exact, which matter
    // most here, next to the large low bands of a vowel.
    const float* p = power.data();
    const int top = total_.end;
    double* tail = tail_power_.data();
    double* moment = tail_moment_.data();
    double running_power = 0.0, running_moment = 0.0, bin = top;
    tail[top] = 0.0;
    moment[top] = 0.0;
    for (int k = top - 1; k >= 0; --k) {
        bin -= 1.0;
        running_power += p[k];
        running_moment += p[k] * bin;
        tail[k] = running_power;
        moment[k] = running_moment;
    }
    const auto sum = [tail](Range r) { return tail[r.first] - tail[r.end]; };

    for (std::size_t b = 0; b < bands_.size(); ++b) out.band_db[b] = to_db(sum(bands_[b]));
    out.total_db = to_db(sum(total_));
    const double high = sum(high_);
    const double base = sum(share_base_);
    out.high_db = to_db(high);
    out.high_share = base > 0.0 ? static_cast<float>(high / base) : 0.0f;
    out.upper_to_mid_db = to_db(sum(upper_)) - to_db(sum(mid_));
}

void FeatureExtractor::compute_shape(FrameFeatures& out) noexcept {
    const double* tail = tail_power_.data();
    const double* moment = tail_moment_.data();
    const auto sum = [tail](Range r) { return tail[r.first] - tail[r.end]; };
    const auto centre_of_gravity = [&](Range r) {
        const double weight = sum(r);
        return weight > 0.0 ? static_cast<float>((moment[r.first] - moment[r.end]) / weight * bin_hz_) : 0.0f;
    };
    out.cog_hz = centre_of_gravity(cog_);
    out.cog_11k_hz = centre_of_gravity(cog_11k_);

    // Peak of the spectrum summed over 2h+1 bins (single bins of a noise
    // spectrum scatter by several dB, the smoothed shape does not), placed at
    // the centre of gravity of that window: exact for a tone, whichever of
    // the equal windows around it comes first.
    const int h = smooth_half_bins_;
    double best = -1.0;
    int best_bin = peak_.first;
    for (int k = peak_.first; k < peak_.end; ++k) {
        const double smoothed = tail[k - h] - tail[k + h + 1];
        if (smoothed > best) {
            best = smoothed;
            best_bin = k;
        }
    }
    const double window_moment = moment[best_bin - h] - moment[best_bin + h + 1];
    out.peak_hz = static_cast<float>((best > 0.0 ? window_moment / best : best_bin) * bin_hz_);
    const double range_mean = sum(peak_) / std::max(1, peak_.end - peak_.first);
    const double peak_mean = best / (2 * h + 1);
    out.peak_prominence_db =
        range_mean > 0.0 && peak_mean > 0.0 ? static_cast<float>(10.0 * std::log10(peak_mean / range_mean)) : 0.0f;

    // Flatness on ~560 Hz bands: per-bin flatness of any noise is biased low
    // (a periodogram bin scatters like an exponential variable); means of 6
    // bins are steady enough that white noise stays above 0.75 in 98% of
    // frames while sibilant frames stay below it (espeak-ng: 99.5%). The geometric
    // mean is taken as a product, rescaled by 1e200 whenever it gets small,
    // so that one log per frame suffices (band means are >= 1e-20).
    const int g = flat_group_bins_;
    double product = 1.0, linear_sum = 0.0;
    int rescales = 0, groups = 0;
    for (int k = flat_.first; k + g <= flat_.end; k += g) {
        const double e = (tail[k] - tail[k + g]) / g + 1e-20;
        product *= e;
        if (product < 1e-200) {
            product *= 1e200;
            ++rescales;
        }
        linear_sum += e;
        ++groups;
    }
    if (groups == 0) {
        out.flatness = 1.0f;
    } else {
        const double log_geometric = (std::log(product) - rescales * 200.0 * std::numbers::ln10) / groups;
        out.flatness = static_cast<float>(std::exp(log_geometric) / (linear_sum / groups));
    }
}

// ---------------------------------------------------------------- config

void validate(const DetectorConfig& c) {
    check(c.min_high_share >= 0.0 && c.min_high_share <= 1.0, "min_high_share", c.min_high_share, "0..1");
    check(c.max_flatness > 0.0 && c.max_flatness <= 1.0, "max_flatness", c.max_flatness, "(0, 1]");
    check(c.min_level_re_speech_db >= -100.0 && c.min_level_re_speech_db <= 20.0, "min_level_re_speech_db",
          c.min_level_re_speech_db, "-100..20 dB");
    check(c.min_snr_db >= 0.0 && c.min_snr_db <= 100.0, "min_snr_db", c.min_snr_db, "0..100 dB");
    check(c.max_gap_s >= 0.0 && c.max_gap_s <= 0.1, "max_gap_s", c.max_gap_s, "0..0.1 s");
    check(c.min_event_s >= 0.0 && c.min_event_s <= 1.0, "min_event_s", c.min_event_s, "0..1 s");
    check(c.min_split_part_s >= c.min_event_s && c.min_split_part_s <= 1.0, "min_split_part_s", c.min_split_part_s,
          "min_event_s..1 s");
    check(c.max_event_s >= c.min_event_s && c.max_event_s <= 10.0, "max_event_s", c.max_event_s,
          "min_event_s..10 s");
    check(c.lookahead_s >= 0.0 && c.lookahead_s <= 5.0, "lookahead_s", c.lookahead_s, "0..5 s");
    check(c.level_memory_s >= 1.0 && c.level_memory_s <= 3600.0, "level_memory_s", c.level_memory_s,
          "1..3600 s");
    check(c.speech_quantile > 0.5 && c.speech_quantile < 1.0, "speech_quantile", c.speech_quantile, "(0.5, 1)");
    check(c.noise_quantile > 0.0 && c.noise_quantile < 0.5, "noise_quantile", c.noise_quantile, "(0, 0.5)");
    check(c.s_cog_prior_hz >= 2000.0 && c.s_cog_prior_hz <= 16000.0, "s_cog_prior_hz", c.s_cog_prior_hz,
          "2000..16000 Hz");
    check(c.sh_to_s_cog_ratio > 0.3 && c.sh_to_s_cog_ratio < 0.95, "sh_to_s_cog_ratio", c.sh_to_s_cog_ratio,
          "(0.3, 0.95)");
    check(c.min_upper_to_mid_db >= -100.0 && c.min_upper_to_mid_db <= 100.0, "min_upper_to_mid_db",
          c.min_upper_to_mid_db, "-100..100 dB");
    check(c.max_sh_upper_to_mid_db >= -100.0 && c.max_sh_upper_to_mid_db <= 100.0, "max_sh_upper_to_mid_db",
          c.max_sh_upper_to_mid_db, "-100..100 dB");
    check(c.event_capacity >= 1 && c.event_capacity <= 1000000, "event_capacity", c.event_capacity, "1..1000000");
}

const char* to_string(SibilantEvent::Class cls) { return cls == SibilantEvent::Class::Sh ? "sh" : "s"; }

// ---------------------------------------------------------------- detector

namespace {

int frames_of(double seconds, double hop_s) { return static_cast<int>(std::lround(seconds / hop_s)); }

// An event is emitted when its last frame is a gap and a look-ahead old:
// its first stored frame is then at most this many frames back.
std::int64_t history_frames_for(int lookahead_frames, int max_gap_frames, int max_event_frames) {
    return std::int64_t(lookahead_frames) + max_gap_frames + max_event_frames + 2;
}

}  // namespace

struct SibilantDetector::Impl {
    DetectorConfig config;
    FeatureExtractor extractor;
    int bins;
    double hop_s;
    int lookahead_frames;
    int max_gap_frames;
    int min_event_frames;
    int max_event_frames;
    int min_split_frames;

    LevelQuantile speech_level;  // of 0-20 kHz frame levels
    LevelQuantile high_floor;    // of 2.5-20 kHz frame levels
    double speech_db = kFloorDb;
    double high_floor_db = kFloorDb;

    // The spectra: the caller's ring (shared with its comparer) or our own.
    // Frames are read back from it by their position there, never copied.
    std::unique_ptr<SpectrumRing> own_spectra;
    const SpectrumRing* spectra = nullptr;

    // Frames waiting to be judged: their features and their position in
    // `spectra`, a ring.
    std::vector<FrameFeatures> ring_features;
    std::vector<std::int64_t> ring_position;
    int ring_capacity;
    int ring_start = 0;
    int ring_count = 0;
    FrameFeatures last{};

    // The event being built: its sibilant frames' positions in `spectra`,
    // centre times and log centres of gravity (gap frames are bridged but not
    // stored).
    bool open = false;
    std::int64_t first_index = 0, last_index = 0;
    int stored = 0;
    std::vector<std::int64_t> event_position;
    std::vector<double> event_centre_s;
    std::vector<double> event_log_cog;
    std::vector<double> power_sum;
    std::vector<float> mean_power;

    // Log centres of gravity of recent events and the speaker's /s/
    // reference fitted to them (log Hz).
    std::array<double, kCogMemory> log_cogs{};
    // classify()'s grid of log /s/ references m: low + step * kGridStep up
    // to log 20 kHz, and its cost per point (sized here: push() must not allocate).
    static constexpr double kGridStep = 0.005;
    static double grid_low() { return std::log(2000.0); }
    static int grid_steps() {
        const double low = grid_low(), high = std::log(20000.0);
        int steps = 0;
        while (low + steps * kGridStep <= high) ++steps;
        return steps;
    }
    static constexpr double kSpread = 0.08;  // event-to-event scatter of log CoG
    static constexpr double kCap = 3.0;      // in spreads
    static constexpr double kCapTerm = kCap * kCap;
    std::vector<double> grid_cost = std::vector<double>(static_cast<std::size_t>(grid_steps()));
    std::vector<double> full_row = std::vector<double>(grid_cost.size());
    // Per slot of log_cogs, that event's term of the cost over the grid
    // points where it is not the cap: a window of term_window points from
    // term_first (the /s/ and /sh/ wells, 3 spreads either side, and the
    // shift between them); everywhere else it is exactly kCapTerm.
    int term_window = 0;
    std::array<int, kCogMemory> term_first{};
    std::vector<double> cog_terms;
    int cog_count = 0;
    int cog_next = 0;
    double log_s_reference = 0.0;

    std::vector<SibilantEvent> ready;
    std::int64_t dropped = 0;

    Impl(const DetectorConfig& c, const StftConfig& stft, const SpectrumRing* shared)
        : config(c),
          extractor(stft.fft_size / 2 + 1, stft.rate_hz / stft.fft_size),
          bins(stft.fft_size / 2 + 1),
          hop_s(stft.hop_samples / stft.rate_hz) {
        const auto frames = [this](double seconds) { return frames_of(seconds, hop_s); };
        lookahead_frames = frames(c.lookahead_s);
        max_gap_frames = frames(c.max_gap_s);
        min_event_frames = std::max(1, frames(c.min_event_s));
        max_event_frames = std::max(min_event_frames, frames(c.max_event_s));
        min_split_frames = std::max(1, frames(c.min_split_part_s));
        speech_level.configure(c.speech_quantile, c.level_memory_s / hop_s);
        high_floor.configure(c.noise_quantile, c.level_memory_s / hop_s);
        ring_capacity = lookahead_frames + 1;
        ring_features.resize(static_cast<std::size_t>(ring_capacity));
        ring_position.resize(static_cast<std::size_t>(ring_capacity));
        event_position.resize(static_cast<std::size_t>(max_event_frames));
        if (shared == nullptr) {
            own_spectra = std::make_unique<SpectrumRing>(bins, history_frames());
            spectra = own_spectra.get();
        } else {
            if (shared->bins() != bins || shared->capacity() < history_frames())
                throw Error("detector: the shared spectrum ring holds " + std::to_string(shared->capacity()) +
                            " frames of " + std::to_string(shared->bins()) + " bins; it needs " +
                            std::to_string(history_frames()) + " of " + std::to_string(bins));
            spectra = shared;
        }
        event_centre_s.resize(static_cast<std::size_t>(max_event_frames));
        event_log_cog.resize(static_cast<std::size_t>(max_event_frames));
        power_sum.resize(static_cast<std::size_t>(bins));
        mean_power.resize(static_cast<std::size_t>(bins));
        ready.reserve(static_cast<std::size_t>(c.event_capacity));
        log_s_reference = std::log(c.s_cog_prior_hz);
        const double wells = 2.0 * kCap * kSpread + std::abs(std::log(c.sh_to_s_cog_ratio));
        term_window = std::min(grid_steps(), static_cast<int>(std::ceil(wells / kGridStep)) + 8);
        cog_terms.assign(std::size_t(kCogMemory) * std::size_t(term_window), kCapTerm);
    }

    std::int64_t history_frames() const {
        return history_frames_for(lookahead_frames, max_gap_frames, max_event_frames);
    }

    void push(const StftFrame& frame) {
        if (own_spectra) own_spectra->push(frame.power);
        const int slot = (ring_start + ring_count) % ring_capacity;
        FrameFeatures& f = ring_features[static_cast<std::size_t>(slot)];
        f.index = frame.index;
        f.centre_s = frame.centre_s;
        extractor.compute_levels(frame.power, f);
        // The shape is read only for frames that pass criterion (a), which
        // depends on nothing else: for the rest it is not worked out.
        if (f.high_share >= config.min_high_share) {
            extractor.compute_shape(f);
        } else {
            f.cog_hz = f.cog_11k_hz = f.peak_hz = f.peak_prominence_db = 0.0f;
            f.flatness = 1.0f;
        }
        ring_position[static_cast<std::size_t>(slot)] = spectra->frames() - 1;
        ++ring_count;
        last = f;

        speech_level.add(f.total_db);
        high_floor.add(f.high_db);
        speech_db = speech_level.value(kFloorDb);
        high_floor_db = high_floor.value(kFloorDb);
        if (ring_count > lookahead_frames) judge_oldest();
    }

    void finish() {
        while (ring_count > 0) judge_oldest();
        close_event();
        speech_level.reset();
        high_floor.reset();
        speech_db = kFloorDb;
        high_floor_db = kFloorDb;
        ring_start = 0;
        cog_count = 0;
        cog_next = 0;
        log_s_reference = std::log(config.s_cog_prior_hz);
    }

    bool is_sibilant(const FrameFeatures& f) const {
        // A voiced frame (more energy below 1 kHz than at 2.5-4.5 kHz) must
        // also have noise above 4.5 kHz: a front vowel with a low first
        // formant passes the share test but its formants stop at 4-5 kHz.
        const bool voiced = f.band_db[0] > f.band_db[2];
        return f.high_share >= config.min_high_share &&
               (!voiced || f.upper_to_mid_db >= config.min_upper_to_mid_db) && f.flatness <= config.max_flatness &&
               f.high_db >= speech_db + config.min_level_re_speech_db &&
               f.high_db >= high_floor_db + config.min_snr_db;
    }

    void judge_oldest() {
        const int slot = ring_start;
        const FrameFeatures& f = ring_features[static_cast<std::size_t>(slot)];
        if (is_sibilant(f)) {
            if (open && f.index - last_index - 1 > max_gap_frames) close_event();
            if (!open) {
                open = true;
                first_index = f.index;
                stored = 0;
            }
            last_index = f.index;
            // Frames beyond the longest event are not kept: the event will be
            // dropped as too long anyway.
            if (stored < max_event_frames) {
                event_position[static_cast<std::size_t>(stored)] = ring_position[static_cast<std::size_t>(slot)];
                event_centre_s[static_cast<std::size_t>(stored)] = f.centre_s;
                event_log_cog[static_cast<std::size_t>(stored)] = std::log(std::max<double>(f.cog_11k_hz, 1.0));
                ++stored;
            }
        } else if (open && f.index - last_index > max_gap_frames) {
            close_event();
        }
        ring_start = (ring_start + 1) % ring_capacity;
        --ring_count;
    }

    bool is_sh(double log_cog) const {
        return log_cog < log_s_reference + 0.5 * std::log(config.sh_to_s_cog_ratio);
    }

    void close_event() {
        if (!open) return;
        open = false;
        const std::int64_t span_frames = last_index - first_index + 1;
        if (span_frames < min_event_frames || span_frames > max_event_frames) return;

        // "six scientists showed", "zoo's shy": /s/ running straight into
        // /sh/ is one stretch of noise. Split it where the centre of gravity
        // steps from one class to the other: best single change point of the
        // frame log-CoG, kept when both parts last min_split_part_s or more
        // and their means fall on different sides of the class boundary.
        // Shorter parts are the onset or offset of one sibilant, whose
        // centre of gravity drifts while the tongue moves into place.
        const int split = best_split();
        if (split > 0) {
            emit(0, split);
            emit(split, stored);
        } else {
            emit(0, stored);
        }
    }

    // Returns the frame where the second part starts, or 0 for no split.
    int best_split() const {
        const int n = stored;
        if (n < 2 * min_split_frames) return 0;
        double total = 0.0;
        for (int i = 0; i < n; ++i) total += event_log_cog[static_cast<std::size_t>(i)];
        double left = 0.0;
        double best_gain = 0.0;
        int best = 0;
        for (int k = 1; k < n; ++k) {
            left += event_log_cog[static_cast<std::size_t>(k - 1)];
            if (k < min_split_frames || n - k < min_split_frames) continue;
            const double mean_left = left / k;
            const double mean_right = (total - left) / (n - k);
            // Reduction of the squared error by splitting at k.
            const double gain = double(k) * (n - k) / n * (mean_left - mean_right) * (mean_left - mean_right);
            if (gain > best_gain) {
                best_gain = gain;
                best = k;
            }
        }
        if (best == 0) return 0;
        const auto span_s = [this](int a, int b) {
            return event_centre_s[static_cast<std::size_t>(b - 1)] - event_centre_s[static_cast<std::size_t>(a)] + hop_s;
        };
        if (span_s(0, best) < config.min_split_part_s - 1e-9 || span_s(best, n) < config.min_split_part_s - 1e-9)
            return 0;
        double left_sum = 0.0;
        for (int i = 0; i < best; ++i) left_sum += event_log_cog[static_cast<std::size_t>(i)];
        const double mean_left = left_sum / best;
        const double mean_right = (total - left_sum) / (n - best);
        const double step = std::abs(mean_left - mean_right);
        if (is_sh(mean_left) == is_sh(mean_right) || step < 0.5 * std::abs(std::log(config.sh_to_s_cog_ratio)))
            return 0;
        return best;
    }

    // Makes an event of stored frames [a, b).
    void emit(int a, int b) {
        std::fill(power_sum.begin(), power_sum.end(), 0.0);
        for (int i = a; i < b; ++i) {
            const float* p = spectra->frame(event_position[static_cast<std::size_t>(i)]).data();
            for (int k = 0; k < bins; ++k) power_sum[static_cast<std::size_t>(k)] += p[k];
        }
        for (int k = 0; k < bins; ++k)
            mean_power[static_cast<std::size_t>(k)] = static_cast<float>(power_sum[static_cast<std::size_t>(k)] / (b - a));
        FrameFeatures mean{};
        extractor.compute(mean_power, mean);

        SibilantEvent e;
        e.start_s = event_centre_s[static_cast<std::size_t>(a)] - 0.5 * hop_s;
        e.end_s = event_centre_s[static_cast<std::size_t>(b - 1)] + 0.5 * hop_s;
        e.frames = b - a;
        e.cog_hz = mean.cog_hz;
        e.cog_11k_hz = mean.cog_11k_hz;
        e.peak_hz = mean.peak_hz;
        e.peak_prominence_db = mean.peak_prominence_db;
        e.flatness = mean.flatness;
        e.high_share = mean.high_share;
        e.upper_to_mid_db = mean.upper_to_mid_db;
        e.band_db = mean.band_db;
        e.high_db = mean.high_db;
        e.level_re_speech_db = static_cast<float>(mean.high_db - speech_db);
        classify(e);

        if (ready.size() < ready.capacity())
            ready.push_back(e);
        else
            ++dropped;
    }

    // Refits the speaker's /s/ reference m (log Hz) with this event added,
    // then classifies the event by the nearer cluster. The fit minimises,
    // over m, the sum over recent events of
    //     min(d_s^2, d_sh^2, cap^2) / spread^2
    // (d_s, d_sh: log distance to m and to m + log(ratio); cap: an odd event
    // cannot pull the fit) plus a prior term ((m - log prior) / prior_spread)^2.
    // With both classes present the data decide; with one class only, the
    // prior does: the events are /s/ when above sqrt(ratio) * prior
    // (5.4 kHz with the defaults), which is where an /s/ and a /sh/ of the
    // average speaker meet.
    void classify(SibilantEvent& e) {
        const double x = std::log(std::max<double>(e.cog_11k_hz, 1.0));
        const int slot = cog_next;
        log_cogs[static_cast<std::size_t>(slot)] = x;
        cog_next = (cog_next + 1) % kCogMemory;
        cog_count = std::min(cog_count + 1, kCogMemory);

        constexpr double kPriorSpread = 0.15;  // adult /s/ CoG 5-9 kHz at about 2 spreads
        constexpr double kStep = kGridStep;
        const double shift = std::log(config.sh_to_s_cog_ratio);  // negative
        const double prior = std::log(config.s_cog_prior_hz);
        const double low = grid_low();

        // An event's term depends only on its own log CoG, so it is worked
        // out over the whole grid once, when the event comes in, and kept
        // with it (it used to be recomputed, two divisions per grid point,
        // for each of the next 32 events). The costs are then summed
        // event-major, a loop over m that vectorises, while every m still
        // adds prior, then slots 0, 1, ... in the same order as a per-m loop
        // would: bit-identical costs, hence the same best m. Only the window
        // where the term is not the cap is kept (a third of the grid): adding
        // kCapTerm elsewhere adds the very value the full row held.
        const int steps = static_cast<int>(grid_cost.size());
        int first = steps;
        for (int step = 0; step < steps; ++step) {
            const double m = low + step * kStep;
            const double d_s = (x - m) / kSpread;
            const double d_sh = (x - m - shift) / kSpread;
            full_row[static_cast<std::size_t>(step)] = std::min({d_s * d_s, d_sh * d_sh, kCapTerm});
            if (full_row[static_cast<std::size_t>(step)] != kCapTerm) first = std::min(first, step);
        }
        // Both wells lie within 2 * kCap * kSpread + |shift| of each other's
        // far edges: term_window points (with a margin) from the first
        // point off the cap hold every such point.
        first = std::clamp(first, 0, steps - term_window);
        term_first[static_cast<std::size_t>(slot)] = first;
        std::copy_n(full_row.begin() + first, term_window,
                    cog_terms.begin() + std::ptrdiff_t(slot) * std::ptrdiff_t(term_window));
        double* cost = grid_cost.data();
        for (int step = 0; step < steps; ++step) {
            const double m = low + step * kStep;
            cost[step] = (m - prior) * (m - prior) / (kPriorSpread * kPriorSpread);
        }
        for (int i = 0; i < cog_count; ++i) {
            const int from = term_first[static_cast<std::size_t>(i)], to = from + term_window;
            const double* term = cog_terms.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(term_window);
            for (int step = 0; step < from; ++step) cost[step] += kCapTerm;
            for (int step = from; step < to; ++step) cost[step] += term[step - from];
            for (int step = to; step < steps; ++step) cost[step] += kCapTerm;
        }
        double best_m = prior;
        double best_cost = std::numeric_limits<double>::infinity();
        for (int step = 0; step < steps; ++step) {
            if (cost[step] < best_cost) {
                best_cost = cost[step];
                best_m = low + step * kStep;
            }
        }
        log_s_reference = best_m;
        e.s_reference_hz = static_cast<float>(std::exp(best_m));
        // Whatever the speaker, /sh zh/ noise peaks at 2.5-4.5 kHz: an event
        // with most of its noise above 4.5 kHz is /s z/ even when its centre
        // of gravity is low for this speaker (a /z/, an /s/ next to a
        // rounded vowel).
        e.cls = is_sh(x) && e.upper_to_mid_db < config.max_sh_upper_to_mid_db ? SibilantEvent::Class::Sh
                                                                               : SibilantEvent::Class::S;
    }
};

SibilantDetector::SibilantDetector(const DetectorConfig& config, const StftConfig& stft,
                                   const SpectrumRing* shared_spectra) {
    validate(config);
    validate(stft);
    impl_ = std::make_unique<Impl>(config, stft, shared_spectra);
}

SibilantDetector::~SibilantDetector() = default;
SibilantDetector::SibilantDetector(SibilantDetector&&) noexcept = default;
SibilantDetector& SibilantDetector::operator=(SibilantDetector&&) noexcept = default;

void SibilantDetector::push(const StftFrame& frame) noexcept {
    if (static_cast<int>(frame.power.size()) != impl_->bins) return;  // not from a matching Stft
    impl_->push(frame);
}

void SibilantDetector::finish() noexcept { impl_->finish(); }

std::int64_t SibilantDetector::history_frames(const DetectorConfig& config, const StftConfig& stft) {
    const double hop_s = stft.hop_samples / stft.rate_hz;
    const int min_event = std::max(1, frames_of(config.min_event_s, hop_s));
    return history_frames_for(frames_of(config.lookahead_s, hop_s), frames_of(config.max_gap_s, hop_s),
                              std::max(min_event, frames_of(config.max_event_s, hop_s)));
}

std::span<const SibilantEvent> SibilantDetector::events() const noexcept { return impl_->ready; }

void SibilantDetector::clear_events() noexcept { impl_->ready.clear(); }

std::int64_t SibilantDetector::dropped_events() const noexcept { return impl_->dropped; }

const FrameFeatures& SibilantDetector::last_features() const noexcept { return impl_->last; }

double SibilantDetector::speech_level_db() const noexcept { return impl_->speech_db; }

double SibilantDetector::high_floor_db() const noexcept { return impl_->high_floor_db; }

std::vector<SibilantEvent> detect_sibilants(std::span<const float> x_48k, const DetectorConfig& config) {
    const StftConfig stft_config{};
    Stft stft(stft_config);
    SibilantDetector detector(config, stft_config);
    std::vector<SibilantEvent> events;
    const auto drain = [&] {
        const auto ready = detector.events();
        events.insert(events.end(), ready.begin(), ready.end());
        detector.clear_events();
    };
    stft.push(x_48k, [&](const StftFrame& frame) {
        detector.push(frame);
        if (!detector.events().empty()) drain();
    });
    detector.finish();
    drain();
    return events;
}

}  // namespace sibilant::dsp
