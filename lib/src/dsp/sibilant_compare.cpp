#include "dsp/sibilant_compare.hpp"
#include "dsp/text_buffer.hpp"

#include <fftw3.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "dsp/fftw_planner.hpp"
#include "dsp/spectral_moments.hpp"
#include "sibilant/error.hpp"

namespace sibilant::dsp {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Floor of every power before a logarithm: far below 16-bit quantisation
// noise, so it only keeps digital silence finite.
constexpr double kFloorPower = 1e-20;
constexpr double kNoAddedDb = -99.0;  // "nothing added" for pre_echo_added_db

double to_db(double power) { return 10.0 * std::log10(std::max(power, kFloorPower)); }
double clamp01(double x) { return std::isfinite(x) ? std::clamp(x, 0.0, 1.0) : 0.0; }

// The auditory frequency scale (Glasberg & Moore 1990): ERB-number in Cams.
// One Cam is one auditory filter's width (about 670 Hz at 6 kHz), the unit
// in which the ear resolves where a noise sits.
double erb_number(double hz) { return 21.4 * std::log10(4.37e-3 * hz + 1.0); }
double erb_number_to_hz(double cams) { return (std::pow(10.0, cams / 21.4) - 1.0) / 4.37e-3; }
// Specific loudness grows as power^0.23 (Zwicker & Fastl, Psychoacoustics,
// ch. 8): a band 10 dB down sounds about 0.6 as loud, not 0.1. The lisp's
// shape parts weigh the sibilant's bands by it, so a weak top of the
// spectrum, which an energy sum barely sees, counts as much as it is heard.
constexpr double kLoudnessExponent = 0.23;

// log2 to about 1e-5, vectorisable: the shape correlation takes a logarithm
// of ~130 bins of two spectra for every frame of every event, where
// std::log2 alone would cost more than the rest of the comparison. The
// correlation does not depend on the base of the logarithm.
inline float fast_log2(float x) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    const float exponent = static_cast<float>(static_cast<int>((bits >> 23) & 0xFFu) - 127);
    const float m = std::bit_cast<float>((bits & 0x7FFFFFu) | 0x3F800000u);  // [1, 2)
    // ln(m) = 2 atanh(t), t = (m - 1) / (m + 1) in [0, 1/3): odd series to t^7.
    const float t = (m - 1.0f) / (m + 1.0f);
    const float t2 = t * t;
    const float ln_m = 2.0f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7))));
    return exponent + ln_m * 1.4426950408889634f;
}

// Bins k with low_hz <= k * bin_hz < high_hz, clamped to [0, bins).
struct BinRange {
    int first = 0, end = 0;
    int size() const { return std::max(0, end - first); }
};
BinRange bin_range(double low_hz, double high_hz, double bin_hz, int bins) {
    BinRange r;
    r.first = std::clamp(static_cast<int>(std::ceil(low_hz / bin_hz - 1e-9)), 0, bins);
    r.end = std::clamp(static_cast<int>(std::ceil(high_hz / bin_hz - 1e-9)), 0, bins);
    return r;
}

template <class T>
double band_sum(std::span<const T> power, BinRange r) {
    double s = 0.0;
    for (int k = r.first; k < r.end; ++k) s += static_cast<double>(power[static_cast<std::size_t>(k)]);
    return s;
}

// Geometric over arithmetic mean of groups of `group` bins: the groups
// average out most of a single frame's bin-to-bin scatter, so the figure
// says how compact the spectral envelope is, not how noisy the periodogram.
double flatness(std::span<const double> power, BinRange r, int group) {
    double log_sum = 0.0, sum = 0.0;
    int groups = 0;
    for (int k = r.first; k + group <= r.end; k += group) {
        double g = 0.0;
        for (int i = 0; i < group; ++i) g += power[static_cast<std::size_t>(k + i)];
        g = std::max(g, kFloorPower);
        log_sum += std::log(g);
        sum += g;
        ++groups;
    }
    if (groups < 2 || !(sum > 0.0)) return kNaN;
    return std::exp(log_sum / groups) / (sum / groups);
}

// Peakiness of a spectrum's fine structure over r: each bin over the mean of
// the 2h+1 bins around it, then 10*log10(arithmetic / geometric mean) of
// those ratios. Exponentially scattered noise bins give about 2.5 dB
// (exp(Euler's gamma)); harmonics or tones standing out of the noise give
// more. Uses the caller's scratch space for prefix sums.
double peakiness_db(std::span<const float> power, BinRange r, int h, std::vector<double>& prefix) {
    const int bins = static_cast<int>(power.size());
    if (r.size() < 2 * h + 1) return kNaN;
    prefix.assign(static_cast<std::size_t>(bins) + 1, 0.0);
    for (int k = 0; k < bins; ++k)
        prefix[static_cast<std::size_t>(k) + 1] =
            prefix[static_cast<std::size_t>(k)] + std::max(static_cast<double>(power[static_cast<std::size_t>(k)]), kFloorPower);
    double sum_q = 0.0, sum_log_q = 0.0;
    int n = 0;
    for (int k = r.first; k < r.end; ++k) {
        const int lo = std::max(0, k - h), hi = std::min(bins, k + h + 1);
        const double local = (prefix[static_cast<std::size_t>(hi)] - prefix[static_cast<std::size_t>(lo)]) / (hi - lo);
        const double q = std::max(static_cast<double>(power[static_cast<std::size_t>(k)]), kFloorPower) / local;
        sum_q += q;
        sum_log_q += std::log(q);
        ++n;
    }
    return 10.0 * std::log10((sum_q / n) / std::exp(sum_log_q / n));
}


void set_moments(SibilantMeasures& m, const SpectralMoments& moments) {
    m.cog_hz = moments.cog_hz;
    m.spread_hz = moments.sd_hz;
    m.skewness = moments.skewness;
    m.kurtosis = moments.kurtosis;
}

// Figures the why needs that the result does not keep.
struct WhyContext {
    double channel_top_hz = 0.0;    // top of the band the dropout test looks at
    double above_loss_db = 0.0;     // loss above the event's bandwidth
};

// Scores r from its measures; writes r.why too unless write is false.
void score_event(SibilantEventResult& r, double lisp_threshold, double smearing_threshold, const WhyContext& why,
                 bool write = true);

}  // namespace

SampleRange middle_segment(const SibilantEvent& event, const ComparerConfig& config, std::int64_t signal_samples) {
    const double rate_hz = config.stft.rate_hz;
    const auto count = static_cast<std::int64_t>(std::lround(config.middle_s * rate_hz));
    if (count < 2 || signal_samples < count) return {};
    const auto centre = static_cast<std::int64_t>(std::lround(0.5 * (event.start_s + event.end_s) * rate_hz));
    const std::int64_t first = std::clamp<std::int64_t>(centre - count / 2, 0, signal_samples - count);
    return {first, count};
}

double carried_bandwidth_hz(std::span<const double> reference_power, std::span<const double> degraded_power,
                            double bin_hz) {
    const int bins = static_cast<int>(std::min(reference_power.size(), degraded_power.size()));
    const BinRange range = bin_range(1000.0, kTopHz, bin_hz, bins);
    double reference_max = 0.0;
    for (int k = range.first; k < range.end; ++k)
        reference_max = std::max(reference_max, reference_power[static_cast<std::size_t>(k)]);
    if (!(reference_max > 0.0)) return 0.0;
    auto carried = [&](int k) {
        const double r = reference_power[static_cast<std::size_t>(k)];
        return r > 1e-6 * reference_max && degraded_power[static_cast<std::size_t>(k)] >= 0.01 * r;
    };
    // From the top down, the first run of three carried bins: a stray bin
    // above a cut-off (a notch's edge, an alias) does not count.
    int run = 0;
    for (int k = range.end - 1; k >= range.first; --k) {
        run = carried(k) ? run + 1 : 0;
        // The run's top bin is k + 2; its upper edge is half a bin higher.
        if (run == 3) return std::min(kTopHz, (k + 2 + 0.5) * bin_hz);
    }
    return 0.0;
}

// praat_power_spectrum() for the one segment length the comparer uses, with
// the FFTW plan and buffers made once: planning a transform for every cut
// cost as much as the rest of an event's comparison. Same arithmetic as
// praat_power_spectrum() (zero padding to a power of two, |X_k / rate|^2),
// which a unit test checks.
class PraatSpectrum {
public:
    PraatSpectrum(std::size_t samples, double rate_hz) : samples_(samples), rate_hz_(rate_hz) {
        n_ = 2;
        while (n_ < samples) n_ *= 2;
        input_ = fftw_array<float>(n_, "compare");
        output_ = fftw_array<fftwf_complex>(n_ / 2 + 1, "compare");
        plan_ = shared_r2c_plan(static_cast<int>(n_));
        if (!plan_) throw Error("compare: FFTW could not plan a " + std::to_string(n_) + "-point transform");
    }
    PraatSpectrum(const PraatSpectrum&) = delete;
    PraatSpectrum& operator=(const PraatSpectrum&) = delete;

    double bin_hz() const { return 1.0 / ((1.0 / rate_hz_) * static_cast<double>(n_)); }
    std::size_t bins() const { return n_ / 2 + 1; }

    /// Power spectrum of `segment` into `power` (resized once). Segments of
    /// another length go through praat_power_spectrum() itself.
    void compute(std::span<const float> segment, std::vector<float>& power, double& bin_hz_out) {
        if (segment.size() != samples_) {
            PraatPowerSpectrum p = praat_power_spectrum(segment, rate_hz_);
            power = std::move(p.power);
            bin_hz_out = p.bin_hz;
            return;
        }
        float* input = input_.get();
        std::copy(segment.begin(), segment.end(), input);
        std::fill(input + samples_, input + n_, 0.0f);
        fftwf_execute_dft_r2c(plan_, input, output_.get());
        power.resize(n_ / 2 + 1);
        const double dt_s = 1.0 / rate_hz_;
        for (std::size_t k = 0; k < power.size(); ++k) {
            const double re = static_cast<double>(output_.get()[k][0]) * dt_s;
            const double im = static_cast<double>(output_.get()[k][1]) * dt_s;
            power[k] = static_cast<float>(re * re + im * im);
        }
        bin_hz_out = bin_hz();
    }

private:
    std::size_t samples_, n_ = 2;
    double rate_hz_;
    std::unique_ptr<float, FftwFree> input_;
    std::unique_ptr<fftwf_complex, FftwFree> output_;
    fftwf_plan plan_ = nullptr;  // shared_r2c_plan(): not ours to destroy
};

struct SibilantComparer::Impl {
    ComparerConfig config;
    int bins = 0;
    double bin_hz = 0.0;
    double hop_s = 0.0;
    std::int64_t capacity = 0;
    SpectrumRing reference_ring, degraded_ring;  // the degraded's is empty for one signal
    std::int64_t frames = 0;
    std::vector<double> reference_long, degraded_long;  // long-term power sums
    // The last few frames' sums in float, added into the double sums every
    // kBlockFrames frames: float adds vectorise twice as wide, and a block
    // of 64 frames loses nothing that matters to a -20 dB test.
    static constexpr int kBlockFrames = 64;
    std::vector<float> reference_block, degraded_block;
    int block_fill = 0;
    FeatureExtractor extractor;
    PraatSpectrum praat;
    std::vector<float> reference_spectrum, degraded_spectrum;
    // Scratch, sized at construction or reused from event to event.
    std::vector<double> reference_mean, degraded_mean;
    std::vector<float> mean_float;
    std::vector<float> log_reference, log_degraded;
    std::vector<double> level_reference, level_degraded, prefix;
    std::vector<double> long_reference_scratch, long_degraded_scratch;
    // Bands about one Cam wide over the sibilant's 2.5-20 kHz noise band
    // (19 of them), for the loudness pattern the lisp's shape parts use.
    std::vector<BinRange> auditory_bands;
    std::vector<double> auditory_band_cams, auditory_centre_cams;

    explicit Impl(const ComparerConfig& c)
        : config(c),
          bins(c.stft.fft_size / 2 + 1),
          bin_hz(c.stft.rate_hz / c.stft.fft_size),
          hop_s(c.stft.hop_samples / c.stft.rate_hz),
          reference_ring(c.stft.fft_size / 2 + 1, history_frames(c)),
          degraded_ring(c.stft.fft_size / 2 + 1, c.one_signal ? 1 : history_frames(c)),
          extractor(c.stft.fft_size / 2 + 1, c.stft.rate_hz / c.stft.fft_size),
          praat(static_cast<std::size_t>(std::lround(c.middle_s * c.stft.rate_hz)), c.stft.rate_hz) {
        capacity = history_frames(c);
        reference_long.assign(static_cast<std::size_t>(bins), 0.0);
        degraded_long.assign(static_cast<std::size_t>(bins), 0.0);
        reference_block.assign(static_cast<std::size_t>(bins), 0.0f);
        degraded_block.assign(static_cast<std::size_t>(bins), 0.0f);
        reference_mean.assign(static_cast<std::size_t>(bins), 0.0);
        degraded_mean.assign(static_cast<std::size_t>(bins), 0.0);
        mean_float.assign(static_cast<std::size_t>(bins), 0.0f);
        log_reference.assign(static_cast<std::size_t>(bins), 0.0f);
        log_degraded.assign(static_cast<std::size_t>(bins), 0.0f);
        long_reference_scratch.assign(static_cast<std::size_t>(bins), 0.0);
        long_degraded_scratch.assign(static_cast<std::size_t>(bins), 0.0);
        // The middle cut's spectra and the tonal measure's prefix sums, sized
        // now so that no event allocates.
        reference_spectrum.assign(praat.bins(), 0.0f);
        degraded_spectrum.assign(praat.bins(), 0.0f);
        prefix.assign(praat.bins() + 1, 0.0);
        // The timing levels cover an event (at most the history) and 10
        // frames either side; reserved so that no event allocates.
        level_reference.reserve(static_cast<std::size_t>(capacity) + 32);
        level_degraded.reserve(static_cast<std::size_t>(capacity) + 32);
        const double low_cams = erb_number(kHighLowHz), high_cams = erb_number(kTopHz);
        const int n_bands = std::max(1, static_cast<int>(std::lround(high_cams - low_cams)));
        const double step_cams = (high_cams - low_cams) / n_bands;
        for (int i = 0; i < n_bands; ++i) {
            const double a = low_cams + i * step_cams, b = a + step_cams;
            const BinRange r = bin_range(erb_number_to_hz(a), erb_number_to_hz(b), bin_hz, bins);
            if (r.size() == 0) continue;
            auditory_bands.push_back(r);
            auditory_band_cams.push_back(step_cams);
            auditory_centre_cams.push_back(0.5 * (a + b));
        }
    }

    // Loudness pattern of a mean power spectrum: per auditory band,
    // (power per Cam)^0.23 times the band's width in Cams.
    struct Loudness {
        double centre_cams = kNaN;     // loudness-weighted centre (ERB-number)
        double below = 0.0, above = 0.0;  // loudness below / at or above split_cams
    };
    Loudness loudness(std::span<const double> mean, double split_cams) const {
        Loudness l;
        double total = 0.0, moment = 0.0;
        for (std::size_t i = 0; i < auditory_bands.size(); ++i) {
            const double w = auditory_band_cams[i];
            const double n = w * std::pow(std::max(band_sum(mean, auditory_bands[i]), kFloorPower) / w, kLoudnessExponent);
            total += n;
            moment += n * auditory_centre_cams[i];
            (auditory_centre_cams[i] >= split_cams ? l.above : l.below) += n;
        }
        if (total > 0.0) l.centre_cams = moment / total;
        return l;
    }

    void flush_block() {
        for (std::size_t k = 0; k < reference_block.size(); ++k) reference_long[k] += reference_block[k];
        if (!config.one_signal)
            for (std::size_t k = 0; k < degraded_block.size(); ++k) degraded_long[k] += degraded_block[k];
        std::fill(reference_block.begin(), reference_block.end(), 0.0f);
        std::fill(degraded_block.begin(), degraded_block.end(), 0.0f);
        block_fill = 0;
    }

    static std::int64_t history_frames(const ComparerConfig& c) {
        return static_cast<std::int64_t>(std::ceil(c.history_s / (c.stft.hop_samples / c.stft.rate_hz)));
    }
    // One signal (no reference): its frames are in reference_ring only.
    const SpectrumRing& degraded_frames() const { return config.one_signal ? reference_ring : degraded_ring; }

    std::span<const float> frame(const SpectrumRing& ring, std::int64_t k) const { return ring.frame(k); }
    // Frame whose centre is nearest to t_s.
    std::int64_t frame_at(double t_s) const {
        const double centre0_s = 0.5 * config.stft.fft_size / config.stft.rate_hz;
        return static_cast<std::int64_t>(std::llround((t_s - centre0_s) / hop_s));
    }

    SibilantMeasures features(std::span<const double> mean) {
        for (int k = 0; k < bins; ++k)
            mean_float[static_cast<std::size_t>(k)] = static_cast<float>(mean[static_cast<std::size_t>(k)]);
        FrameFeatures f;
        extractor.compute(mean_float, f);
        SibilantMeasures m;
        for (std::size_t b = 0; b + 1 < kCompareBandEdgesHz.size(); ++b)
            m.band_db[b] = to_db(band_sum(mean, bin_range(kCompareBandEdgesHz[b], kCompareBandEdgesHz[b + 1], bin_hz, bins)));
        m.event_cog_hz = f.cog_hz;
        m.peak_hz = f.peak_hz;
        m.peak_prominence_db = f.peak_prominence_db;
        m.flatness = f.flatness;
        return m;
    }

    // Per-frame level (dB) of r for frames [k0, k1], floored 40 dB under the
    // loudest of them: a slope out of digital silence would otherwise be
    // unbounded, and 40 dB is more than any sibilant rises over.
    void levels(const SpectrumRing& ring, BinRange r, std::int64_t k0, std::int64_t k1, std::vector<double>& out) {
        out.clear();
        double peak = -1e300;
        for (std::int64_t k = k0; k <= k1; ++k) {
            out.push_back(to_db(band_sum(frame(ring, k), r)));
            peak = std::max(peak, out.back());
        }
        for (double& v : out) v = std::max(v, peak - 40.0);
    }
};

SibilantComparer::SibilantComparer(const ComparerConfig& config) {
    validate(config.stft);
    if (!(config.history_s >= 0.25 && config.history_s <= 60.0))
        throw Error("compare: history_s " + std::to_string(config.history_s) + " must be within 0.25..60");
    if (!(config.middle_s >= 0.005 && config.middle_s <= 0.2))
        throw Error("compare: middle_s " + std::to_string(config.middle_s) + " must be within 0.005..0.2");
    impl_ = std::make_unique<Impl>(config);
}
SibilantComparer::~SibilantComparer() = default;
SibilantComparer::SibilantComparer(SibilantComparer&&) noexcept = default;
SibilantComparer& SibilantComparer::operator=(SibilantComparer&&) noexcept = default;

std::int64_t SibilantComparer::frames() const noexcept { return impl_->frames; }
const SpectrumRing& SibilantComparer::reference_history() const noexcept { return impl_->reference_ring; }

void SibilantComparer::push(std::span<const float> reference_power, std::span<const float> degraded_power) noexcept {
    Impl& s = *impl_;
    const auto n = static_cast<std::size_t>(s.bins);
    s.reference_ring.push(reference_power);
    float* rb = s.reference_block.data();
    for (std::size_t k = 0; k < n; ++k) rb[k] += reference_power[k];
    // One signal: the degraded is the reference, summed once.
    if (!s.config.one_signal) {
        s.degraded_ring.push(degraded_power);
        float* db = s.degraded_block.data();
        for (std::size_t k = 0; k < n; ++k) db[k] += degraded_power[k];
    }
    if (++s.block_fill == Impl::kBlockFrames) s.flush_block();
    ++s.frames;
}

void SibilantComparer::long_term_power(std::span<double> reference, std::span<double> degraded) const noexcept {
    const Impl& s = *impl_;
    for (std::size_t k = 0; k < s.reference_long.size() && k < reference.size(); ++k)
        reference[k] = s.reference_long[k] + s.reference_block[k];
    const std::vector<double>& degraded_long = s.config.one_signal ? s.reference_long : s.degraded_long;
    const std::vector<float>& degraded_block = s.config.one_signal ? s.reference_block : s.degraded_block;
    for (std::size_t k = 0; k < degraded_long.size() && k < degraded.size(); ++k)
        degraded[k] = degraded_long[k] + degraded_block[k];
}

double SibilantComparer::bandwidth_hz() const noexcept {
    Impl& s = *impl_;
    long_term_power(s.long_reference_scratch, s.long_degraded_scratch);
    return carried_bandwidth_hz(s.long_reference_scratch, s.long_degraded_scratch, s.bin_hz);
}

void SibilantComparer::compare(const SibilantEvent& event, std::span<const float> reference_middle,
                               std::span<const float> degraded_middle, SibilantEventResult& r,
                               WhyInputs* deferred) {
    Impl& s = *impl_;
    const ComparerConfig& c = s.config;
    {
        // A fresh result that keeps the why's buffer (no allocation when it
        // was reserved).
        std::string why = std::move(r.why);
        r = SibilantEventResult{};
        why.clear();
        r.why = std::move(why);
    }
    r.start_s = event.start_s;
    r.end_s = event.end_s;
    r.cls = to_string(event.cls);

    // Frames of the event, and those around it that the timing looks at,
    // within what the ring still holds.
    const std::int64_t oldest = std::max<std::int64_t>(0, s.frames - s.capacity);
    const std::int64_t newest = s.frames - 1;
    const std::int64_t k_first = std::clamp(s.frame_at(event.start_s + 0.5 * s.hop_s), oldest, newest);
    const std::int64_t k_last = std::clamp(s.frame_at(event.end_s - 0.5 * s.hop_s), k_first, newest);
    const double n_frames = static_cast<double>(k_last - k_first + 1);

    std::fill(s.reference_mean.begin(), s.reference_mean.end(), 0.0);
    std::fill(s.degraded_mean.begin(), s.degraded_mean.end(), 0.0);
    for (std::int64_t k = k_first; k <= k_last; ++k) {
        const auto ref = s.frame(s.reference_ring, k);
        const auto deg = s.frame(s.degraded_frames(), k);
        for (int b = 0; b < s.bins; ++b) {
            s.reference_mean[static_cast<std::size_t>(b)] += ref[static_cast<std::size_t>(b)];
            s.degraded_mean[static_cast<std::size_t>(b)] += deg[static_cast<std::size_t>(b)];
        }
    }
    for (int b = 0; b < s.bins; ++b) {
        s.reference_mean[static_cast<std::size_t>(b)] /= n_frames;
        s.degraded_mean[static_cast<std::size_t>(b)] /= n_frames;
    }
    const std::span<const double> ref_mean(s.reference_mean), deg_mean(s.degraded_mean);

    SibilantMeasures ref_m = s.features(ref_mean);
    SibilantMeasures deg_m = s.features(deg_mean);

    // Bandwidth of this event, and the bands derived from it.
    const double event_bandwidth_hz = carried_bandwidth_hz(ref_mean, deg_mean, s.bin_hz);
    r.bandwidth_hz = event_bandwidth_hz;
    const BinRange high = bin_range(kHighLowHz, kTopHz, s.bin_hz, s.bins);
    const double ref_high = band_sum(ref_mean, high), deg_high = band_sum(deg_mean, high);
    r.high_band_loss_db = to_db(ref_high) - to_db(deg_high);
    // The loudness pattern over the same band: where the sibilant sits as
    // heard (its loudness centre, in Cams) and what its top half, above that
    // centre, lost against its lower half (in dB of an equivalent uniform
    // level change: loudness ratio^(1/0.23)).
    {
        const double split_cams = s.loudness(ref_mean, -1.0).centre_cams;
        const Impl::Loudness lr = s.loudness(ref_mean, split_cams), ld = s.loudness(deg_mean, split_cams);
        r.centre_drop_cams = lr.centre_cams - ld.centre_cams;
        const double top_ratio = ld.above / lr.above, bottom_ratio = ld.below / lr.below;
        r.top_loss_db = lr.above > 0.0 && lr.below > 0.0
                            ? (10.0 / kLoudnessExponent) * (std::log10(bottom_ratio) - std::log10(top_ratio))
                            : 0.0;
    }
    // The band both carry, where every smearing measure is taken: the
    // sibilant's noise band from 4 kHz (above the /sh/ peak region and the
    // vowels' upper formants) up to 16 kHz (even a strong /s/ has little
    // left above) or the degraded's bandwidth. What lies above that
    // bandwidth is gone, which is lisp, not smearing; under 1.5 kHz of
    // shared band there is no shape or timing of the noise left to judge.
    constexpr double kSharedLowHz = 4000.0, kSharedHighHz = 16000.0, kMinSharedHz = 1500.0;
    const double shared_top_hz = std::min(kSharedHighHz, event_bandwidth_hz);
    const bool shared_defined = shared_top_hz - kSharedLowHz >= kMinSharedHz;
    const BinRange shared = bin_range(kSharedLowHz, shared_top_hz, s.bin_hz, s.bins);

    // Moments (Praat's definition) of the centred middle cut; undefined
    // (NaN) without one.
    const MomentOptions range{.low_hz = kCogLowHz, .high_hz = kTopHz};
    set_moments(ref_m, SpectralMoments{});
    set_moments(deg_m, SpectralMoments{});
    double tonal_ref = kNaN, tonal_deg = kNaN;
    if (!reference_middle.empty() && reference_middle.size() == degraded_middle.size()) {
        double spec_bin_hz = 0.0;
        s.praat.compute(reference_middle, s.reference_spectrum, spec_bin_hz);
        s.praat.compute(degraded_middle, s.degraded_spectrum, spec_bin_hz);
        const auto mr = spectral_moments(s.reference_spectrum, spec_bin_hz, range);
        const auto md = spectral_moments(s.degraded_spectrum, spec_bin_hz, range);
        set_moments(ref_m, mr);
        set_moments(deg_m, md);
        // Tonal content over 4 kHz .. min(12 kHz, bandwidth): where CELT folds
        // a voiced low band up; 470 Hz local mean (h bins each side).
        const double tonal_top_hz = std::min(12000.0, event_bandwidth_hz);
        if (tonal_top_hz - kSharedLowHz >= kMinSharedHz) {
            const int spec_bins = static_cast<int>(s.reference_spectrum.size());
            const BinRange tonal_band = bin_range(kSharedLowHz, tonal_top_hz, spec_bin_hz, spec_bins);
            const int h = std::max(2, static_cast<int>(std::lround(235.0 / spec_bin_hz)));
            tonal_ref = peakiness_db(s.reference_spectrum, tonal_band, h, s.prefix);
            tonal_deg = peakiness_db(s.degraded_spectrum, tonal_band, h, s.prefix);
        }
    }
    ref_m.tonality_db = tonal_ref;
    deg_m.tonality_db = tonal_deg;
    r.tonal_gain_db = std::isfinite(tonal_ref) && std::isfinite(tonal_deg) ? tonal_deg - tonal_ref : 0.0;

    // Shape: mean over the event's frames of the correlation of the log
    // spectra over the shared high band.
    if (shared_defined) {
        double sum_r = 0.0;
        const int n = shared.size();
        for (std::int64_t k = k_first; k <= k_last; ++k) {
            const auto ref = s.frame(s.reference_ring, k);
            const auto deg = s.frame(s.degraded_frames(), k);
            float mx = 0.0f, my = 0.0f;
            for (int i = 0; i < n; ++i) {
                const auto b = static_cast<std::size_t>(shared.first + i);
                const float x = fast_log2(ref[b] + 1e-20f), y = fast_log2(deg[b] + 1e-20f);
                s.log_reference[static_cast<std::size_t>(i)] = x;
                s.log_degraded[static_cast<std::size_t>(i)] = y;
                mx += x;
                my += y;
            }
            mx /= static_cast<float>(n);
            my /= static_cast<float>(n);
            float sxy = 0.0f, sxx = 0.0f, syy = 0.0f;
            for (int i = 0; i < n; ++i) {
                const float dx = s.log_reference[static_cast<std::size_t>(i)] - mx;
                const float dy = s.log_degraded[static_cast<std::size_t>(i)] - my;
                sxy += dx * dy;
                sxx += dx * dx;
                syy += dy * dy;
            }
            // A flat degraded band (nothing but a constant) has no shape left.
            sum_r += sxx > 0.0f && syy > 0.0f ? static_cast<double>(sxy) / std::sqrt(double(sxx) * double(syy)) : 0.0;
        }
        r.shape_correlation = sum_r / n_frames;
        ref_m.high_flatness = flatness(ref_mean, shared, 4);
        deg_m.high_flatness = flatness(deg_mean, shared, 4);
    } else {
        r.shape_correlation = kNaN;
        ref_m.high_flatness = deg_m.high_flatness = kNaN;
    }

    // Timing on the per-frame level of the shared band.
    constexpr std::int64_t kAround = kContextFrames;
    constexpr std::int64_t kPreFrames = 6;  // 30 ms before the onset
    double onset_ref = kNaN, onset_deg = kNaN;
    ref_m.duration_s = event.end_s - event.start_s;
    deg_m.duration_s = kNaN;
    ref_m.onset_slope_db_per_ms = deg_m.onset_slope_db_per_ms = kNaN;
    ref_m.offset_slope_db_per_ms = deg_m.offset_slope_db_per_ms = kNaN;
    r.pre_echo_db = kNaN;
    if (shared_defined) {
        const std::int64_t w0 = std::max(oldest, k_first - kAround), w1 = std::min(newest, k_last + kAround);
        s.levels(s.reference_ring, shared, w0, w1, s.level_reference);
        s.levels(s.degraded_frames(), shared, w0, w1, s.level_degraded);
        const double hop_ms = s.hop_s * 1000.0;
        auto level = [&](const std::vector<double>& l, std::int64_t k) { return l[static_cast<std::size_t>(k - w0)]; };
        auto onset = [&](const std::vector<double>& l) {
            double best = 0.0;
            for (std::int64_t k = std::max(w0 + 1, k_first - 2); k <= std::min(w1, k_first + 2); ++k)
                best = std::max(best, (level(l, k) - level(l, k - 1)) / hop_ms);
            return best;
        };
        auto offset = [&](const std::vector<double>& l) {
            double best = 0.0;
            for (std::int64_t k = std::max(w0, k_last - 2); k <= std::min(w1 - 1, k_last + 2); ++k)
                best = std::max(best, (level(l, k) - level(l, k + 1)) / hop_ms);
            return best;
        };
        onset_ref = onset(s.level_reference);
        onset_deg = onset(s.level_degraded);
        ref_m.onset_slope_db_per_ms = onset_ref;
        deg_m.onset_slope_db_per_ms = onset_deg;
        ref_m.offset_slope_db_per_ms = offset(s.level_reference);
        deg_m.offset_slope_db_per_ms = offset(s.level_degraded);
        // Duration: frames within 10 dB of the signal's own peak inside the
        // event, contiguous around that peak.
        auto duration = [&](const std::vector<double>& l) {
            std::int64_t peak_k = k_first;
            for (std::int64_t k = k_first; k <= k_last; ++k)
                if (level(l, k) > level(l, peak_k)) peak_k = k;
            const double floor_db = level(l, peak_k) - 10.0;
            std::int64_t a = peak_k, b = peak_k;
            while (a > w0 && level(l, a - 1) >= floor_db) --a;
            while (b < w1 && level(l, b + 1) >= floor_db) ++b;
            return static_cast<double>(b - a + 1) * s.hop_s;
        };
        ref_m.duration_s = duration(s.level_reference);
        deg_m.duration_s = duration(s.level_degraded);
        // Pre-echo: energy in the 30 ms before the onset.
        double pre_ref = 0.0, pre_deg = 0.0;
        int pre_n = 0;
        for (std::int64_t k = std::max(oldest, k_first - kPreFrames); k < k_first; ++k, ++pre_n) {
            pre_ref += band_sum(s.frame(s.reference_ring, k), shared);
            pre_deg += band_sum(s.frame(s.degraded_frames(), k), shared);
        }
        if (pre_n > 0) {
            r.pre_echo_db = to_db(pre_deg) - to_db(pre_ref);
            const double event_level = band_sum(ref_mean, shared);  // mean per frame
            // Only what goes beyond twice the reference's own energy there
            // counts: level differences of a dB or two (a codec's band
            // energies, the gain estimate) are not an echo.
            const double added = (pre_deg - 2.0 * pre_ref) / pre_n;
            r.pre_echo_added_db = added > 0.0 ? to_db(added) - to_db(event_level) : kNoAddedDb;
        }
    }

    // Dropout inputs: the band the channel carries above 2.5 kHz (at least up
    // to 4 kHz: every speech channel from narrowband up has it), and the
    // 0.3-2.5 kHz band where a concealment repeating a vowel shows.
    const double channel_top_hz = std::max(4000.0, bandwidth_hz());
    const BinRange carried = bin_range(kHighLowHz, channel_top_hz, s.bin_hz, s.bins);
    const BinRange low = bin_range(kVoiceBarHz, kHighLowHz, s.bin_hz, s.bins);
    r.carried_loss_db = to_db(band_sum(ref_mean, carried)) - to_db(band_sum(deg_mean, carried));
    // The longest run of the event's frames in which that band lost 20 dB
    // or more: a hole inside the sibilant (a lost packet concealed by a
    // fading or silent frame) rather than the whole of it.
    {
        std::int64_t run = 0, longest = 0;
        for (std::int64_t k = k_first; k <= k_last; ++k) {
            const double loss = to_db(band_sum(s.frame(s.reference_ring, k), carried)) -
                                to_db(band_sum(s.frame(s.degraded_frames(), k), carried));
            run = loss >= 20.0 ? run + 1 : 0;
            longest = std::max(longest, run);
        }
        r.gap_s = static_cast<double>(longest) * s.hop_s;
    }
    r.low_band_change_db = to_db(band_sum(deg_mean, low)) - to_db(band_sum(ref_mean, low));
    r.reference = ref_m;
    r.degraded = deg_m;
    WhyContext why;
    why.channel_top_hz = channel_top_hz;
    const BinRange above = bin_range(event_bandwidth_hz, kTopHz, s.bin_hz, s.bins);
    why.above_loss_db = to_db(band_sum(ref_mean, above)) - to_db(band_sum(deg_mean, above));
    if (deferred != nullptr) {
        *deferred = WhyInputs{.kind = WhyInputs::Kind::Compared,
                              .channel_top_hz = why.channel_top_hz,
                              .above_loss_db = why.above_loss_db,
                              .lisp_flag_threshold = c.lisp_flag_threshold,
                              .smearing_flag_threshold = c.smearing_flag_threshold};
    }
    score_event(r, c.lisp_flag_threshold, c.smearing_flag_threshold, why, deferred == nullptr);
}

SibilantEventResult SibilantComparer::compare(const SibilantEvent& event, std::span<const float> reference_middle,
                                              std::span<const float> degraded_middle) {
    SibilantEventResult r;
    compare(event, reference_middle, degraded_middle, r);
    return r;
}

namespace {

// ---------------------------------------------------------------------------
// Scores. Each part is 0..100, linear between a "transparent" anchor (0) and
// an anchor where the damage is complete (100); a score is the largest of its
// parts, so the why can name the cause.

void score_event(SibilantEventResult& r, double lisp_threshold, double smearing_threshold, const WhyContext& context,
                 bool write) {
    const SibilantMeasures& ref = r.reference;
    const SibilantMeasures& deg = *r.degraded;

    // Lisp is the sibilant losing its high-frequency identity: it turns weak
    // (toward /f th/), the top of its own spectrum fades against the rest,
    // or its noise moves down toward /sh/. One part for each; every part
    // starts at the smallest change a listener can hear, so that 0 means
    // transparent, not merely "small".
    //
    // Weak: the 2.5-20 kHz energy lost. Nothing below 1 dB, the just-
    // noticeable difference for the level of a noise (Miller 1947: 0.4-1 dB;
    // the larger figure, since here a segment of running speech changes);
    // 100 at 20 dB, the weak end of the 10-20 dB by which /f th/ are weaker
    // than /s/ in that band: the sibilant is then as weak as a /th/. (Level
    // differences between fricatives are measured as energy, so this part is
    // an energy sum, not a loudness.)
    constexpr double kLevelJndDb = 1.0, kAsWeakAsThDb = 20.0;
    r.lisp_energy = 100.0 * clamp01((r.high_band_loss_db - kLevelJndDb) / (kAsWeakAsThDb - kLevelJndDb));
    // Top: the loudness of the sibilant's top half (above its own loudness
    // centre) lost against its lower half, beyond the same 1 dB: 100 *
    // (1 - what is left of the top's loudness relative to the lower half's,
    // after forgiving 1 dB). 100 only when the top is gone entirely, so a
    // channel that keeps a little more of it always scores less (an 8 kHz
    // cut-off leaves a male /s/ part of its top; 4 kHz leaves nothing). A
    // uniform level change does not count here: that is the weak part's.
    r.lisp_top = 100.0 * clamp01(1.0 - std::pow(10.0, -kLoudnessExponent / 10.0 * (r.top_loss_db - kLevelJndDb)));
    // Place: the loudness centre falling on the auditory scale. 100 at the
    // /s/ -> /sh/ distance (Jongman et al. 2000: 6.1 vs 4.2 kHz, 4.05 Cams);
    // nothing below 0.1 Cam, a pure tone's frequency difference limen at
    // 4-8 kHz (about 1%, Moore, An Introduction to the Psychology of
    // Hearing, ch. 6): the centre of a noise cannot be heard to move less
    // than a tone. Centres that rise (Hybrid's CELT band kept while SILK's
    // is lowered) are not a lisp.
    const double s_to_sh_cams = erb_number(6100.0) - erb_number(4200.0);
    constexpr double kPlaceJndCams = 0.1;
    r.lisp_cog = 100.0 * clamp01((r.centre_drop_cams - kPlaceJndCams) / (s_to_sh_cams - kPlaceJndCams));
    r.lisp = std::max({r.lisp_energy, r.lisp_top, r.lisp_cog});

    // Smearing, shape: 1 - correlation of the log spectra in the shared band
    // (r = 1: every detail kept; r = 0: no relation left), so the flag (50)
    // sits at r = 0.5, where half the log-spectral detail is gone. For scale
    // (GUIDE, median over sibilant frames): Opus 64 kbps 0.78-0.89, Hybrid
    // 16-32 kbps 0.40-0.76. A band whose fine structure is all new noise but
    // whose coarse envelope is kept (CELT's noise fill) keeps the envelope's
    // share of the correlation, about 0.5 for an /s/.
    r.smear_shape = std::isfinite(r.shape_correlation) ? 100.0 * clamp01(1.0 - r.shape_correlation) : 0.0;
    // Flatness: a compact sibilant noise turning as flat as a /f th/ noise.
    // Over the shared band, the flatness of 375 Hz bands of an /s/ is mostly
    // 0.2-0.5 (corpus median 0.25) and of white noise about 0.85: an increase
    // of 0.4 is the whole way from compact to flat (100).
    r.smear_flatness = std::isfinite(ref.high_flatness) && std::isfinite(deg.high_flatness)
                           ? 100.0 * clamp01((deg.high_flatness - ref.high_flatness) / 0.4)
                           : 0.0;
    // Tonal: the fine structure of noise peaks about 2.5 dB above its
    // geometric mean; a band taken over by harmonics peaks 6 dB or more
    // above that: 100 at +6 dB.
    r.smear_tonal = 100.0 * clamp01(r.tonal_gain_db / 6.0);
    // Pre-echo: what the degraded added in the 30 ms before the onset, re
    // the sibilant's own level: 0 at -20 dB (mostly masked: the vowel before
    // and backward masking), 100 at 0 dB (the sibilant starts 30 ms early).
    r.smear_pre_echo = 100.0 * clamp01((r.pre_echo_added_db + 20.0) / 20.0);
    // Onset: the share of the onset's steepness lost (only for onsets that
    // are steep, >= 1 dB/ms; a gradual onset has little to lose). Offsets are
    // measured but not scored: forward masking by the sibilant hides a
    // smeared decay far better than backward masking hides a smeared onset.
    r.smear_onset = ref.onset_slope_db_per_ms >= 1.0
                        ? 100.0 * clamp01(1.0 - deg.onset_slope_db_per_ms / ref.onset_slope_db_per_ms)
                        : 0.0;
    // Duration is reported, not scored: how long a noise lasts at -10 dB
    // from its peak swings with any level change at its edges, and a
    // smeared onset or a pre-echo, which lengthen it audibly, are scored
    // above.
    r.smearing = std::max({r.smear_shape, r.smear_flatness, r.smear_tonal, r.smear_pre_echo, r.smear_onset});

    // Dropout: the sibilant vanished from the band the channel carries (down
    // by 20 dB, 1% left: band-limiting cannot explain it, the channel carries
    // that band elsewhere); or a hole inside it: two frames in a row (a gap
    // of about 20 ms, one Opus packet) down by 20 dB there; or it fell by
    // 10 dB there while the 0.3-2.5 kHz band rose by 10 dB (something else,
    // e.g. a concealment repeating the vowel before, took its place).
    constexpr double kMinGap_s = 0.0099;
    const bool vanished = r.carried_loss_db >= 20.0;
    const bool holed = r.gap_s >= kMinGap_s;
    const bool replaced = r.carried_loss_db >= 10.0 && r.low_band_change_db >= 10.0;
    r.dropout = vanished || holed || replaced;
    r.flagged = r.dropout || r.lisp >= lisp_threshold || r.smearing >= smearing_threshold;
    if (!write) return;

    // Why: the causes with a part of 25 or more, strongest first. Built in
    // fixed buffers: a live probe judges events on its real-time path.
    struct Cause {
        double score = 0.0;
        TextBuffer<200> text;
    };
    std::array<Cause, 10> causes;
    std::size_t n_causes = 0;
    auto cause = [&](double score) -> TextBuffer<200>& {
        Cause& c = causes[n_causes++];
        c.score = score;
        c.text.clear();
        return c.text;
    };
    TextBuffer<32> band;
    band.appendf("2.5-%.1f kHz", context.channel_top_hz / 1000.0);
    if (vanished)
        cause(1000.0).appendf("dropped: %.0f dB in %s", -r.carried_loss_db, band.view().data());
    else if (holed)
        cause(1000.0).appendf("a hole of about %.0f ms (down 20 dB or more in %s)", 1000.0 * r.gap_s + 10.0,
                              band.view().data());
    else if (replaced)
        cause(1000.0).appendf("replaced: %.0f dB in %s while 0.3-2.5 kHz rose %+.0f dB", -r.carried_loss_db,
                              band.view().data(), r.low_band_change_db);
    // Rounded before printing so that a tiny loss never reads "-0.0 dB".
    TextBuffer<96> loss;
    loss.appendf("%+.1f dB in 2.5-20 kHz", std::round(-10.0 * r.high_band_loss_db) / 10.0 + 0.0);
    if (r.bandwidth_hz < 19500.0 && context.above_loss_db >= 1.0) {
        // What went above the top the degraded still carries.
        loss.appendf(" (%.0f dB above %.1f kHz)", -context.above_loss_db, r.bandwidth_hz / 1000.0);
    }
    TextBuffer<64> cog;
    cog.appendf("centre of gravity %.1f -> ", ref.cog_hz / 1000.0);
    if (std::isfinite(deg.cog_hz))
        cog.appendf("%.1f kHz", deg.cog_hz / 1000.0);
    else
        cog.append("nothing");
    if (!vanished) {  // a vanished sibilant's why says it all
        cause(r.lisp_energy).append(loss.view());
        cause(r.lisp_top).appendf("top half %.1f dB down against the rest", r.top_loss_db);
        cause(r.lisp_cog).appendf("loudness centre %+.2f Cams (%s)", -r.centre_drop_cams, cog.view().data());
    }
    if (std::isfinite(r.shape_correlation))
        cause(r.smear_shape).appendf("high-band shape correlation %.2f", r.shape_correlation);
    cause(r.smear_flatness).appendf("high band flatter (%.2f -> %.2f)", ref.high_flatness, deg.high_flatness);
    cause(r.smear_tonal).appendf("%+.1f dB tonal structure in the noise band", r.tonal_gain_db);
    cause(r.smear_pre_echo).appendf("pre-echo %+.0f dB re the sibilant", r.pre_echo_added_db);
    cause(r.smear_onset).appendf("onset %.1f -> %.1f dB/ms", ref.onset_slope_db_per_ms, deg.onset_slope_db_per_ms);
    // Strongest first, ties in the order above (an insertion sort: stable,
    // and no temporary buffer).
    for (std::size_t i = 1; i < n_causes; ++i)
        for (std::size_t k = i; k > 0 && causes[k].score > causes[k - 1].score; --k) std::swap(causes[k], causes[k - 1]);

    TextBuffer<kWhyCapacity> why;
    why.appendf("/%s/ %.2f-%.2f s: ", r.cls.c_str(), r.start_s, r.end_s);
    if (r.flagged) {
        for (std::size_t i = 0; i < n_causes; ++i) {
            if (i > 0 && causes[i].score < 25.0) break;
            if (i > 0) why.append(", ");
            why.append(causes[i].text.view());
        }
    } else {
        why.appendf("kept: %s, %s", loss.view().data(), cog.view().data());
        if (std::isfinite(r.shape_correlation)) why.appendf(", shape correlation %.2f", r.shape_correlation);
    }
    why.appendf(" (lisp %.0f, smearing %.0f)", r.lisp, r.smearing);
    r.why.assign(why.view());
}

}  // namespace

void write_compared_why(SibilantEventResult& r, const WhyInputs& inputs) noexcept {
    // Scoring is a pure function of the measures kept in r: scoring again
    // gives the same figures and, this time, the sentence.
    const WhyContext context{.channel_top_hz = inputs.channel_top_hz, .above_loss_db = inputs.above_loss_db};
    score_event(r, inputs.lisp_flag_threshold, inputs.smearing_flag_threshold, context);
}

}  // namespace sibilant::dsp
