// No-reference (blind) judgement of sibilants (internal, issue #4): when only
// the processed signal exists, each sibilant-like event found in it is
// measured on that signal alone (SibilantMeasures, as in the full-reference
// comparison) and judged against what sibilants look like in CLEAN speech.
//
// Norms (SibilantNorms, clean_speech_norms()): per class ("s" = /s z/-like,
// "sh" = /sh zh/-like) the mean and standard deviation of the measures the
// judgement uses, taken from the reference measures of the full-reference
// analyzer run on clean recordings against themselves (eval/blind_norms.cpp,
// `sibilant_eval_blind norms`), plus the clean files' own bandwidth. The
// shipped constants come from the 20 fullband originals of ../shared/corpus
// (Hi-Fi TTS and VCTK, CC BY 4.0); never from degraded files, and not from
// espeak-ng test data (synthetic, band-limited to 11 kHz). Checked against
// Jongman, Wayland & Wong (2000): see the .cpp.
//
// Scores (0 = like clean speech, 100 = complete damage; each part linear
// between its anchors, a score is the largest of its parts; the .cpp gives
// the reason for every anchor):
//  - lisp = max(lisp_energy, lisp_cog)
//    lisp_energy = max of
//      (a) measured: how far the event's 8-20 kHz level re 2-8 kHz lies
//          below the clean class's range (mean - 2 sd): 0 there, 100 at
//          20 dB further down;
//      (b) channel: the loss of the class's 2-20 kHz energy that the
//          signal's bandwidth implies for a clean sibilant of that class
//          (the norms' band shares): 0 at 0 dB, 100 at 20 dB, the same
//          scale as the full-reference energy loss;
//    lisp_cog: the centre of gravity's fall below the clean class's range
//      (mean - 2 sd), relative to it: 100 at a further /s/ -> /sh/ step
//      (31%, Jongman et al.'s 4.2 / 6.1 kHz).
//  - smearing = smear_tonal, modest on purpose: one signal cannot show a
//    lost shape, only an unusual one. smear_tonal: tonality of the 4-12 kHz
//    fine structure above the clean range (mean + 2 sd): 0 there, 100 at the
//    clean mean + 6 dB (harmonics folded into the noise band). Flatness is
//    measured but not scored (clean sibilants reach 0.7-0.8, next to white
//    noise's 0.85; see the .cpp); shape, pre-echo and onset need the
//    reference. smear_flatness, smear_shape, smear_pre_echo, smear_onset = 0.
//  - dropout: false (cannot be known without the reference).
//
// Blind summary (summarise_blind()): dsp::summarise() of the events, then
// one rule the reference mode does not need: when the signal's own
// bandwidth is below where clean /s/ keeps its centre of gravity (the norms'
// /s/ cog mean - 2 sd, about 5 kHz), no /s/ can survive the channel, so the
// talker lisps whatever the detector found (it finds few or no sibilants in
// narrowband speech): verdict "lisp", lisp_index 100.
#pragma once

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "sibilant/analyze.hpp"

namespace sibilant::dsp {

/// Mean and (population) standard deviation of one measure over clean events.
struct MeasureNorm {
    double mean = 0;
    double sd = 0;
};

/// Norms of one sibilant class, over its events in clean speech.
struct ClassNorms {
    int events = 0;
    /// SibilantMeasures::cog_hz: Praat centre of gravity over 1-20 kHz of the
    /// event's centred 40 ms.
    MeasureNorm cog_hz;
    /// The same cut's Praat centre of gravity over 0-11 kHz: Jongman et al.'s
    /// range (22 kHz sampling), for the check against their values only.
    MeasureNorm cog_11k_hz;
    /// Level of 8-20 kHz re 2-8 kHz (dB) of the event's mean spectrum
    /// (high_re_mid_db()).
    MeasureNorm high_re_mid_db;
    /// SibilantMeasures::peak_hz (2-12 kHz; reported, not scored).
    MeasureNorm peak_hz;
    /// SibilantMeasures::tonality_db (4-12 kHz fine structure; noise ~2.5 dB).
    MeasureNorm tonality_db;
    /// SibilantMeasures::high_flatness over 4-16 kHz (reported, not scored).
    MeasureNorm high_flatness;
    /// Mean share of the event's 2-20 kHz energy in each band of
    /// SibilantMeasures::band_db (2-4, 4-8, 8-12, 12-16, 16-20 kHz); sums to 1.
    std::array<double, 5> band_share{};
};

struct SibilantNorms {
    ClassNorms s;   ///< /s z/-like events
    ClassNorms sh;  ///< /sh zh/-like events
    int files = 0;
    /// own_bandwidth_hz() of the clean files (mean, sd; min).
    MeasureNorm bandwidth_hz;
    double min_bandwidth_hz = 0;
};

/// The shipped norms: the 20 originals of ../shared/corpus (see the .cpp).
const SibilantNorms& clean_speech_norms() noexcept;
/// norms.sh for cls == "sh", else norms.s.
const ClassNorms& class_norms(const SibilantNorms& norms, std::string_view cls) noexcept;

/// Level of 8-20 kHz re 2-8 kHz (dB) from SibilantMeasures::band_db.
double high_re_mid_db(const SibilantMeasures& m) noexcept;

/// Below this bandwidth no /s/ survives (the /s/ cog's clean mean - 2 sd).
double no_sibilant_bandwidth_hz(const SibilantNorms& norms) noexcept;

/// Loss (dB, >= 0) of a clean sibilant's 2-20 kHz energy, for the class's
/// mean band shares, in a channel that carries nothing above bandwidth_hz
/// (bands cut part-way count in proportion). 0 at 20 kHz and above.
double expected_class_loss_db(const ClassNorms& norms, double bandwidth_hz) noexcept;

/// Collects clean events and file bandwidths into norms (the eval tool's
/// job; also used by the tests).
class NormsBuilder {
public:
    /// One clean event's measures; cog_11k_hz may be NaN (then not counted).
    void add_event(std::string_view cls, const SibilantMeasures& m, double cog_11k_hz);
    void add_file_bandwidth(double bandwidth_hz);
    SibilantNorms build() const;

private:
    struct Sample {
        SibilantMeasures m;
        double cog_11k_hz;
    };
    std::vector<Sample> s_, sh_;
    std::vector<double> bandwidths_;
};

/// Effective bandwidth (Hz) of one signal from its long-term power spectrum
/// (sums or means of STFT power; bin k at k * bin_hz), with no reference:
/// the highest frequency up to 20 kHz at which the spectrum is still within
/// 60 dB of its 0.5-3 kHz level and, if the spectrum falls off a cliff
/// (20 dB below that point everywhere from 1 kHz higher up), the -10 dB point
/// of that cliff re the 1.5 kHz below it. 20 kHz when the signal still has
/// energy there with no cliff above; 0 for a silent or empty spectrum.
/// No allocation. Constants and reasons in the .cpp.
double own_bandwidth_hz(std::span<const double> long_term_power, double bin_hz) noexcept;

/// Scores and explains one event from its measures on the signal alone
/// (*r.degraded; r.reference is not used). Fills lisp, smearing, their parts,
/// dropout (false), flagged, bandwidth_hz and why. No allocation as long as
/// r.why has room for the sentence (about 400 bytes; the caller reserves it):
/// the why is built in a fixed buffer and assigned once.
/// With write_why false the why is left as it is (a live probe writes it
/// when the event is taken, by calling this again: the same figures).
void score_event_blind(SibilantEventResult& r, const SibilantNorms& norms, double signal_bandwidth_hz,
                       double lisp_flag_threshold, double smearing_flag_threshold, bool write_why = true) noexcept;

/// Applies the blind summary rule (see the file comment) to a summary made
/// by dsp::summarise() / SummaryAccumulator from blind events. speech_present:
/// the signal holds speech at all (without it: "no-sibilants", no scores).
/// Edits the verdict in place (no allocation within dsp::kVerdictCapacity).
void apply_blind_summary_rule(AnalysisSummary& summary, double signal_bandwidth_hz, bool speech_present,
                              const SibilantNorms& norms = clean_speech_norms());

/// dsp::summarise() of blind events followed by apply_blind_summary_rule().
AnalysisSummary summarise_blind(std::span<const SibilantEventResult> events, double signal_bandwidth_hz,
                                bool speech_present, const AnalyzeOptions& options,
                                const SibilantNorms& norms = clean_speech_norms());

}  // namespace sibilant::dsp
