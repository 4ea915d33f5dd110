#include "dsp/alignment.hpp"
#include "dsp/fftw_planner.hpp"

#include <fftw3.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <numbers>
#include <span>
#include <string>

#include "sibilant/error.hpp"

namespace sibilant::dsp {

namespace {

constexpr int kRateHz = 48000;
constexpr int kDecimation = 12;                   // 48 kHz -> 4 kHz low band
constexpr int kLowRateHz = kRateHz / kDecimation;
constexpr int kFirTaps = 48;
constexpr double kFirCutoffHz = 1500.0;
constexpr int kFrameLow = 20;                     // 5 ms frames at 4 kHz
constexpr int kFrameFull = kFrameLow * kDecimation;
constexpr int kBlockFrames = 4;                   // fine-search blocks of 20 ms
constexpr int kBlockFull = kBlockFrames * kFrameFull;
constexpr int kBlocksPerHalf = 8;
constexpr double kFineBlockRangeDb = 20.0;
constexpr int kFineRadius = 24;                   // full-rate samples searched either side
constexpr int kFineLags = 2 * kFineRadius + 1;
// Delays within 0.25 ms are one delay: per-window estimates on a 6 kbps
// narrowband codec scatter by a few samples, while jitter buffers step by
// whole packets or pitch periods (>= 2.5 ms).
constexpr std::int64_t kSameDelay = 12;
constexpr std::int64_t kMinStep = 48;             // a smaller change is a creeping delay (clock skew)
constexpr double kActivityRangeDb = 40.0;
constexpr double kActivityFloorMeanSquare = 1e-7;  // -70 dBFS
constexpr double kSilenceMeanSquare = 1e-10;       // -100 dBFS
constexpr double kMinWindowSpeech_s = 0.2;
constexpr double kMinLastWindow_s = 0.25;
constexpr int kHistoryWindows = 3;                // low-band history kept for locating steps
// Drift inside a window: its two halves, correlated on their own within
// +-kHalfSearch_s of the window's delay, peak confidently kHalfStep_s or more
// apart, and each prefers its own delay by kHalfPreference in all.
constexpr double kHalfSearch_s = 0.05;
constexpr double kHalfStep_s = 0.001;
constexpr double kHalfPreference = 0.1;
// ... where each half has kMinWindowSpeech_s of loud speech (within
// kFineBlockRangeDb of the window's loudest frame) and a peak of at least
// kHalfMinConfidence (scaled up like a short window's for halves under 1 s).
constexpr double kHalfMinConfidence = 0.5;
// Stretch test, on windows whose peak is below kStretchTestBelow: the
// reference window, time-stretched by each of kStretchRates, correlated over
// +-max_delay at 2 kHz. Drift when a stretched copy peaks at kStretchMinConfidence
// or more (scaled like a short window's) and beats the unstretched one by
// kStretchGain: a constant delay never correlates better stretched.
constexpr double kStretchTestBelow = 0.75;
constexpr double kStretchTryAbove = 0.2;          // ... and at or above this, or where envelopes match
constexpr std::array<double, 16> kStretchRates = {-0.02, -0.015, -0.01, -0.007, -0.005, -0.003, -0.002, -0.001,
                                                  0.001, 0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02};
constexpr double kStretchMinConfidence = 0.5;
constexpr double kStretchGain = 0.15;
// Unrelated speech reaches 0.7 on a full window (more on short ones); a
// stretched copy of the same speech 0.92-0.99.
constexpr double kEnvelopeMinConfidence = 0.8;
constexpr double kEnvelopeMinWindow_s = 1.0;
// Chance correlation peaks grow as 1/sqrt(length): windows shorter than this
// need min_confidence * sqrt(kShortWindow_s / length).
constexpr double kShortWindow_s = 1.0;
constexpr double kDriftMaxStep_s = 0.05;          // delays of drifting windows this close are related
constexpr double kMinCorrelatingFraction = 0.5;
constexpr double kGuard_s = 0.010;
// Whole-file constant delay (header, step 7).
constexpr int kConstantMinWindows = 3;
constexpr double kConstantMinShare = 2.0 / 3.0;
constexpr double kConstantMaxSlopeMs = 0.5;       // fitted change over the file
// Envelope fallback (header, step 8). The fine envelope runs at 2 kHz (0.5 ms).
constexpr double kEnvelopeConsensusMin = 0.6;
constexpr double kEnvelopeAgree_s = 0.005;
constexpr double kEnvelopeMinAgreeShare = 0.5;
constexpr double kEnvelopeStrong = 0.8;           // consensus that overrules a weak waveform result ...
constexpr double kWeakWaveform = 0.6;             // ... of lower confidence ...
constexpr double kEnvelopeDisagree_s = 0.0025;    // ... this far away
constexpr double kEnvelopeSingle = 0.85;          // a file of one speech window
constexpr int kEnvelopeMaxStretched = 2;          // windows preferring a stretched copy
constexpr double kEnvelopeMaxStretchedShare = 0.25;
// Fitted change of the agreeing windows' delays over the file: Codec2's
// per-window envelope peaks scatter by +-3 ms, a 0.1% stretch over 10 s moves 10 ms.
constexpr double kEnvelopeMaxTrend_s = 0.006;
// An envelope delay is good to a few ms, not to the sample (Codec2 on the
// corpus: 0.1-7 ms from the click-train delay): its confidence is capped here.
constexpr double kEnvelopeConfidenceScale = 0.5;
constexpr std::int64_t kMargin = 4096;
constexpr std::size_t kReservedWindows = 1800;    // one hour of 2 s windows
constexpr std::size_t kReservedSegments = 256;

// a[i] = conj(a[i]) * b[i]: the cross-spectrum whose inverse transform is the
// cross-correlation of the two signals.
void multiply_by_conjugate(fftwf_complex* a, const fftwf_complex* b, std::size_t bins) noexcept {
    for (std::size_t i = 0; i < bins; ++i) {
        const float re = a[i][0] * b[i][0] + a[i][1] * b[i][1];
        const float im = a[i][0] * b[i][1] - a[i][1] * b[i][0];
        a[i][0] = re;
        a[i][1] = im;
    }
}

using ConstVec = Eigen::Map<const Eigen::VectorXf>;

double dot(const float* a, const float* b, std::size_t n) {
    return double(ConstVec(a, Eigen::Index(n)).dot(ConstVec(b, Eigen::Index(n))));
}
double energy(const float* a, std::size_t n) { return double(ConstVec(a, Eigen::Index(n)).squaredNorm()); }

void remove_mean(float* x, std::size_t n) {
    if (n == 0) return;
    const float mean = static_cast<float>(double(ConstVec(x, Eigen::Index(n)).sum()) / double(n));
    for (std::size_t i = 0; i < n; ++i) x[i] -= mean;
}

double to_db(double ratio) { return 10.0 * std::log10(std::max(ratio, 1e-30)); }

// Offset of the vertex of a parabola through (-1, a), (0, b), (1, c), in [-0.5, 0.5].
double parabolic_offset(double a, double b, double c) {
    const double denominator = a - 2.0 * b + c;
    if (!(denominator < 0.0)) return 0.0;
    return std::clamp(0.5 * (a - c) / denominator, -0.5, 0.5);
}

// Least-squares line through (t, y) points: how much y changes from the first
// t to the last along it. A delay that creeps (clock skew, time stretch) shows
// as a change; codec scatter around one delay does not.
struct LineFit {
    double n = 0.0, st = 0.0, sy = 0.0, stt = 0.0, sty = 0.0, first = 1e300, last = -1e300;
    void add(double t, double y) {
        n += 1.0;
        st += t;
        sy += y;
        stt += t * t;
        sty += t * y;
        first = std::min(first, t);
        last = std::max(last, t);
    }
    double change() const {
        const double spread = n > 1.0 ? stt - st * st / n : 0.0;
        return spread > 0.0 ? (sty - st * sy / n) / spread * (last - first) : 0.0;
    }
    double mean() const { return n > 0.0 ? sy / n : 0.0; }
};

// The most recent `capacity` samples of a stream, addressed by absolute index.
class SampleRing {
public:
    void reset(std::size_t capacity) {
        buffer_.assign(capacity, 0.0f);
        total_ = 0;
    }
    // Batch: the whole stream already sits in the caller's memory; write() then
    // only counts, read() reads it there. Saves copying every sample.
    void attach(std::span<const float> whole) {
        buffer_.clear();
        buffer_.shrink_to_fit();
        external_ = whole;
        total_ = 0;
    }
    std::int64_t total() const { return total_; }
    std::int64_t capacity() const {
        return external_.data() ? std::int64_t(external_.size()) : std::int64_t(buffer_.size());
    }

    void write(const float* samples, std::size_t n) {
        if (external_.data()) {
            total_ += std::int64_t(n);
            return;
        }
        const std::size_t cap = buffer_.size();
        if (n > cap) {  // only the newest `cap` samples can be held
            total_ += std::int64_t(n - cap);
            samples += n - cap;
            n = cap;
        }
        const std::size_t at = std::size_t(total_ % std::int64_t(cap));
        const std::size_t first = std::min(n, cap - at);
        std::memcpy(buffer_.data() + at, samples, first * sizeof(float));
        std::memcpy(buffer_.data(), samples + first, (n - first) * sizeof(float));
        total_ += std::int64_t(n);
    }

    // Samples [begin, begin + n); indices outside [0, total) read as 0. The
    // caller keeps begin >= total - capacity (what is still held).
    void read(std::int64_t begin, float* out, std::size_t n) const {
        std::int64_t index = begin;
        std::size_t done = 0;
        while (done < n && index < 0) {
            out[done++] = 0.0f;
            ++index;
        }
        if (external_.data()) {
            const std::size_t run = std::size_t(std::clamp<std::int64_t>(total_ - index, 0, std::int64_t(n - done)));
            std::memcpy(out + done, external_.data() + index, run * sizeof(float));
            done += run;
        }
        const std::int64_t cap = capacity();
        while (done < n && index < total_ && !external_.data()) {
            const std::size_t at = std::size_t(index % cap);
            const std::size_t run = std::min({n - done, std::size_t(cap) - at, std::size_t(total_ - index)});
            std::memcpy(out + done, buffer_.data() + at, run * sizeof(float));
            done += run;
            index += std::int64_t(run);
        }
        std::fill(out + done, out + n, 0.0f);
    }

private:
    std::vector<float> buffer_;
    std::span<const float> external_;
    std::int64_t total_ = 0;
};

// 48 kHz -> 4 kHz low band (below about 1.5 kHz). The same filter on both
// streams, so its delay cancels in every comparison. Output m depends on input
// samples up to 12 m + 11. (DC is removed per window, where it matters.)
//
// Polyphase form: each group g of 12 input samples contributes to the 4
// outputs whose 48 taps cover it, z_g(p) = sum_k h[12 p + k] x[12 g + k], one
// 4-wide multiply-add per input sample; y[m] = z_{m-3}(0) + z_{m-2}(1) +
// z_{m-1}(2) + z_m(3). Chunk boundaries do not change the arithmetic.
class LowBandDecimator {
public:
    LowBandDecimator() {
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

    void push(const float* in, std::size_t n, SampleRing& out) {
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

private:
    float group(const float* x) {
        Eigen::Array4f z = x[0] * phase_taps_[0];
        for (std::size_t k = 1; k < std::size_t(kDecimation); ++k) z += x[k] * phase_taps_[k];
        const float y = recent_[0](0) + recent_[1](1) + recent_[2](2) + z(3);
        recent_[0] = recent_[1];
        recent_[1] = recent_[2];
        recent_[2] = z;
        return y;
    }
    void emit(float y, std::size_t& produced, SampleRing& out) {
        out_[produced++] = y;
        if (produced == out_.size()) {
            out.write(out_.data(), produced);
            produced = 0;
        }
    }

    std::array<Eigen::Array4f, kDecimation> phase_taps_;
    std::array<Eigen::Array4f, 3> recent_;
    std::array<float, kDecimation> partial_{};
    std::size_t partial_fill_ = 0;
    std::vector<float> out_;
};

enum class DriftCause { None, Stretch, UnstableWindows, DelayKeepsChanging, CreepingDelay };

// Full-rate correlation around a centre delay: numerator, degraded energy
// per lag and reference energy, summable over blocks and windows.
struct FineCurve {
    std::array<double, kFineLags> numerator{};
    std::array<double, kFineLags> deg_energy{};
    double ref_energy = 0.0;
    void add(const FineCurve& other) {
        for (std::size_t i = 0; i < kFineLags; ++i) {
            numerator[i] += other.numerator[i];
            deg_energy[i] += other.deg_energy[i];
        }
        ref_energy += other.ref_energy;
    }
    double at(std::size_t lag) const {
        return ref_energy > 0.0 && deg_energy[lag] > 0.0 ? numerator[lag] / std::sqrt(ref_energy * deg_energy[lag])
                                                          : 0.0;
    }
    std::size_t peak(double& value) const {
        std::size_t best = 0;
        value = -2.0;
        for (std::size_t lag = 0; lag < kFineLags; ++lag) {
            const double v = at(lag);
            if (v > value) {
                value = v;
                best = lag;
            }
        }
        return best;
    }
};

struct Segment {
    std::int64_t ref_begin_sample = 0;
    std::int64_t ref_end_sample = 0;   // open segment: end of its last window
    std::int64_t anchor_samples = 0;   // centre of `curve`: the first window's delay
    FineCurve curve;                   // summed over its windows searched around the anchor
    std::int64_t delay_samples = 0;    // peak of `curve`
    double fractional_delay_samples = 0.0;
    double confidence_sum = 0.0;
    int windows = 0;
    double speech_s = 0.0;
    double ref_energy = 0.0;           // low band, speech frames
    double deg_energy = 0.0;
    std::size_t last_window = 0;       // index into windows_
    bool entered_by_step = false;
};

// One delay for the whole file, found by a rescue (header, steps 7 and 8).
struct Rescue {
    AlignmentMethod method = AlignmentMethod::Waveform;
    double delay_samples = 0.0;
    double confidence = 0.0;
    double envelope_mean = 0.0;          // envelope: the summed curve's mean correlation at its peak
    int inliers = 0;                     // windows that agree
    int windows = 0;                     // ... of these
    std::size_t segment = SIZE_MAX;      // constant delay: the segment holding it, if any
    double ref_energy = 0.0, deg_energy = 0.0, speech_s = 0.0;  // over the agreeing windows
};

struct Decision {
    AlignmentStatus status = AlignmentStatus::Pending;
    int speech_windows = 0;
    int audible_windows = 0;           // speech windows where the degraded is not silent
    int correlating_windows = 0;     // found or unstable: a waveform peak
    int envelope_windows = 0;        // envelopes only
    double best_confidence = 0.0;
    std::size_t dominant = 0;
    std::int64_t short_length = 0;     // TooShort: the offending length
    bool short_is_reference = true;
    double speech_seen_s = 0.0;
    // Whole-file rescue (finished only): a constant delay or the envelopes.
    bool rescued = false;
    Rescue rescue;
    AlignmentStatus waveform_status = AlignmentStatus::Pending;  // what the windows alone said
};

}  // namespace

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
}

struct Aligner::Impl {
    AlignerConfig config;
    // Sizes. Full rate unless named _low (4 kHz) or _frames (5 ms).
    std::int64_t window = 0;
    std::int64_t window_low = 0;
    std::int64_t max_delay_low = 0;
    std::int64_t max_delay = 0;
    std::int64_t max_delay_frames = 0;
    std::size_t fft_size = 0;

    SampleRing ref_full, deg_full, ref_low, deg_low;
    LowBandDecimator ref_decimator, deg_decimator;

    std::unique_ptr<float, FftwFree> fft_real;
    std::unique_ptr<fftwf_complex, FftwFree> spectrum_ref, spectrum_deg;
    fftwf_plan forward = nullptr;  // shared_*_plan(): not ours to destroy
    fftwf_plan inverse = nullptr;  // shared_*_plan(): not ours to destroy

    // Scratch, sized at set-up.
    std::vector<float> x_low, y_low;            // reference window, degraded search range
    std::vector<double> y_half_prefix;          // prefix sums of the squared 2 kHz pair sums of y_low
    std::vector<float> corr_2k;                 // the window's correlation at 2 kHz, per lag
    std::vector<double> ref_frame_energy;       // per 5 ms frame of the window
    std::vector<float> envelope_ref, envelope_deg;
    std::vector<double> envelope_prefix, envelope_prefix_sq;
    std::vector<int> block_order;
    std::vector<float> block_ref, block_deg;
    std::vector<float> span_ref, span_deg;      // for locating a step
    std::vector<double> span_score;
    std::vector<double> block_score, block_energy;
    std::vector<double> env_prefix;             // squared low band, prefix sums (fine envelope)
    std::vector<float> env_fine_ref, env_fine_deg;
    std::vector<double> env_fine_sum, env_fine_sum_sq;
    std::vector<double> env_curve_sum;          // speech-weighted Pearson per 2 kHz lag, whole file
    double env_curve_weight = 0.0;
    double pending_env_ref = 0.0, pending_env_deg = 0.0;  // the current window's, at its envelope delay
    std::vector<double> window_env_ref_energy, window_env_deg_energy;
    FineCurve window_curve;             // the latest window's, for its segment
    std::int64_t window_centre = 0;     // delay window_curve is centred on
    bool window_anchored = false;       // ... which is the open segment's anchor

    bool ref_ended = false;
    bool deg_ended = false;
    bool finished = false;  // both ended
    bool overrun = false;
    bool overrun_by_reference = true;
    std::int64_t next_window = 0;

    std::vector<AlignmentWindow> windows;
    std::vector<double> window_ref_energy, window_deg_energy;
    std::vector<Segment> segments;
    std::size_t last_delay_window = SIZE_MAX;   // last window with a delay estimate
    std::size_t small_step_window = SIZE_MAX;   // a window off the open segment by < kMinStep, unconfirmed
    std::int64_t last_found_begin = 0;

    DriftCause drift = DriftCause::None;
    std::size_t drift_window_a = 0, drift_window_b = 0;

    explicit Impl(const AlignerConfig& c) : config(c) {
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
        windows.reserve(kReservedWindows);
        window_ref_energy.reserve(kReservedWindows);
        window_deg_energy.reserve(kReservedWindows);
        window_env_ref_energy.reserve(kReservedWindows);
        window_env_deg_energy.reserve(kReservedWindows);
        segments.reserve(kReservedSegments);
    }

    // ---- feeding -------------------------------------------------------

    // Oldest absolute sample each ring must still hold for the windows not yet processed.
    std::int64_t needed_ref_full() const { return next_window * window; }
    std::int64_t needed_deg_full() const { return next_window * window - max_delay - kFineRadius - kMargin; }
    std::int64_t needed_low() const {
        return (next_window - kHistoryWindows) * window_low - max_delay_low - kMargin / kDecimation;
    }

    void push(bool is_reference, std::span<const float> samples) {
        if ((is_reference ? ref_ended : deg_ended) || overrun) return;
        SampleRing& full = is_reference ? ref_full : deg_full;
        SampleRing& low = is_reference ? ref_low : deg_low;
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

    bool window_ready(std::int64_t k) const {
        std::int64_t end = (k + 1) * window;
        if (ref_ended) {
            if (k * window >= ref_full.total()) return false;
            end = std::min(end, ref_full.total());
        } else if (ref_full.total() < end) {
            return false;
        }
        return deg_ended || deg_full.total() >= end + max_delay + kFineRadius + 2 * kDecimation;
    }

    void process_ready() {
        while (window_ready(next_window)) {
            process_window(next_window);
            ++next_window;
        }
    }

    void end_stream(bool is_reference) {
        (is_reference ? ref_ended : deg_ended) = true;
        finished = ref_ended && deg_ended;
        if (!overrun) process_ready();
        if (finished) drop_unconfirmed_last_step();
    }

    // A step is confirmed by the next window that correlates at the new
    // delay. One that only the last window shows never was: that window is
    // an outlier (seen: the last 0.8 s of a short file through Opus with 5%
    // loss, where concealed packets put a weak peak at 17 ms), and the
    // segment before it runs to the end. A true jitter-buffer step inside
    // the last window is missed, at the cost of comparing that tail at the
    // old delay.
    void drop_unconfirmed_last_step() {
        if (segments.size() < 2 || drift != DriftCause::None) return;
        const Segment& last = segments.back();
        if (last.windows != 1 || !last.entered_by_step) return;
        segments.pop_back();
        segments.back().ref_end_sample = windows[last.last_window].ref_end_sample;
    }

    // ---- one window ----------------------------------------------------

    void process_window(std::int64_t k) {
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
        for (std::size_t i = 0; i < n_half; ++i) real[i] = x_low[2 * i] + x_low[2 * i + 1];
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

        // Fine blocks: speech (within kFineBlockRangeDb of the window's loudest
        // block) where the low bands match best at the coarse delay: codec noise
        // in place of a fricative is loud but does not correlate, and quiet
        // blocks say nothing either way. Others score 0 and are not used.
        const std::size_t blocks = std::size_t(length / kBlockFull);
        constexpr std::size_t block_low = kBlockFrames * kFrameLow;
        double loudest_block = 0.0;
        for (std::size_t blk = 0; blk < blocks; ++blk) {
            double e = 0.0;
            for (std::size_t f = 0; f < std::size_t(kBlockFrames); ++f) e += ref_frame_energy[blk * kBlockFrames + f];
            block_energy[blk] = e;
            loudest_block = std::max(loudest_block, e);
        }
        const double speech_block = loudest_block * std::pow(10.0, -kFineBlockRangeDb / 10.0);
        for (std::size_t blk = 0; blk < blocks; ++blk)
            block_score[blk] = block_energy[blk] >= speech_block
                                   ? dot(x_low.data() + blk * block_low, y_low.data() + best + blk * block_low, block_low)
                                   : 0.0;
        // Windows at the open segment's delay are searched around its anchor so
        // that their curves add up into one precise segment delay.
        std::int64_t centre = coarse;
        window_anchored = false;
        if (!segments.empty() && drift == DriftCause::None &&
            std::llabs(coarse - segments.back().anchor_samples) <= kSameDelay) {
            centre = segments.back().anchor_samples;
            window_anchored = true;
        }
        window_centre = centre;
        fine_search(w, centre, blocks);
        if (!halves_agree) w.verdict = WindowVerdict::Unstable;

        // Gain over the speech frames, degraded taken at the found delay.
        double ref_sum = 0.0, deg_sum = 0.0;
        if (w.verdict == WindowVerdict::Found) {
            const std::int64_t shift = std::llround(double(w.delay_samples) / kDecimation) + max_delay_low;
            for (std::size_t f = 0; f < frames; ++f) {
                if (!(ref_frame_energy[f] > threshold)) continue;
                const std::int64_t at = std::int64_t(f) * kFrameLow + shift;
                if (at < 0 || at + kFrameLow > std::int64_t(region)) continue;
                // Where the degraded does not exist (before its start, after its end) there is nothing to compare.
                const std::int64_t absolute = begin_low - max_delay_low + at;
                if (absolute < 0 || (deg_ended && absolute + kFrameLow > deg_low.total())) continue;
                ref_sum += ref_frame_energy[f];
                deg_sum += energy(y_low.data() + at, kFrameLow);
            }
            w.gain_db = ref_sum > 0.0 ? to_db(deg_sum / ref_sum) : 0.0;
        }
        record(w, ref_sum, deg_sum);
    }

    // Returns the stretch (in percent) at which the reference window correlates
    // clearly better than unstretched, or 0. `plain_value` is the unstretched
    // peak at 2 kHz, before normalisation by the window's energy.
    double stretch_test(std::size_t n_half, std::size_t region_half, double plain_value, double short_scale) {
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
    bool halves_disagree(std::size_t n_half, std::size_t lag_2k, std::size_t frames, double loudest_frame) {
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
            if (!(deg_energy > 0.0) || !(ref_energy[std::size_t(h)] > 0.0)) return 0.0;
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

    // Full-rate correlation around `centre` on the best-matching 20 ms blocks,
    // taken from both halves of the window so that they span it.
    void fine_search(AlignmentWindow& w, std::int64_t centre, std::size_t blocks) {
        const std::size_t half = blocks / 2;
        std::array<FineCurve, 2> halves{};
        for (int h = 0; h < 2; ++h) {
            const std::size_t from = h == 0 ? 0 : half;
            const std::size_t to = h == 0 ? half : blocks;
            int* order = block_order.data();
            std::size_t count = 0;
            for (std::size_t i = from; i < to; ++i) order[count++] = int(i);
            const std::size_t take = std::min<std::size_t>(kBlocksPerHalf, count);
            std::partial_sort(order, order + take, order + count,
                              [&](int p, int q) { return block_score[std::size_t(p)] > block_score[std::size_t(q)]; });
            FineCurve& c = halves[std::size_t(h)];
            for (std::size_t i = 0; i < take; ++i) {
                if (!(block_score[std::size_t(order[i])] > 0.0)) break;
                const std::int64_t start = w.ref_begin_sample + std::int64_t(order[i]) * kBlockFull;
                ref_full.read(start, block_ref.data(), kBlockFull);
                deg_full.read(start + centre - kFineRadius, block_deg.data(), kBlockFull + kFineLags - 1);
                double sliding = energy(block_deg.data(), kBlockFull);
                for (std::size_t lag = 0; lag < kFineLags; ++lag) {
                    c.numerator[lag] += dot(block_ref.data(), block_deg.data() + lag, kBlockFull);
                    c.deg_energy[lag] += sliding;
                    if (lag + 1 < kFineLags) {
                        const double leaving = block_deg[lag], entering = block_deg[lag + kBlockFull];
                        sliding += entering * entering - leaving * leaving;
                    }
                }
                c.ref_energy += energy(block_ref.data(), kBlockFull);
            }
        }
        window_curve = halves[0];
        window_curve.add(halves[1]);
        double value = 0.0;
        const std::size_t at = window_curve.peak(value);
        w.fine_confidence = std::min(value, 1.0);
        w.delay_samples = centre - kFineRadius + std::int64_t(at);
        w.fractional_delay_samples = double(w.delay_samples);
        // A peak on the edge of the search means the delay is elsewhere.
        bool stable = at > 0 && at + 1 < kFineLags;
        if (stable)
            w.fractional_delay_samples +=
                parabolic_offset(window_curve.at(at - 1), value, window_curve.at(at + 1));
        w.verdict = stable ? WindowVerdict::Found : WindowVerdict::Unstable;
    }

    // 5 ms RMS envelope of x (4 kHz) every 0.5 ms, centred on each 2 kHz sample.
    void rms_envelope(const float* x, std::size_t n, float* out, std::size_t m) {
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
    void fine_envelope(AlignmentWindow& w, std::size_t n_low, std::size_t region) {
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
            const double r = var > 0.0 ? double(real[j]) / double(fft_size) / std::sqrt(ref_var * var) : 0.0;
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

    // Pearson correlation of 5 ms low-band amplitude envelopes over +-max_delay.
    // Envelopes survive a slow time stretch that defeats waveform correlation.
    void envelope_search(AlignmentWindow& w, std::size_t frames, std::size_t region) {
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

    // ---- delay map -----------------------------------------------------

    void record(const AlignmentWindow& w, double ref_energy, double deg_energy) {
        windows.push_back(w);
        window_ref_energy.push_back(ref_energy);
        window_deg_energy.push_back(deg_energy);
        window_env_ref_energy.push_back(pending_env_ref);
        window_env_deg_energy.push_back(pending_env_deg);
        pending_env_ref = pending_env_deg = 0.0;
        const std::size_t index = windows.size() - 1;
        if (!segments.empty()) segments.back().ref_end_sample = w.ref_end_sample;
        if (w.stretch_percent != 0.0 && drift == DriftCause::None) set_drift(DriftCause::Stretch, index, index);
        const bool has_delay = w.verdict == WindowVerdict::Found || w.verdict == WindowVerdict::Unstable ||
                               w.verdict == WindowVerdict::EnvelopeOnly;
        if (!has_delay || drift != DriftCause::None) {
            if (has_delay) last_delay_window = index;
            return;
        }
        const bool drifting = w.verdict != WindowVerdict::Found;
        if (drifting && last_delay_window != SIZE_MAX) {
            const AlignmentWindow& previous = windows[last_delay_window];
            const bool previous_drifting = previous.verdict != WindowVerdict::Found;
            const double step_s = double(std::llabs(w.delay_samples - previous.delay_samples)) / kRateHz;
            if (previous_drifting && step_s <= kDriftMaxStep_s) set_drift(DriftCause::UnstableWindows, last_delay_window, index);
        }
        last_delay_window = index;
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
                                      (windows[small_step_window].delay_samples > s.delay_samples) ==
                                          (w.delay_samples > s.delay_samples);
                if (confirms)
                    set_drift(DriftCause::CreepingDelay, s.last_window, index);
                else
                    small_step_window = index;
            } else if (s.windows == 1 && s.entered_by_step) {
                set_drift(DriftCause::DelayKeepsChanging, s.last_window, index);
            } else {
                const std::int64_t split = locate_step(s, w);
                const std::int64_t guard =
                    std::llround(kGuard_s * kRateHz) + std::llabs(w.delay_samples - s.delay_samples);
                s.ref_end_sample = std::max(s.ref_begin_sample, split - guard);
                open_segment(split + guard, w, index, true);
            }
        }
    }

    void open_segment(std::int64_t begin, const AlignmentWindow& w, std::size_t index, bool by_step) {
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

    void add_to_segment(Segment& s, const AlignmentWindow& w, std::size_t index) {
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
        s.ref_energy += window_ref_energy[index];
        s.deg_energy += window_deg_energy[index];
        s.last_window = index;
        s.ref_end_sample = w.ref_end_sample;
    }

    void set_drift(DriftCause cause, std::size_t a, std::size_t b) {
        drift = cause;
        drift_window_a = a;
        drift_window_b = b;
    }

    // Where between segment `s` (its last found window) and window `w` the delay
    // changed: the 5 ms point that best splits the low band into "explained by
    // the old delay" before and "by the new delay" after.
    std::int64_t locate_step(const Segment& s, const AlignmentWindow& w) {
        const std::int64_t earliest = (next_window - kHistoryWindows) * window;
        const std::int64_t begin = std::max(windows[s.last_window].ref_begin_sample, earliest);
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

    // ---- decisions -----------------------------------------------------

    Decision decide_windows() const {
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
        for (const AlignmentWindow& w : windows) {
            if (w.verdict == WindowVerdict::NoSpeech) continue;
            ++d.speech_windows;
            d.speech_seen_s += w.speech_s;
            if (w.verdict == WindowVerdict::DegradedSilent) continue;
            ++d.audible_windows;
            d.best_confidence = std::max(d.best_confidence, w.confidence);
            if (w.verdict == WindowVerdict::Found || w.verdict == WindowVerdict::Unstable) ++d.correlating_windows;
            if (w.verdict == WindowVerdict::EnvelopeOnly) ++d.envelope_windows;
        }
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
    Decision decide() const {
        Decision d = decide_windows();
        d.waveform_status = d.status;
        if (!finished) return d;
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
            if (!overrule) return d;
        }
        return e;
    }

    // Step 7: one delay explains most windows and does not creep.
    bool constant_delay(Decision& d) const {
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

    // Step 8: the summed envelope curve has one clear peak most windows share.
    bool envelope_consensus(Decision& d) const {
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

    std::string describe_drift() const {
        char text[400];
        const AlignmentWindow& a = windows[drift_window_a];
        const AlignmentWindow& b = windows[drift_window_b];
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
    AlignmentResult rescued_result(AlignmentResult& r, const Decision& d) const {
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

    AlignmentResult result() const {
        AlignmentResult r;
        const Decision d = decide();
        r.status = d.status;
        r.windows = windows;
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

        const std::int64_t ref_length = ref_full.total();
        const std::int64_t deg_length = deg_full.total();
        double ref_energy = 0.0, deg_energy = 0.0;
        for (std::size_t i = 0; i < segments.size(); ++i) {
            const Segment& s = segments[i];
            DelaySegment out;
            out.ref_begin_sample = i == 0 ? 0 : s.ref_begin_sample;
            out.ref_end_sample = i + 1 == segments.size() && finished ? ref_length : s.ref_end_sample;
            // Only where the degraded counterpart exists.
            out.ref_begin_sample = std::max(out.ref_begin_sample, -s.delay_samples);
            out.ref_end_sample = std::min(out.ref_end_sample, deg_length - s.delay_samples);
            out.ref_end_sample = std::max(out.ref_end_sample, out.ref_begin_sample);
            out.delay_samples = s.delay_samples;
            out.confidence = s.confidence_sum / s.windows;
            out.gain_db = s.ref_energy > 0.0 ? to_db(s.deg_energy / s.ref_energy) : 0.0;
            out.windows = s.windows;
            out.speech_s = s.speech_s;
            r.segments.push_back(out);
            ref_energy += s.ref_energy;
            deg_energy += s.deg_energy;
        }
        const Segment& main = segments[d.dominant];
        r.delay_samples = main.delay_samples;
        r.delay_ms = 1000.0 * double(main.delay_samples) / kRateHz;
        r.fractional_delay_samples = main.fractional_delay_samples;
        r.gain_db = ref_energy > 0.0 ? to_db(deg_energy / ref_energy) : 0.0;
        r.confidence = r.segments[d.dominant].confidence;
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
};

Aligner::Aligner(const AlignerConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Aligner::~Aligner() = default;
Aligner::Aligner(Aligner&&) noexcept = default;
Aligner& Aligner::operator=(Aligner&&) noexcept = default;

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
    return impl_->finished ? impl_->ref_full.total() : impl_->last_found_begin;
}

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
