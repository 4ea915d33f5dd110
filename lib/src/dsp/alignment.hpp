// Time alignment of a degraded signal to its reference (analyzer issue #3).
//
// Input: two mono 48 kHz float streams, the reference and the degraded (codec
// output). They may differ in length, in a constant delay of up to
// max_delay_s either way, and in gain. Output: the delay and gain, or a clear
// failure; when a jitter buffer stepped the delay, a delay map of segments.
//
// Convention: degraded[n + delay_samples] ~ gain * reference[n]. Positive
// delay = the degraded lags the reference. gain_db = degraded level relative
// to the reference.
//
// Algorithm, per reference window of window_s (2 s), windows back to back:
//  1. Low band: both streams are low-passed (48-tap Blackman windowed sinc,
//     cutoff 1.5 kHz) and decimated by 12 to 4 kHz; DC is removed per window.
//     Every Opus mode (NB and up) keeps this band, so band-limiting does not
//     bias what follows. Speech activity: a 5 ms reference frame is speech when
//     within 40 dB of the window's loudest frame and above -70 dBFS; a window
//     with less than 0.2 s of speech is skipped.
//  2. Coarse: normalised cross-correlation of the reference window with the
//     degraded over +-max_delay_s, by FFT on 2 kHz pair sums, then directly at
//     4 kHz over +-3 lags around that peak (parabolic interpolation). The peak
//     is normalised by the window's energy and the degraded energy under it,
//     so lags where the degraded is absent score low; a lag where the
//     degraded's energy (or, for the envelopes, its envelope's variance) is
//     60 dB under the reference's scores 0 (float FFT rounding divided by a
//     near-zero energy made values far above 1 past the degraded's end). Its height is the
//     window's confidence; it must reach min_confidence (0.35), or
//     0.35 * sqrt(1 s / length) for a window shorter than 1 s. Unrelated
//     speech reaches about 0.27 on 2 s; Opus 6 kbps with 5% loss about 0.8.
//  3. Fine: full-rate cross-correlation over +-24 samples (0.5 ms) on the 16
//     20 ms blocks (8 from each half of the window) within 20 dB of the
//     window's loudest block that match best in the low band at the coarse
//     delay. Curves of windows that agree are summed per segment; the
//     segment's delay is the integer argmax of the sum (the parabolic fraction
//     is reported, not used). Through a codec whose filters are not linear
//     phase the "exact" delay is defined to about a sample: on the corpus
//     through Opus 6-64 kbps, 159 of 160 cases are within 1 sample of a
//     brute-force whole-file search below 3.4 kHz.
//  4. Gain: 10*log10(sum of degraded energy / sum of reference energy) over the
//     reference's speech frames, the degraded taken at the found delay, in the
//     4 kHz low band; summed over windows (per segment and overall), so loud
//     speech dominates and lost high bands do not count. Frames where the
//     degraded does not exist are left out.
//  5. Delay map: window delays within 0.25 ms (12 samples) of the open
//     segment's are the same delay (6 kbps estimates scatter by a few samples).
//     A change of 1 ms or more is a step (a jitter buffer inserted or dropped
//     audio): it is located at 5 ms resolution by which of the two delays
//     explains the low band better, and 10 ms + |step| either side of it is left
//     out of both segments (no reliable counterpart there).
//  6. Drift (time stretch, clock skew) is a failure of this constant-delay
//     Aligner, never aligned by it (align_recording() below then measures and
//     undoes a clock drift, or follows a time-varying delay along the delay
//     track; the live probe does not). Seen as:
//     - a window whose time-stretched copy (16 rates, +-0.1% to +-2%)
//       correlates >= 0.5 and 0.15 better than unstretched (tested on windows
//       peaking below 0.75 that share something: a peak >= 0.2 or matching
//       envelopes); a constant delay never correlates better stretched. This
//       also measures the rate ("time-stretched by about +0.5%");
//     - a window whose two halves, correlated on their own within +-50 ms,
//       each peak confidently (>= 0.5) at delays 1 ms or more apart
//       ("unstable"), twice in a row;
//     - a change of 0.25-1 ms confirmed by a second window (clock skew; a lone
//       such window is an outlier and left out of the segment);
//     - a one-window segment between two steps, or a step between two
//       one-window segments;
//     - consecutive windows whose waveforms do not correlate but whose 5 ms
//       low-band envelopes do (Pearson >= 0.8 on >= 1 s; unrelated speech
//       reaches 0.7) at delays within 50 ms of each other (stretch > 2%).
//     A stretch too small to move the delay 1 ms within the file (e.g. 0.1%
//     over 1 s) is not seen, and costs at most that much misalignment.
//  7. One constant delay, judged on the whole file once both streams have
//     ended (issue #10: Speex, Codec2). Per-window drift signs are local: a
//     CELP codec's window can peak a pitch period off, or its halves can
//     disagree, while the file has one delay. So when the above calls drift,
//     the windows' waveform delays are pooled: if 3 or more (and at least
//     2/3 of all windows with a delay) lie within 1 ms of one delay, and a
//     straight line through them moves less than 0.5 ms over the file (clock
//     skew would move it steadily), that delay is taken (the segment's
//     summed fine curve when one holds it), with a warning naming the
//     outlier windows.
//  8. Envelope fallback for vocoders (Codec2, LPCNet-like): their waveform
//     does not follow the input, but the low band's 5 ms RMS envelope does.
//     Every speech window's envelope (every 0.5 ms) is correlated over
//     +-max_delay (Pearson, by FFT) and the curves are summed over the file,
//     weighted by speech. When the waveform gives no alignment, or only a
//     weak one (confidence < 0.6) more than 2.5 ms from a strong envelope
//     consensus (mean >= 0.8), the delay is the summed curve's peak (0.5 ms
//     grid, parabolic in between) if its mean correlation reaches 0.6 and
//     at least half of the windows (by speech; at least two, or a file's
//     only speech window at 0.85) peak on their own within 5 ms of it.
//     A time stretch also keeps envelopes alike: two or more windows (or a
//     quarter) that prefer a stretched copy, or agreeing windows whose own
//     delays trend by 6 ms or more over the file, rule the fallback out.
//     The method is then "envelope", the confidence half that mean times
//     the agreeing share (at most 0.5: on the corpus through Codec2 the
//     delay lands 0.1-7 ms from the click-train delay), and a warning says
//     that the waveform did not correlate. Unrelated speech peaks at
//     different lags in each window, so its summed curve stays low and it is
//     still refused.
//  9. Doubt on a weak waveform result (once both streams have ended): a
//     delay whose segment's confidence is below 0.6 is doubtful when fewer
//     than two windows found it, when a window's waveform delay matches none
//     of the segments (chance peaks through a vocoder scatter; a real codec
//     delay is found again by every window), or when the envelope consensus
//     lies more than 2.5 ms away. It is kept, with its confidence capped at
//     0.5 and scaled by the share of windows that agree, and a warning
//     ("weak waveform correlation ... that the file does not confirm")
//     naming the doubt. A live probe's running result is not judged so.
//  Failures: reference or degraded shorter than min_duration_s (0.5 s);
//  reference without speech; degraded silent (< -100 dBFS) wherever the
//  reference speaks; fewer than half of the reference's speech windows (where
//  the degraded is not silent) with a correlation peak: no common content.
//
// Streaming: Aligner is fed both streams in chunks of any size and settles on
// a delay once a segment holds settle_speech_s of reference speech (usually
// its first window). align() is the same class fed in one go (reading the
// caller's buffers instead of copying them into its rings), so batch and
// streaming give identical results. What the live version can and cannot know:
//  - A window's delay is known only once the degraded has arrived up to
//    max_delay_s past that window's end: latency about window_s + max_delay_s.
//  - A step or drift is seen only after it happens: a step is confirmed by the
//    first window after it that correlates at the new delay (one that only
//    the file's last window shows is taken for an outlier window, not a step), and only then is
//    its change point located (retrospectively, up to one window back); a
//    creeping delay needs two windows. Delays of reference samples before
//    final_until_sample() will not change; later ones may still be split by a
//    step not yet confirmed. final_until_sample() allows for the guard zone
//    a later step leaves before its change point (up to 10 ms + max_delay_s +
//    the current delay) and stops at the last segment's start while only one
//    window shows its step (one the file's last window alone shows is dropped).
//  - A segment's delay and gain may be refined (by a sample, a few tenths of a
//    dB) as more of it arrives.
//  - "Too short", "reference silent" and a last partial window are known only
//    at the end; other failures are reported once two speech windows agree.
// Memory is bounded (rings sized at set-up: about window_s + 2 * max_delay_s +
// max_skew_s of full-rate audio per stream, plus 4 windows of 4 kHz history)
// whatever the stream length, but for the list of windows: with every window
// kept (the default) push(), end_*() and finish() allocate once it outgrows
// what was reserved (one hour of windows); with kept_windows set they never
// do (nor throw), but for the list of segments beyond 256 delay steps. The two streams must be pushed roughly in step: if one
// runs more than max_skew_s ahead of what the other allows to process, the
// aligner stops with status Overrun.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sibilant::dsp {

struct AlignerConfig {
    int sample_rate_hz = 48000;    ///< Only 48000 is supported.
    double max_delay_s = 1.0;      ///< Search range, either way. (0, 5].
    double window_s = 2.0;         ///< Tracking window. [1, 8].
    double min_confidence = 0.35;  ///< Coarse normalised correlation to accept a window. (0, 1).
    double settle_speech_s = 1.0;  ///< Reference speech a segment needs before the delay counts as settled.
    double min_duration_s = 0.5;   ///< Shorter reference or degraded: TooShort.
    double max_skew_s = 2.0;       ///< How far one pushed stream may run ahead of the other. [0, 60].
    /// Windows kept. 0: every one (batch; AlignmentResult::windows lists
    /// them, and the end judges the whole file: steps 7-9). N > 0, for a
    /// stream of any length: the last N, the decision from running counts
    /// (the same as from the list), nothing allocated after set-up; the
    /// whole file is judged at the end only while no window has left, and
    /// result().windows holds the last N. [0, 100000].
    int kept_windows = 0;
};

/// Throws Error naming the setting, the bad value and its allowed range.
void validate(const AlignerConfig& config);

enum class AlignmentStatus {
    Pending,           ///< Streaming: not enough speech seen yet.
    Aligned,           ///< One constant delay.
    AlignedPiecewise,  ///< Several segments, each with its own delay (steps).
    Drift,             ///< The delay moves continuously (time stretch, clock skew): not aligned.
    NoCommonContent,   ///< No correlation peak: the signals do not share content.
    ReferenceSilent,
    DegradedSilent,
    TooShort,
    Overrun,           ///< Streaming: one stream ran too far ahead of the other.
};
const char* to_string(AlignmentStatus status);

/// What one reference window showed.
enum class WindowVerdict {
    NoSpeech,        ///< The reference window has (almost) no speech.
    DegradedSilent,  ///< Reference speaks, degraded silent over the whole search range.
    NoPeak,          ///< No waveform correlation peak above min_confidence.
    EnvelopeOnly,    ///< No waveform peak, but the envelopes correlate: a sign of drift.
    Unstable,        ///< A peak, but the delay is not constant inside the window.
    Found,           ///< One delay for the whole window.
};
const char* to_string(WindowVerdict verdict);

struct AlignmentWindow {
    std::int64_t ref_begin_sample = 0;  ///< [begin, end) in reference samples.
    std::int64_t ref_end_sample = 0;
    WindowVerdict verdict = WindowVerdict::NoSpeech;
    double speech_s = 0.0;              ///< Reference speech in the window.
    double confidence = 0.0;            ///< Coarse (4 kHz) normalised correlation peak.
    double envelope_confidence = 0.0;   ///< Only computed when the waveform peak fails.
    double fine_confidence = 0.0;       ///< Full-rate normalised correlation at delay_samples.
    std::int64_t delay_samples = 0;     ///< Found / Unstable: fine; EnvelopeOnly: envelope (5 ms grid).
    double fractional_delay_samples = 0.0;  ///< Parabolic interpolation of the fine peak.
    double gain_db = 0.0;               ///< Found only.
    double stretch_percent = 0.0;       ///< Non-zero: the window correlates best time-stretched by this much.
    double envelope_curve_peak = 0.0;   ///< Peak of its fine (0.5 ms) envelope correlation.
    double envelope_delay_samples = 0.0;  ///< ... at this delay.
};

/// What the delay was found on.
enum class AlignmentMethod {
    Waveform,  ///< Cross-correlation of the low-band waveforms (normal).
    Envelope,  ///< Only the 5 ms low-band envelopes correlate (vocoders): coarser.
};
const char* to_string(AlignmentMethod method);

struct DelaySegment {
    std::int64_t ref_begin_sample = 0;  ///< [begin, end) in reference samples; only where the
    std::int64_t ref_end_sample = 0;    ///< degraded counterpart exists.
    std::int64_t delay_samples = 0;
    double confidence = 0.0;            ///< Mean coarse confidence of its windows.
    double gain_db = 0.0;
    int windows = 0;                    ///< Windows that found this delay.
    double speech_s = 0.0;              ///< Reference speech in those windows.
};

/// One point of the delay track (align_recording(), issue #10).
struct DelayTrackPoint {
    std::int64_t ref_sample = 0;  ///< Centre of the reference window it was measured on (48 kHz).
    double delay_samples = 0.0;   ///< degraded[n + delay] ~ reference[n] around it (48 kHz, fractional).
    double confidence = 0.0;      ///< Normalised waveform correlation at its peak, 0..1.
};

struct AlignmentResult {
    AlignmentStatus status = AlignmentStatus::Pending;
    std::string reason;                 ///< Always set; says why on failure.
    bool ok() const {
        return status == AlignmentStatus::Aligned || status == AlignmentStatus::AlignedPiecewise;
    }
    // The dominant segment (most reference speech); zeros unless ok().
    std::int64_t delay_samples = 0;
    double delay_ms = 0.0;              ///< delay_samples in ms (the integer delay used).
    double fractional_delay_samples = 0.0;
    double gain_db = 0.0;               ///< Over all segments.
    double confidence = 0.0;            ///< Mean coarse confidence of the dominant segment (0..1).
    AlignmentMethod method = AlignmentMethod::Waveform;
    std::string warning;                ///< Set when aligned despite doubts (outliers, envelope only).
    std::vector<DelaySegment> segments; ///< The delay map (empty unless ok()).
    std::vector<AlignmentWindow> windows;  ///< Diagnostics, one per reference window.

    // Set by align_recording() only (the whole-file stages of issue #10).
    /// Clock drift of the degraded against the reference, in parts per
    /// million: positive when the degraded is longer (degraded[n * (1 + ppm
    /// 1e-6) + delay] ~ reference[n]). NaN when it could not be measured (no
    /// waveform correlation: vocoders; or fewer than 2 s of tracked speech).
    double drift_ppm = 0.0;
    /// The degraded was resampled to undo the drift and every delay above
    /// refers to that compensated degraded: rewind an AlignmentSource with
    /// degraded_rate_scale to get it (1 + the drift measured before
    /// compensating; drift_ppm adds what remained after it).
    bool drift_compensated = false;
    double degraded_rate_scale = 1.0;
    /// The delay map is the delay track's (time-stretch, inserted or removed
    /// silence): contiguous segments, each at the delay measured around it.
    bool time_varying = false;
    std::vector<DelayTrackPoint> delay_track;  ///< Every 0.1 s of reference speech that correlates.
};

class SampleRing;  // dsp/sample_ring.hpp

class Aligner {
public:
    /// Throws Error for an invalid config (see validate()).
    explicit Aligner(const AlignerConfig& config = {});
    ~Aligner();
    Aligner(Aligner&&) noexcept;
    Aligner& operator=(Aligner&&) noexcept;

    /// For a caller that keeps the last seconds of both streams itself (the
    /// live probe's stores); before the first push. The caller pushes every
    /// sample into these rings before pushing it here, at most
    /// max_ahead_samples ahead of what it has pushed here. The aligner then
    /// reads its full-rate samples there instead of holding its own copy of
    /// each stream (about 6 s, 1.2 MB each); its results are the same. Throws
    /// Error when a ring holds fewer than full_rate_history_samples() +
    /// max_ahead_samples. The rings must outlive the aligner's last push.
    void share_full_rate(const SampleRing& reference, const SampleRing& degraded, std::int64_t max_ahead_samples);
    /// How many of each stream's newest 48 kHz samples the aligner reads back.
    std::int64_t full_rate_history_samples() const noexcept;

    /// Append samples (48 kHz mono) to either stream, in chunks of any size.
    void push_reference(std::span<const float> samples) noexcept;
    void push_degraded(std::span<const float> samples) noexcept;
    /// One stream has ended (the other may go on; windows then proceed without
    /// waiting for it). Further pushes to that stream are ignored.
    void end_reference() noexcept;
    void end_degraded() noexcept;
    /// Both streams have ended: processes what is left.
    void finish() noexcept;

    /// Cheap queries for a live probe.
    AlignmentStatus status() const noexcept;
    bool settled() const noexcept;
    std::int64_t current_delay_samples() const noexcept;  ///< Of the latest segment; 0 before any.
    double current_gain_db() const noexcept;
    double current_confidence() const noexcept;           ///< Of the latest segment (mean coarse).
    std::int64_t final_until_sample() const noexcept;     ///< See the header comment.
    /// Reference windows processed so far: the queries above and below change
    /// only when this does (a live probe asks status() only then).
    std::int64_t windows_processed() const noexcept;
    /// The delay map so far, without allocating: segments in reference order,
    /// as result() lists them while streaming (the last one still open). A
    /// segment's delay and gain may still be refined while it is open.
    std::size_t segment_count() const noexcept;
    DelaySegment segment(std::size_t index) const noexcept;

    /// Full result so far (allocates: the reason text and the lists).
    AlignmentResult result() const;

private:
    friend AlignmentResult align(std::span<const float>, std::span<const float>, const AlignerConfig&);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Batch: the same Aligner fed whole signals. Throws Error only for an invalid config.
AlignmentResult align(std::span<const float> reference, std::span<const float> degraded,
                      const AlignerConfig& config = {});

/// Both signals of a recording pair, read from the start as often as the
/// whole-file stages need (align_recording() reads them up to five times).
/// Implementations: two buffers (BufferSource), two files (pipeline/analyze).
/// next_*() return the next up to max_samples 48 kHz mono samples as a view
/// that stays valid until the next call for that stream (a buffer is not
/// copied); empty only at the end. They may throw (a file that fails).
class AlignmentSource {
public:
    virtual ~AlignmentSource() = default;
    /// Back to the start of both streams. The degraded is delivered as if its
    /// sample rate were degraded_rate_scale times its own (resampled to 48
    /// kHz from there): > 1 shortens it, which undoes a positive drift.
    virtual void rewind(double degraded_rate_scale) = 0;
    virtual std::span<const float> next_reference(std::size_t max_samples) = 0;
    virtual std::span<const float> next_degraded(std::size_t max_samples) = 0;
    /// Both whole signals as they stand after the last rewind, when the
    /// source holds them in memory (the Aligner then reads them in place, as
    /// align() does, instead of copying chunks into its rings); false else.
    virtual bool whole(std::span<const float>& reference, std::span<const float>& degraded) {
        (void)reference;
        (void)degraded;
        return false;
    }
};

/// The pair as two buffers (the caller's; they must outlive the source). A
/// rate scale other than 1 resamples the degraded (libsoxr) into a copy the
/// source keeps until the next scale.
class BufferSource final : public AlignmentSource {
public:
    BufferSource(std::span<const float> reference, std::span<const float> degraded);
    void rewind(double degraded_rate_scale) override;
    std::span<const float> next_reference(std::size_t max_samples) override;
    std::span<const float> next_degraded(std::size_t max_samples) override;
    bool whole(std::span<const float>& reference, std::span<const float>& degraded) override;

private:
    std::span<const float> reference_, degraded_, current_;
    std::vector<float> scaled_;
    double scaled_for_ = 0.0;
    std::size_t reference_pos_ = 0, degraded_pos_ = 0;
};

/// The whole-file aligner (issue #10), the one interface analysis calls:
///  1. the constant-delay Aligner above (steps, codecs, vocoders);
///  2. the delay track (dsp/alignment/delay_track.hpp), seeded by its windows;
///  3. the clock drift estimated from the track (dsp/alignment/drift_estimate.hpp);
///     when significant, the degraded is compensated (rewind with the
///     inverse ratio) and 1 and 2 run again on it;
///  4. when the Aligner failed with drift, or its delay map disagrees with the
///     track (by more than 2 ms on more than 15% of the track), the track's
///     own delay map replaces it (time_varying) with a warning, if the track
///     follows at least half of the reference's speech points smoothly (see
///     smooth_points() in dsp/alignment/delay_track.hpp: chance peaks through a
///     vocoder scatter) at a mean correlation of 0.7 or more (Opus 6 kbps:
///     0.86; Codec2: 0.64, whose delay is the envelope's), with at most a
///     quarter of its jumps reversing within 0.5 s (a jitter buffer moves one
///     way for a while; a vocoder's chance lags wander both ways).
/// Silence and too short stand as step 1 found them; "no common content" is
/// tracked from the windows that did find a delay (a strong stretch leaves a
/// 2 s window little to correlate), and stands unless the track passes the
/// tests of step 4 (unrelated audio gives no smooth, confident track). Throws what the source throws, and
/// Error for an invalid config.
AlignmentResult align_recording(AlignmentSource& source, const AlignerConfig& config = {});

/// The degraded mapped onto the reference's timeline: out[n] = degraded[n + delay(n)]
/// * 10^(-gain_db / 20) for n inside a segment, 0 outside every segment (and for a
/// failed result). out has reference_length samples.
std::vector<float> remove_delay_and_gain(std::span<const float> degraded, const AlignmentResult& result,
                                         std::size_t reference_length);

}  // namespace sibilant::dsp
