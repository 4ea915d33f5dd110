// The aligner's stages share this (internal; the interface is dsp/alignment.hpp,
// whose header comment describes the algorithm step by step).
//
// Here: the constants of every step, the small numeric helpers, the stream
// buffers (StreamSamples, the 4 kHz LowBandDecimator), the records the stages
// pass on (FineCurve, Segment, Rescue, Decision) and Aligner::Impl, the state
// of one alignment. Impl's member functions are defined in the stage files
// beside this header, each named for what it does:
//   aligner.cpp            streaming orchestration: rings, push/end/finish, the public API
//   coarse_search.cpp      one window: low band, speech activity, coarse search (steps 1-2)
//   fine_refinement.cpp    full-rate refinement and gain (steps 3-4)
//   drift_signs.cpp        per-window drift signs: stretch test, unstable halves, envelope only (step 6)
//   delay_map.cpp          segments, steps and locating a step (step 5)
//   envelope_fallback.cpp  the envelope curve per window and its whole-file consensus (step 8)
//   confidence.cpp         the whole-file decision: constant delay (step 7), confidence, reasons, warnings
#pragma once

#include "dsp/alignment.hpp"
#include "dsp/fftw_planner.hpp"
#include "dsp/sample_ring.hpp"

#include <fftw3.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sibilant::dsp {

// Named, not anonymous: Aligner::Impl (external linkage) holds these types in
// every stage file.
namespace alignment {

inline constexpr int kRateHz = 48000;
inline constexpr int kDecimation = 12;            // 48 kHz -> 4 kHz low band
inline constexpr int kLowRateHz = kRateHz / kDecimation;
inline constexpr int kFirTaps = 48;
inline constexpr double kFirCutoffHz = 1500.0;
inline constexpr int kFrameLow = 20;              // 5 ms frames at 4 kHz
inline constexpr int kFrameFull = kFrameLow * kDecimation;
inline constexpr int kBlockFrames = 4;            // fine-search blocks of 20 ms
inline constexpr int kBlockFull = kBlockFrames * kFrameFull;
inline constexpr int kBlocksPerHalf = 8;
inline constexpr double kFineBlockRangeDb = 20.0;
inline constexpr int kFineRadius = 24;            // full-rate samples searched either side
inline constexpr int kFineLags = 2 * kFineRadius + 1;
// Delays within 0.25 ms are one delay: per-window estimates on a 6 kbps
// narrowband codec scatter by a few samples, while jitter buffers step by
// whole packets or pitch periods (>= 2.5 ms).
inline constexpr std::int64_t kSameDelay = 12;
inline constexpr std::int64_t kMinStep = 48;      // a smaller change is a creeping delay (clock skew)
inline constexpr double kActivityRangeDb = 40.0;
inline constexpr double kActivityFloorMeanSquare = 1e-7;  // -70 dBFS
inline constexpr double kSilenceMeanSquare = 1e-10;       // -100 dBFS
// A lag where the degraded (its energy, or its envelope's variance) is 60 dB
// under the reference's is absent and scores 0, as in the delay track: the
// correlations there come from float FFTs, whose rounding (about 1e-7 of the
// whole search range's scale) divided by a near-zero energy made Pearson
// values of 12 and more past the degraded's end (a last, short window).
inline constexpr double kAbsentRatio = 1e-6;
inline constexpr double kMinWindowSpeech_s = 0.2;
inline constexpr double kMinLastWindow_s = 0.25;
inline constexpr int kHistoryWindows = 3;         // low-band history kept for locating steps
// Drift inside a window: its two halves, correlated on their own within
// +-kHalfSearch_s of the window's delay, peak confidently kHalfStep_s or more
// apart, and each prefers its own delay by kHalfPreference in all.
inline constexpr double kHalfSearch_s = 0.05;
inline constexpr double kHalfStep_s = 0.001;
inline constexpr double kHalfPreference = 0.1;
// ... where each half has kMinWindowSpeech_s of loud speech (within
// kFineBlockRangeDb of the window's loudest frame) and a peak of at least
// kHalfMinConfidence (scaled up like a short window's for halves under 1 s).
inline constexpr double kHalfMinConfidence = 0.5;
// Stretch test, on windows whose peak is below kStretchTestBelow: the
// reference window, time-stretched by each of kStretchRates, correlated over
// +-max_delay at 2 kHz. Drift when a stretched copy peaks at kStretchMinConfidence
// or more (scaled like a short window's) and beats the unstretched one by
// kStretchGain: a constant delay never correlates better stretched.
inline constexpr double kStretchTestBelow = 0.75;
inline constexpr double kStretchTryAbove = 0.2;   // ... and at or above this, or where envelopes match
inline constexpr std::array<double, 16> kStretchRates = {-0.02, -0.015, -0.01, -0.007, -0.005, -0.003, -0.002,
                                                         -0.001, 0.001, 0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02};
inline constexpr double kStretchMinConfidence = 0.5;
inline constexpr double kStretchGain = 0.15;
// Unrelated speech reaches 0.7 on a full window (more on short ones); a
// stretched copy of the same speech 0.92-0.99.
inline constexpr double kEnvelopeMinConfidence = 0.8;
inline constexpr double kEnvelopeMinWindow_s = 1.0;
// Chance correlation peaks grow as 1/sqrt(length): windows shorter than this
// need min_confidence * sqrt(kShortWindow_s / length).
inline constexpr double kShortWindow_s = 1.0;
inline constexpr double kDriftMaxStep_s = 0.05;   // delays of drifting windows this close are related
inline constexpr double kMinCorrelatingFraction = 0.5;
inline constexpr double kGuard_s = 0.010;
// Whole-file constant delay (header, step 7).
inline constexpr int kConstantMinWindows = 3;
inline constexpr double kConstantMinShare = 2.0 / 3.0;
inline constexpr double kConstantMaxSlopeMs = 0.5;  // fitted change over the file
// Envelope fallback (header, step 8). The fine envelope runs at 2 kHz (0.5 ms).
inline constexpr double kEnvelopeConsensusMin = 0.6;
inline constexpr double kEnvelopeAgree_s = 0.005;
inline constexpr double kEnvelopeMinAgreeShare = 0.5;
inline constexpr double kEnvelopeStrong = 0.8;    // consensus that overrules a weak waveform result ...
inline constexpr double kWeakWaveform = 0.6;      // ... of lower confidence ...
inline constexpr double kEnvelopeDisagree_s = 0.0025;  // ... this far away
inline constexpr double kEnvelopeSingle = 0.85;   // a file of one speech window
inline constexpr int kEnvelopeMaxStretched = 2;   // windows preferring a stretched copy
inline constexpr double kEnvelopeMaxStretchedShare = 0.25;
// Fitted change of the agreeing windows' delays over the file: Codec2's
// per-window envelope peaks scatter by +-3 ms, a 0.1% stretch over 10 s moves 10 ms.
inline constexpr double kEnvelopeMaxTrend_s = 0.006;
// An envelope delay is good to a few ms, not to the sample (Codec2 on the
// corpus: 0.1-7 ms from the click-train delay): its confidence is capped here.
inline constexpr double kEnvelopeConfidenceScale = 0.5;
inline constexpr std::int64_t kMargin = 4096;
inline constexpr std::size_t kReservedWindows = 1800;  // one hour of 2 s windows
inline constexpr std::size_t kReservedSegments = 256;

// a[i] = conj(a[i]) * b[i]: the cross-spectrum whose inverse transform is the
// cross-correlation of the two signals.
inline void multiply_by_conjugate(fftwf_complex* a, const fftwf_complex* b, std::size_t bins) noexcept {
    for (std::size_t i = 0; i < bins; ++i) {
        const float re = a[i][0] * b[i][0] + a[i][1] * b[i][1];
        const float im = a[i][0] * b[i][1] - a[i][1] * b[i][0];
        a[i][0] = re;
        a[i][1] = im;
    }
}

using ConstVec = Eigen::Map<const Eigen::VectorXf>;

inline double dot(const float* a, const float* b, std::size_t n) {
    return double(ConstVec(a, Eigen::Index(n)).dot(ConstVec(b, Eigen::Index(n))));
}
inline double energy(const float* a, std::size_t n) { return double(ConstVec(a, Eigen::Index(n)).squaredNorm()); }

inline void remove_mean(float* x, std::size_t n) {
    if (n == 0) return;
    const float mean = static_cast<float>(double(ConstVec(x, Eigen::Index(n)).sum()) / double(n));
    for (std::size_t i = 0; i < n; ++i) x[i] -= mean;
}

inline double to_db(double ratio) { return 10.0 * std::log10(std::max(ratio, 1e-30)); }

// Offset of the vertex of a parabola through (-1, a), (0, b), (1, c), in [-0.5, 0.5].
inline double parabolic_offset(double a, double b, double c) {
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

// A stream's samples as the stages read them, by their index in the stream:
// the newest capacity() of them, held in one of three places:
//  - a ring of its own (reset(); a dsp::SampleRing);
//  - the caller's whole signal (attach(); batch: write() only counts, read()
//    reads it in place, which saves copying every sample);
//  - a ring the caller pushes every sample into before writing it here
//    (share(); the live probe's store of the stream, so that the same
//    seconds are not held twice).
// In every place read() gives what a ring of its own would: the samples in
// [0, total()), zeros outside. The stages keep begin >= total() - capacity().
class StreamSamples {
public:
    void reset(std::size_t capacity) {
        own_.emplace(capacity);
        shared_ = nullptr;
        external_ = {};
        capacity_ = std::int64_t(capacity);
        total_ = 0;
    }
    void attach(std::span<const float> whole) {
        own_.reset();
        shared_ = nullptr;
        external_ = whole;
        capacity_ = std::int64_t(whole.size());
        total_ = 0;
    }
    // `ring` must hold at least capacity() samples more than it may run ahead
    // of what was written here; capacity() stays what the stages work to.
    void share(const SampleRing& ring) {
        own_.reset();
        shared_ = &ring;
        external_ = {};
        total_ = 0;
    }
    std::int64_t total() const { return total_; }
    std::int64_t capacity() const { return capacity_; }

    void write(const float* samples, std::size_t n) {
        if (own_) own_->push(std::span<const float>(samples, n));
        total_ += std::int64_t(n);
    }

    // Samples [begin, begin + n).
    void read(std::int64_t begin, float* out, std::size_t n) const {
        const std::int64_t end = begin + std::int64_t(n);
        const std::int64_t lo = std::clamp<std::int64_t>(0, begin, end), hi = std::clamp(total_, lo, end);
        std::fill(out, out + (lo - begin), 0.0f);
        if (external_.data())
            std::memcpy(out + (lo - begin), external_.data() + lo, std::size_t(hi - lo) * sizeof(float));
        else
            (own_ ? *own_ : *shared_).copy(lo, std::span<float>(out + (lo - begin), std::size_t(hi - lo)));
        std::fill(out + (hi - begin), out + n, 0.0f);
    }

private:
    std::optional<SampleRing> own_;
    const SampleRing* shared_ = nullptr;
    std::span<const float> external_;
    std::int64_t capacity_ = 0;
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
    LowBandDecimator();
    void push(const float* in, std::size_t n, StreamSamples& out);

private:
    float group(const float* x);
    void emit(float y, std::size_t& produced, StreamSamples& out);

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
    std::int64_t last_window_begin = 0, last_window_end = 0;  // ... its reference span
    std::int64_t last_window_delay = 0;                       // ... and its own delay
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
    // The envelope consensus where it did not replace a waveform result (for its doubts).
    bool envelope_seen = false;
    double envelope_delay_samples = 0.0;
    double envelope_mean = 0.0;
};

// A weak waveform result's doubts (confidence.cpp, weak_waveform_doubt()).
struct WaveformDoubt {
    int agreeing = 0;      // windows with a waveform delay at one of the segments' delays
    int disagreeing = 0;   // ... at none of them (outliers, an unconfirmed last step)
    std::size_t first_disagreeing = SIZE_MAX;
    bool envelope_apart = false;  // the envelope consensus lies elsewhere
};

}  // namespace alignment

using namespace alignment;  // the stage files use these unqualified, as Impl does

struct Aligner::Impl {
    AlignerConfig config;
    // Sizes. Full rate unless named _low (4 kHz) or _frames (5 ms).
    std::int64_t window = 0;
    std::int64_t window_low = 0;
    std::int64_t max_delay_low = 0;
    std::int64_t max_delay = 0;
    std::int64_t max_delay_frames = 0;
    std::size_t fft_size = 0;

    StreamSamples ref_full, deg_full, ref_low, deg_low;
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

    // The windows (and their energies) recorded so far, or with
    // config.kept_windows the last that many, window i at i % kept_windows.
    std::vector<AlignmentWindow> windows;
    std::vector<double> window_ref_energy, window_deg_energy;
    std::size_t recorded = 0;                   // windows recorded
    // Running counts over every window, for decide_windows().
    int speech_windows = 0, audible_windows = 0, correlating_windows = 0, envelope_windows = 0;
    double best_confidence = 0.0, speech_seen_s = 0.0;
    // Of windows that may have left the list: the last with a delay, the
    // unconfirmed small step's delay, and the two a drift verdict names.
    WindowVerdict last_delay_verdict = WindowVerdict::NoSpeech;
    std::int64_t last_delay_samples = 0, last_delay_begin = 0;
    std::int64_t small_step_delay = 0;
    AlignmentWindow drift_a, drift_b;
    std::vector<Segment> segments;
    std::size_t last_delay_window = SIZE_MAX;   // last window with a delay estimate
    std::size_t small_step_window = SIZE_MAX;   // a window off the open segment by < kMinStep, unconfirmed
    std::int64_t last_found_begin = 0;
    std::int64_t final_until = 0;               // see update_final_until()

    DriftCause drift = DriftCause::None;

    // ---- set-up and feeding (aligner.cpp) --------------------------------
    explicit Impl(const AlignerConfig& c);
    std::int64_t needed_ref_full() const;
    std::int64_t needed_deg_full() const;
    std::int64_t needed_low() const;
    void push(bool is_reference, std::span<const float> samples);
    bool window_ready(std::int64_t k) const;
    void process_ready();
    void end_stream(bool is_reference);

    // ---- one window (coarse_search.cpp) ----------------------------------
    void process_window(std::int64_t k);

    // ---- fine refinement and gain (fine_refinement.cpp) ------------------
    void refine(AlignmentWindow& w, std::int64_t length, std::size_t best, std::int64_t coarse);
    void window_gain(AlignmentWindow& w, std::int64_t begin_low, std::size_t frames, std::size_t region,
                     double threshold, double& ref_sum, double& deg_sum) const;
    void fine_search(AlignmentWindow& w, std::int64_t centre, std::size_t blocks);

    // ---- drift signs in one window (drift_signs.cpp) ---------------------
    double stretch_test(std::size_t n_half, std::size_t region_half, double plain_value, double short_scale);
    bool halves_disagree(std::size_t n_half, std::size_t lag_2k, std::size_t frames, double loudest_frame);
    void envelope_search(AlignmentWindow& w, std::size_t frames, std::size_t region);

    // ---- envelope fallback (envelope_fallback.cpp) -----------------------
    void rms_envelope(const float* x, std::size_t n, float* out, std::size_t m);
    void fine_envelope(AlignmentWindow& w, std::size_t n_low, std::size_t region);
    bool envelope_consensus(Decision& d) const;

    // ---- delay map (delay_map.cpp) ---------------------------------------
    void record(const AlignmentWindow& w, double ref_energy, double deg_energy);
    void open_segment(std::int64_t begin, const AlignmentWindow& w, std::size_t index, bool by_step);
    void add_to_segment(Segment& s, const AlignmentWindow& w, std::size_t index);
    void set_drift(DriftCause cause, const AlignmentWindow& a, const AlignmentWindow& b);
    static AlignmentWindow last_of(const Segment& s);
    // Every window is still in the list (and in order): the whole file can be judged.
    bool all_windows_kept() const { return config.kept_windows == 0 || recorded <= std::size_t(config.kept_windows); }
    std::int64_t locate_step(const Segment& s, const AlignmentWindow& w);
    void drop_unconfirmed_last_step();
    void update_final_until();
    DelaySegment delay_segment(std::size_t index) const;

    // ---- decisions (confidence.cpp) --------------------------------------
    Decision decide_windows() const;
    Decision decide() const;
    bool constant_delay(Decision& d) const;
    bool weak_waveform_doubt(const Decision& d, WaveformDoubt& doubt) const;
    std::string describe_drift() const;
    AlignmentResult rescued_result(AlignmentResult& r, const Decision& d) const;
    AlignmentResult result() const;
};

}  // namespace sibilant::dsp
