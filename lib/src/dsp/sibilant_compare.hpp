// Per-event comparison of a sibilant in the reference and in the degraded
// (time-aligned, gain removed), and the scores made of it (internal, issue #3
// steps 4-6). DSP only: spans of float at 48 kHz in, structs out.
//
// Streaming shape: SibilantComparer is fed one pair of STFT power spectra per
// frame (reference and aligned degraded, same frame index, dsp/stft.hpp
// layout) and keeps the last history_s of them in a ring, plus the long-term
// spectra of both. When the detector reports an event (at most its lookahead
// + gap + a hop after the event's end), compare() measures it from the frames
// in the ring and from the event's centred 40 ms middle segment (time
// samples, which the caller cuts: the batch driver from the whole signals, a
// live driver from a short sample ring). push() allocates nothing.
//
// What is measured, per event, reference (R) and degraded (D):
//  - mean power spectrum of the event's frames -> band levels 2-4, 4-8, 8-12,
//    12-16, 16-20 kHz; peak (2-12 kHz, ~470 Hz smoothing), its prominence,
//    the 1-8 kHz flatness and the 1-20 kHz centre of gravity, with the
//    detector's own FeatureExtractor so that they mean what they mean there;
//  - Praat's moments (centre of gravity, sd, skewness, kurtosis) over
//    1-20 kHz of the centred 40 ms middle (Praat's unwindowed spectrum: the
//    definition eval/praat_cog_check.sh checks against Praat itself);
//  - the loss of the 2.5-20 kHz energy (the sibilant's own noise band; an
//    energy sum, so it is the loss where this sibilant has its energy);
//  - its loudness pattern over the same band: power^0.23 (specific
//    loudness, Zwicker & Fastl) in bands one Cam (ERB) wide; the pattern's
//    centre in Cams, and what the top half above the reference's centre lost
//    against the lower half (dB of an equivalent level change). Loudness,
//    not energy, because a top 13 dB under the peak holds 5% of the energy
//    but about half of the loudness there, and is heard missing;
//  - the event's bandwidth: see carried_bandwidth_hz();
//  - the shared band, 4 kHz .. min(16 kHz, event bandwidth): every smearing
//    measure is taken there only, and is undefined (scores 0) when it is
//    under 1.5 kHz wide. What D no longer carries is lisp, not smearing;
//  - shape: per frame, the Pearson correlation of the R and D log power
//    spectra over the shared band, averaged over the event's frames;
//  - high-band flatness (geometric over arithmetic mean of ~375 Hz bands of
//    the mean spectrum) over the shared band;
//  - tonal content: peakiness of the fine structure (power over its 470 Hz
//    moving average) of the 40 ms middle over 4 kHz .. min(12 kHz, event
//    bandwidth): 10*log10(arithmetic / geometric mean). Any noise gives about
//    2.5 dB (a periodogram bin scatters like an exponential variable); lines
//    (harmonics folded up from a voiced low band) give more. D minus R;
//  - timing, on the per-frame level of the shared band: onset and offset
//    slope (steepest 5 ms step within +-10 ms of the edge, dB/ms), pre-echo
//    (energy in the 30 ms before the onset: D over R, and what D added beyond
//    twice R's there, relative to the event's own level), duration (frames
//    within 10 dB of the event's peak, contiguous around it; reported only);
//  - dropout inputs, over 2.5 kHz .. max(4 kHz, channel bandwidth so far):
//    the event's loss, the longest run of frames down by 20 dB, and the
//    0.3-2.5 kHz level change.
//
// Scores (0 = transparent, 100 = complete; each part linear between those
// anchors, a score is the largest of its parts; the .cpp says why each
// anchor is where it is):
//  - lisp = max(weak: (loss_db - 1) / 19 (1 dB: the level JND; 20 dB: as
//    weak as /th/), top: 1 - the top half's loudness left against the
//    rest's after forgiving 1 dB, place: (centre drop - 0.1 Cam) / (4.05 -
//    0.1) (0.1 Cam: a tone's frequency JND at 4-8 kHz; 4.05 Cams: /s/ ->
//    /sh/, Jongman et al. 2000)), so 0 means no audible change;
//  - smearing = max(1 - shape correlation, flatness increase / 0.4, tonal
//    gain / 6 dB, (pre-echo added re the event + 20 dB) / 20 dB, share of the
//    onset's slope lost (onsets >= 1 dB/ms));
//  - dropout: loss >= 20 dB, or a >= 10 ms run of frames down by 20 dB, or
//    loss >= 10 dB with 0.3-2.5 kHz up by 10 dB (all in the carried band).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dsp/sibilant_detector.hpp"
#include "dsp/spectrum_ring.hpp"
#include "dsp/stft.hpp"
#include "sibilant/analyze.hpp"

namespace sibilant::dsp {

/// Longest why sentence, bytes (longer ones are cut off): what a live probe
/// reserves per event so that judging one allocates nothing.
inline constexpr std::size_t kWhyCapacity = 640;

/// Frames either side of an event that compare() reads (the timing measures,
/// 50 ms at the 5 ms hop; the pre-echo's 30 ms lie within them).
inline constexpr int kContextFrames = 10;

/// What an event's why sentence is written from besides the result itself.
/// A live probe keeps this with each queued event and writes the sentence
/// only when the event is taken (write_why()), so that queued events hold no
/// text (issue #11).
struct WhyInputs {
    enum class Kind {
        Written,      ///< r.why is already written
        Compared,     ///< SibilantComparer::compare()
        Blind,        ///< score_event_blind() (dsp/blind_judge.hpp)
        NotCompared,  ///< "/s/ not compared: " + reason
    };
    Kind kind = Kind::Written;
    double channel_top_hz = 0.0;  ///< Compared: top of the band the dropout test looked at, Hz
    double above_loss_db = 0.0;   ///< Compared: loss above the event's bandwidth, dB
    const char* reason = nullptr; ///< NotCompared: a static text
    double lisp_flag_threshold = 50.0;
    double smearing_flag_threshold = 50.0;
};

/// Writes the why of an event compare() scored with `deferred` (inputs.kind
/// Compared): the sentence it would have written then. No allocation when
/// r.why has kWhyCapacity reserved. (The kernel writes the other kinds.)
void write_compared_why(SibilantEventResult& r, const WhyInputs& inputs) noexcept;

/// Band edges of SibilantMeasures::band_db, Hz.
inline constexpr std::array<double, 6> kCompareBandEdgesHz = {2000, 4000, 8000, 12000, 16000, 20000};

struct ComparerConfig {
    StftConfig stft{};
    /// Frames kept for events reported late, s [0.25, 60]. The detector
    /// reports an event up to lookahead (0.10 s) + gap + hop after its end,
    /// and events last at most 0.5 s; 2 s leaves room for the 50 ms looked
    /// at around an event. A kernel keeps exactly what its detector needs
    /// (SibilantDetector::history_frames() + kContextFrames).
    double history_s = 2.0;
    /// Centred cut for the moments and the tonal measure (40 ms: Jongman et
    /// al.'s window, the cut eval/praat_cog_check.sh checks, 2048-point FFT).
    double middle_s = 0.040;
    double lisp_flag_threshold = 50.0;
    double smearing_flag_threshold = 50.0;
    /// No reference: push() gets the same spectrum twice; it is kept once.
    bool one_signal = false;
};

/// Samples [first, first + count) of the event's centred middle cut, clamped
/// into a signal of `signal_samples` samples (count 0 if it does not fit).
struct SampleRange {
    std::int64_t first = 0;
    std::int64_t count = 0;
};
SampleRange middle_segment(const SibilantEvent& event, const ComparerConfig& config, std::int64_t signal_samples);

/// The highest frequency (Hz) up to which `degraded` still carries the
/// reference's energy: the upper edge of the highest run of three bins in
/// 1-20 kHz where the degraded is no more than 20 dB (1%) below the
/// reference and the reference itself has energy (within 60 dB of its
/// strongest bin in 1-20 kHz, so a reference's own band limit caps it). 0
/// when there is none. -20 dB: a band kept at 1% of its energy is lost for
/// listening next to the rest of a sibilant, while a codec's coarse band
/// energies, lowered high-band gain (-1 to -3 dB) or noise fill stay far
/// above it. A run of three (~280 Hz) so that a stray bin above a cut-off
/// does not count. Works on any pair of power spectra with the same
/// layout: long-term sums for the file, event means for an event.
double carried_bandwidth_hz(std::span<const double> reference_power, std::span<const double> degraded_power,
                            double bin_hz);

class SibilantComparer {
public:
    /// Throws Error for an invalid config.
    explicit SibilantComparer(const ComparerConfig& config = {});
    ~SibilantComparer();
    SibilantComparer(SibilantComparer&&) noexcept;
    SibilantComparer& operator=(SibilantComparer&&) noexcept;

    /// One frame of each signal (same index, bins() values each), in order.
    /// No allocation.
    void push(std::span<const float> reference_power, std::span<const float> degraded_power) noexcept;

    /// Measures, scores and explains one event whose frames are still in the
    /// history. The middle cuts are the samples middle_segment() names, of
    /// the reference and of the aligned degraded. Allocates (the why text).
    SibilantEventResult compare(const SibilantEvent& event, std::span<const float> reference_middle,
                                std::span<const float> degraded_middle);
    /// The same into `out`, reusing its why's buffer: allocates nothing when
    /// out.why has room for the sentence (a live probe reserves it). With
    /// `deferred`, the why is left empty and what write_why() needs for it
    /// goes there instead (no text, no allocation).
    void compare(const SibilantEvent& event, std::span<const float> reference_middle,
                 std::span<const float> degraded_middle, SibilantEventResult& out, WhyInputs* deferred = nullptr);

    /// Effective bandwidth of the degraded (carried_bandwidth_hz()) from the
    /// long-term spectra of all frames pushed so far. All frames, not only
    /// "active" ones: the sums are of energy, so speech dominates them and
    /// pauses add next to nothing.
    double bandwidth_hz() const noexcept;
    /// The long-term power spectra (sums over every frame pushed) of both
    /// signals, bins() values each (shorter spans get their first bins).
    void long_term_power(std::span<double> reference, std::span<double> degraded) const noexcept;
    std::int64_t frames() const noexcept;
    /// The reference's recent spectra (the last history_s): a detector fed
    /// the same frames reads them here instead of keeping a copy.
    const SpectrumRing& reference_history() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sibilant::dsp
