// The sibilance analyzer: find the sibilants of a reference recording, compare
// each with its counterpart in a processed (degraded) version, and say which
// were lisped, smeared or dropped, by how much and why.
//
// Pipeline (named stages, one kernel for batch and streaming):
//   align (delay, gain, delay map) -> STFT (FFTW, 48 kHz) -> detect sibilants
//   on the reference -> per-event comparison -> scores and flags -> summary.
//
// All times are seconds in the reference's timeline. Scores are 0..100 with
// 0 meaning transparent. Definitions (details and reasons in
// lib/src/dsp/sibilant_compare.hpp/.cpp):
//  - lisp = the largest of three parts, each 0 up to the smallest audible
//    change: weak (2.5-20 kHz energy lost, 1 dB -> 0, 20 dB -> 100: as weak
//    as a /th/), top (the loudness of the top half of the sibilant's own
//    spectrum lost against the rest, beyond 1 dB; 100 = none left) and place
//    (its loudness centre falling on the ERB scale, 0.1 Cam -> 0, the /s/ ->
//    /sh/ distance of 4.05 Cams -> 100);
//  - smearing = the largest of: 1 - log-spectrum shape correlation, high-band
//    flatness increase / 0.4, tonal gain / 6 dB, pre-echo, onset steepness
//    lost; all measured only in 4 kHz .. min(16 kHz, what the degraded
//    carries), so band-limiting counts as lisp, never as smearing;
//  - dropout: the sibilant gone (-20 dB), holed (>= ~20 ms down 20 dB) or
//    replaced (-10 dB while 0.3-2.5 kHz rose 10 dB) in the band the channel
//    carries.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace sibilant {

/// Version of the scoring rules. Bumped whenever scores change on purpose; the
/// golden table in tests/ records it.
inline constexpr int kScoringVersion = 2;

/// How a full-reference analysis aligns the degraded with the reference.
enum class AlignmentMode {
    /// On the whole of both signals (delay map with steps; the default).
    WholeFile,
    /// As a live probe must: the first delay and gain the streaming aligner
    /// settles on, locked from then on (sibilant::Probe; equal results).
    Incremental,
};

struct AnalyzeOptions {
    /// An event is flagged when its lisp or smearing score reaches these, or
    /// when it is a dropout. Range 0..100.
    double lisp_flag_threshold = 50.0;
    double smearing_flag_threshold = 50.0;
    /// Reads only this channel of multi-channel files (0-based); -1 mixes down.
    int channel = -1;
    AlignmentMode alignment = AlignmentMode::WholeFile;
};

/// Measured features of one sibilant, in the reference and in the degraded.
struct SibilantMeasures {
    /// Band levels in dB (re full scale) over 2-4, 4-8, 8-12, 12-16, 16-20 kHz.
    double band_db[5] = {0, 0, 0, 0, 0};
    double cog_hz = 0;            ///< Centre of gravity (1-20 kHz, power-weighted, Praat's definition) of the 40 ms middle.
    double event_cog_hz = 0;      ///< The same over the whole event (mean of its STFT frames).
    double spread_hz = 0;         ///< Standard deviation about the centre of gravity.
    double skewness = 0;
    double kurtosis = 0;          ///< Excess kurtosis (0 for a Gaussian).
    double peak_hz = 0;           ///< Spectral peak in 2-12 kHz.
    double peak_prominence_db = 0;
    double flatness = 0;          ///< 0 (tonal/compact) .. 1 (white), 1-8 kHz (the detector's).
    /// Flatness over the band both signals carry (4 kHz .. min(16 kHz, the
    /// event's bandwidth)); NaN when that band is under 1.5 kHz wide.
    double high_flatness = 0;
    /// Peakiness of the 4-12 kHz fine structure (dB): about 2.5 for noise,
    /// more when harmonics/tones stand out. NaN when the band is missing.
    double tonality_db = 0;
    double onset_slope_db_per_ms = 0;   ///< Shared-band rise at the onset (NaN: no shared band).
    double offset_slope_db_per_ms = 0;  ///< Shared-band fall at the offset.
    double duration_s = 0;        ///< Frames within 10 dB of the event's shared-band peak (reported, not scored).
};

struct SibilantEventResult {
    double start_s = 0;
    double end_s = 0;
    std::string cls;              ///< "s" (/s z/-like) or "sh" (/sh zh/-like).
    double lisp = 0;              ///< 0..100
    double smearing = 0;          ///< 0..100
    bool dropout = false;
    bool flagged = false;
    std::string why;              ///< One sentence with the numbers behind the scores.
    SibilantMeasures reference;
    std::optional<SibilantMeasures> degraded;  ///< Absent in no-reference mode.
    /// Comparison figures (reference mode only).
    double high_band_loss_db = 0;       ///< 2.5-20 kHz energy lost (positive = lost).
    double shape_correlation = 1;       ///< Log-spectrum correlation in the shared band (NaN: band < 1.5 kHz).
    double pre_echo_db = 0;             ///< Degraded over reference energy in the 30 ms before the onset (NaN: no shared band).
    double tonal_gain_db = 0;           ///< Harmonic/tonal structure added in the noise band.
    /// False when the event falls in the guard zone around a delay step, where
    /// the degraded has no reliable counterpart: not scored, not in the indices.
    bool compared = true;
    /// Reference mode: the delay (ms) at which this event was compared, its
    /// delay-map segment's (after drift compensation, if any).
    double delay_ms = 0;
    double bandwidth_hz = 0;            ///< Highest frequency the degraded carries in this event.
    double pre_echo_added_db = -99;     ///< Energy the degraded added before the onset beyond twice the reference's there, re the event's level (-99: none).
    double carried_loss_db = 0;         ///< Loss in 2.5 kHz .. max(4 kHz, channel bandwidth) (dropout input).
    double low_band_change_db = 0;      ///< 0.3-2.5 kHz level change, degraded minus reference.
    double gap_s = 0;                   ///< Longest run of frames with that band down >= 20 dB (dropout input).
    /// Loudness (power^0.23 per auditory band, 2.5-20 kHz) of the top half,
    /// above the reference's loudness centre, lost against the lower half,
    /// as an equivalent level change in dB (positive = the top faded).
    double top_loss_db = 0;
    double centre_drop_cams = 0;        ///< Fall of that loudness centre, in Cams (ERB-number; positive = lower).
    /// Score parts, each 0..100 (the scores are their maxima; see the why).
    /// lisp_energy: the 2.5-20 kHz energy lost; lisp_top: the top half's
    /// loudness lost against the rest; lisp_cog: the loudness centre's fall.
    double lisp_energy = 0, lisp_top = 0, lisp_cog = 0;
    double smear_shape = 0, smear_flatness = 0, smear_tonal = 0, smear_pre_echo = 0, smear_onset = 0;
};

/// lisp_index and smearing_index are the duration-weighted means of the
/// compared events' scores. The verdict names each harm that at least 10% of
/// the compared events are flagged for ("lisp", "smearing"; dropouts not
/// counted there), plus "dropouts" if any, "+"-joined in that order; else
/// "clean"; "no-sibilants" when the reference has none (no scores made up);
/// "not-compared" when no event had an aligned counterpart.
struct AnalysisSummary {
    int sibilants = 0;
    int flagged = 0;
    int compared = 0;            ///< Events with an aligned counterpart (the indices are over these).
    int lisp_flagged = 0;        ///< Events with lisp >= the threshold.
    int smearing_flagged = 0;
    double lisp_index = 0;       ///< 0..100: how much of the sibilance was harmed by lisp, and how badly.
    double smearing_index = 0;   ///< 0..100: the same for smearing.
    int dropouts = 0;
    std::string verdict;         ///< "clean", "lisp", "smearing", "dropouts", or e.g. "lisp+smearing"; "no-sibilants".
};

/// One point of the delay track: the delay measured around reference time
/// time_s (on 0.2 s of speech, every 0.1 s where it correlates).
struct DelayTrackPoint {
    double time_s = 0;
    double delay_ms = 0;
    double confidence = 0;       ///< Normalised waveform correlation, 0..1.
};

struct AlignmentReport {
    double delay_ms = 0;         ///< Positive: the degraded lags the reference. The dominant segment's.
    double gain_db = 0;          ///< Degraded level relative to the reference.
    double confidence = 0;       ///< Normalised correlation, 0..1.
    int segments = 1;            ///< >1 when the delay stepped (jitter buffer); see delay map.
    std::string method = "waveform";  ///< "waveform", or "envelope" when only the envelopes correlate (vocoders).
    std::string warning;         ///< Non-empty: aligned despite a doubt, which it names.
    /// Clock drift of the degraded, ppm: positive when it is longer than the
    /// reference (its clock ran slow). NaN when it cannot be measured (no
    /// waveform correlation, as through a vocoder; under 2 s tracked; a delay
    /// that moves but not in a straight line, as a time-stretch does).
    double drift_ppm = 0;
    /// The degraded was resampled to undo the drift before it was analysed.
    bool drift_compensated = false;
    /// The delay varies over time (time-stretch, inserted or removed
    /// audio): the delay map follows the track, and each event is compared
    /// at the delay measured around it (SibilantEventResult::delay_ms).
    bool time_varying = false;
    std::vector<DelayTrackPoint> delay_track;
    /// Incremental alignment: the start of the reference left unanalysed
    /// because the aligner needed longer than the probe's 8 s store to
    /// settle (with a warning); 0 otherwise.
    double skipped_s = 0;
};

struct AnalysisResult {
    std::string mode;            ///< "full-reference" or "no-reference".
    std::string reference;       ///< Path (empty in no-reference mode).
    std::string degraded;
    AlignmentReport alignment;
    /// Highest frequency where the degraded's long-term spectrum is no more
    /// than 20 dB below the reference's (which must itself have energy
    /// there), in a run of three 94 Hz bins; capped by the reference's own
    /// band and 20 kHz.
    double degraded_bandwidth_hz = 0;
    AnalysisSummary summary;
    std::vector<SibilantEventResult> events;
    int scoring_version = kScoringVersion;
};

/// Full-reference analysis of two mono 48 kHz signals (any length, delay up to
/// +-1 s, any gain). Throws Error when a sample is no audio (NaN, infinity,
/// or +-2^20 and beyond, +120 dBFS), naming the signal and the sample, and
/// when alignment fails (different content, too short, a silent degraded,
/// drift that cannot be followed), with the aligner's reason; a reference without speech or without sibilants gives
/// verdict "no-sibilants" and no scores.
AnalysisResult analyze(std::span<const float> reference_48k, std::span<const float> degraded_48k,
                       const AnalyzeOptions& options = {});

/// Reads both files (any format, rate and channel count; resampled to 48 kHz)
/// and analyses them. Errors name the file and the cause.
AnalysisResult analyze_files(const std::string& reference_path, const std::string& degraded_path,
                             const AnalyzeOptions& options = {});

/// No-reference (blind) analysis of one mono 48 kHz signal: finds the
/// sibilant-like events in it and judges each against what sibilants in clean
/// speech look like (norms and definitions in lib/src/dsp/blind_judge.hpp),
/// plus the signal's own effective bandwidth. mode is "no-reference",
/// reference is empty, each event's measures are in `degraded`, and the
/// comparison figures (losses, shape correlation, pre-echo) are not set.
/// Throws Error for invalid options and, as analyze(), for samples that are
/// no audio.
AnalysisResult analyze_no_reference(std::span<const float> degraded_48k, const AnalyzeOptions& options = {});

/// Reads the file (any format, rate and channel count; resampled to 48 kHz)
/// and analyses it without a reference, block by block. Errors name the file.
AnalysisResult analyze_file_no_reference(const std::string& degraded_path, const AnalyzeOptions& options = {});

/// Receives each event as the analysis finds it, in time order.
using EventSink = std::function<void(const SibilantEventResult& event)>;

/// analyze_files() with each event handed to `on_event` as it is found
/// instead of kept: the result's `events` stay empty, so that memory does
/// not grow with the length of the pair (an hour of speech holds about 9000
/// events of about 1 KB each). What `sibilant analyze` runs, with an
/// AnalysisWriter as the sink. Errors as analyze_files(); an exception thrown
/// by `on_event` ends the analysis and is passed on.
AnalysisResult analyze_files(const std::string& reference_path, const std::string& degraded_path,
                             const AnalyzeOptions& options, const EventSink& on_event);

/// analyze_file_no_reference() with the events handed to `on_event`.
AnalysisResult analyze_file_no_reference(const std::string& degraded_path, const AnalyzeOptions& options,
                                         const EventSink& on_event);

/// One JSON object (the output contract of `sibilant analyze --json`).
std::string to_json(const AnalysisResult& result, bool pretty = true);
/// One event as compact JSON, exactly as it appears in to_json()'s "events"
/// (`no_reference`: the result's mode is "no-reference"). The live outputs
/// (`sibilant probe` --events and /events) add their stream fields to it.
std::string event_to_json(const SibilantEventResult& event, bool no_reference);
/// CSV with a header row and one row per event.
std::string to_csv(const AnalysisResult& result);
/// Human-readable summary: the figures and the worst events with their why.
std::string to_text(const AnalysisResult& result, int max_events = 5);

/// Writes the outputs of one analysis while its events arrive (as the sink
/// of the EventSink overloads), exactly as to_json() plus a newline, to_csv()
/// and to_text() write the whole result, without holding the events: CSV
/// rows are written as they come, the text keeps the worst max_events, and
/// the JSON's events wait in an unlinked temporary file until the summary
/// that precedes them is known. Memory is a few KB whatever the length.
class AnalysisWriter {
public:
    struct Outputs {
        std::ostream* json = nullptr;  ///< Pretty JSON and a newline, written by finish().
        std::ostream* csv = nullptr;   ///< Header at construction, a row per add().
        std::ostream* text = nullptr;  ///< The summary text, written by finish().
        int max_events = 5;            ///< Worst events in the text (0: none).
        /// Folder of the temporary file (empty: std::filesystem::temp_directory_path(),
        /// which honours TMPDIR). About 2 KB per event.
        std::string spool_folder;
    };
    /// `reference`, `degraded` and `no_reference` as the result will have
    /// them (every CSV row names both files). Throws Error when the
    /// temporary file cannot be created, naming its folder and the cause.
    AnalysisWriter(const Outputs& outputs, std::string reference, std::string degraded, bool no_reference);
    ~AnalysisWriter();
    AnalysisWriter(const AnalysisWriter&) = delete;
    AnalysisWriter& operator=(const AnalysisWriter&) = delete;

    /// One event, in time order. Throws Error when the temporary file cannot be written (disk full).
    void add(const SibilantEventResult& event);
    /// Writes the JSON and the text: `result` is what the analysis returned
    /// (its `events`, if any, are not used; the ones added are).
    void finish(const AnalysisResult& result);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sibilant
