// Sibilant detection on a reference signal (internal, issue #3).
//
// Two layers, both fed one STFT frame at a time (dsp/stft.hpp: 512-point
// Hann, 5 ms hop at 48 kHz):
//
// 1. FeatureExtractor: per-frame spectral features of a power spectrum (one
//    pass of running sums, then band differences; no allocation).
//
// 2. SibilantDetector: frames in, events out.
//    - Level references, per recording and adaptive: leaky histograms (about
//      30 s of memory) of frame levels give the speech level (95th percentile
//      of the 0-20 kHz level: the loud vowels) and the noise floor of the
//      2.5-20 kHz band (10th percentile). Every level criterion is relative
//      to these two, so a quiet and a loud copy of a recording give the same
//      events (only digital silence sits at a fixed -150 dB floor).
//    - A frame is a sibilant frame when
//      (a) most of its energy above the voice bar is above 2.5 kHz, the
//          lower edge of the /sh/ peak (high_share >= 0.5);
//      (b) if it is voiced (more energy below 1 kHz than at 2.5-4.5 kHz), its
//          noise reaches above the /sh/ region: 4.5-20 kHz no more than
//          20 dB below 2.5-4.5 kHz. Sibilant noise is broadband (/sh/ about
//          0 dB, /s/ +5 to +25 dB, /z zh/ likewise over their voicing); the
//          upper formants of a front vowel with a first formant below the
//          300 Hz edge of (a), which can pass (a), fall off by 25-30 dB;
//      (c) its 1-8 kHz spectrum is not flat (flatness <= 0.75; white noise
//          is about 0.9): a flat noise is /f th/, breath or background;
//      (d) its 2.5-20 kHz level is within 30 dB of the speech level:
//          sibilants are the loudest high-frequency sounds of speech (here
//          -8 to -25 dB), and a noise 30 dB below that is no sibilant;
//      (e) that level is at least 10 dB above the 2.5-20 kHz noise floor.
//    - Sibilant frames are joined into events across gaps of up to 10 ms.
//      Events shorter than 50 ms are dropped: stop releases (burst and
//      frication) last up to about 40 ms, sibilants 50-250 ms (espeak-ng's
//      /t/ bursts come out at 30-45 ms, its shortest /z/ at 50 ms). Events
//      longer than 0.5 s (twice a long sibilant) are steady noise.
//    - An event in which the centre of gravity steps from one class to the
//      other ("six scientists showed", "zoo's shy": one stretch of noise) is
//      split at the best change point when both parts last 70 ms or more.
//      Shorter parts are the onset or offset of a single sibilant, whose
//      centre of gravity drifts for up to about 50 ms while the tongue moves
//      into place (seen in the corpus); two sibilants in a row last about
//      80-100 ms each (espeak-ng, read speech).
//    - Class: /s z/ and /sh zh/ differ by where the noise sits, but where
//      that is depends on the speaker (female /s/ peaks 7-10 kHz, male 4-7;
//      /sh/ 2.5-4.5), so the class is decided relative to the speaker. The
//      1-11 kHz centres of gravity of the last 32 events are fitted with two
//      clusters a fixed ratio apart (/sh/ at 0.69 of /s/: 4.2 vs 6.1 kHz in
//      Jongman et al. 2000, 4.0 vs 5.8 kHz in espeak-ng), which gives the
//      speaker's /s/ reference; an event is "sh" when it is nearer the /sh/
//      cluster. A prior on the reference (6.1 kHz, Jongman's /s z/ mean)
//      settles a recording with one class only, and early events. One
//      absolute guard, from where /sh/ lives for every speaker (2.5-4.5 kHz):
//      an event whose 4.5-20 kHz noise is 6 dB or more above its 2.5-4.5 kHz
//      noise is not "sh" (/z/ and /s/ next to rounded vowels have a low
//      centre of gravity for their speaker but keep their noise high).
//    - Streaming: each frame is judged lookahead_s (100 ms) after it arrived,
//      with level references that already include those 100 ms, so that a
//      recording that starts with "She ..." is judged against what follows
//      it (the vowel, once the first sibilant frames have it within reach).
//      An event is reported as soon as its stretch of noise has ended (a
//      split event waits for its second part): at most lookahead_s +
//      max_gap_s + one hop after that end, 100 + 10 + 5 = 115 ms, inside the
//      150 ms a live probe (issue #4) has to report an event. No allocation per
//      frame; events wait in a fixed-capacity buffer until the caller takes
//      them. Results depend only on the sequence of frames, so batch and
//      streaming agree exactly, whatever the chunking of the audio.
//
// Band-limited recordings need no explicit bandwidth estimate: the frame
// criteria need nothing above 8 kHz, which any wideband or better signal
// has, and the class is decided on the 1-11 kHz centre of gravity
// (espeak-ng's speech stops at 11 kHz) relative to the speaker's other
// sibilants. The 1-20 kHz centre of gravity is reported for the codec
// analysis, not used for decisions.
//
// Known limits (espeak-ng test speech and the real corpus): affricates
// (/tS dZ/, "chose", and affricated /tr/) contain sibilant frication and are
// detected; /z zh/ whose frication is weak or shorter than 50 ms are missed;
// a front vowel with a very low first formant can still pass the frame
// criteria (it then lengthens the sibilant next to it); two sibilants of
// different class in a row, one shorter than 70 ms, come out as one event;
// white noise added at 20 dB SNR begins to blur the class and at 10 dB SNR
// makes every frame flat (no events). A recording whose only sibilants are
// a few low /s/ of a male voice (1-11 kHz centre of gravity under about
// 5 kHz) can have them called "sh": with no /sh/ to compare, the prior
// decides.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dsp/spectrum_ring.hpp"
#include "dsp/stft.hpp"

namespace sibilant::dsp {

/// Band edges of FrameFeatures::band_db, in Hz.
inline constexpr int kBandCount = 7;
inline constexpr std::array<double, kBandCount + 1> kBandEdgesHz = {0,     1000,  2500,  4500,
                                                                    8000,  12000, 16000, 20000};

/// Ranges of the derived features, in Hz (documented here, used everywhere).
inline constexpr double kHighLowHz = 2500.0;      ///< high band: 2.5-20 kHz
inline constexpr double kVoiceBarHz = 300.0;      ///< share denominator starts here
inline constexpr double kCogLowHz = 1000.0;       ///< centre of gravity over 1-20 kHz
inline constexpr double kClassCogHighHz = 11000.0; ///< and over 1-11 kHz
inline constexpr double kPeakLowHz = 2000.0;      ///< peak search over 2-12 kHz
inline constexpr double kPeakHighHz = 12000.0;
inline constexpr double kFlatLowHz = 1000.0;      ///< flatness over 1-8 kHz
inline constexpr double kFlatHighHz = 8000.0;
inline constexpr double kMidLowHz = 2500.0;       ///< upper_to_mid_db: 4.5-20 kHz over 2.5-4.5 kHz
inline constexpr double kUpperLowHz = 4500.0;
inline constexpr double kTopHz = 20000.0;         ///< nothing above is looked at

struct FrameFeatures {
    std::int64_t index = 0;   ///< STFT frame (set by the detector, not by FeatureExtractor)
    double centre_s = 0.0;    ///< its centre time
    /// 0-20 kHz level, dB re full-scale mean square (a full-scale sine is -3 dB).
    float total_db = 0;
    /// Band levels over kBandEdgesHz, same reference.
    std::array<float, kBandCount> band_db{};
    /// 2.5-20 kHz level.
    float high_db = 0;
    /// Energy 2.5-20 kHz over energy 0.3-20 kHz. The lower edge leaves out
    /// the voice bar (F0 below 300 Hz) that covers the noise of /z zh/, but
    /// keeps the first formant that dominates every vowel.
    float high_share = 0;
    /// Peak of the spectrum smoothed over about 470 Hz, searched in 2-12 kHz,
    /// and how far it stands above the mean of that range (dB).
    float peak_hz = 0;
    float peak_prominence_db = 0;
    /// Power-weighted mean frequency over 1-20 kHz. The lower edge keeps
    /// voicing and the first formant out; 20 kHz is the top of Opus fullband.
    float cog_hz = 0;
    /// The same over 1-11 kHz: the range of Jongman et al. (2000) and of any
    /// signal sampled at 22.05 kHz or more, so that the /s/-/sh/ decision,
    /// which uses it, does not depend on how much of 11-20 kHz a recording
    /// has (espeak-ng has nothing above 11 kHz).
    float cog_11k_hz = 0;
    /// Spectral flatness (geometric over arithmetic mean, 0..1) of about
    /// 375 Hz wide bands over 1-8 kHz: about 0.9 for white noise, mostly
    /// 0.05-0.6 for a sibilant, whose noise rises steeply from a weak 1-3 kHz.
    float flatness = 0;
    /// Level of 4.5-20 kHz minus level of 2.5-4.5 kHz (dB): how far the noise
    /// reaches above the /sh/ region. Sibilant noise is broadband (/sh/ about
    /// 0 dB, /s/ +5 to +25 dB); the upper formants of a front vowel fall
    /// steeply above 4 kHz (about -27 dB for espeak's /i:/).
    float upper_to_mid_db = 0;
};

/// Per-frame features from a power spectrum laid out as in dsp::Stft.
class FeatureExtractor {
public:
    FeatureExtractor(int bins, double bin_hz);
    /// `power` has bins() values. Uses internal scratch space: one extractor
    /// per thread.
    void compute(std::span<const float> power, FrameFeatures& out) noexcept;
    /// compute() in two steps: the levels (band_db, total_db, high_db,
    /// high_share, upper_to_mid_db), then the shape (cog_hz, cog_11k_hz,
    /// peak_hz, peak_prominence_db, flatness) of the spectrum last given to
    /// compute_levels(). The detector skips the second for frames whose
    /// levels already rule out a sibilant (most of them).
    void compute_levels(std::span<const float> power, FrameFeatures& out) noexcept;
    void compute_shape(FrameFeatures& out) noexcept;
    int bins() const noexcept { return bins_; }

private:
    struct Range {
        int first = 0, end = 0;  // bins [first, end)
    };
    Range range(double low_hz, double high_hz) const noexcept;

    int bins_;
    double bin_hz_;
    std::array<Range, kBandCount> bands_{};
    Range total_, high_, share_base_, cog_, cog_11k_, peak_, flat_, mid_, upper_;
    int smooth_half_bins_ = 2;  // peak smoothing: 2 * half + 1 bins
    int flat_group_bins_ = 4;   // flatness band width in bins
    std::vector<double> tail_power_;   // sum of power from bin k to 20 kHz
    std::vector<double> tail_moment_;  // same of k * power
};

struct DetectorConfig {
    /// Frame criteria (see the file comment).
    double min_high_share = 0.5;
    double min_upper_to_mid_db = -20.0;
    double max_flatness = 0.75;
    double min_level_re_speech_db = -30.0;
    double min_snr_db = 10.0;
    /// Event shape.
    double max_gap_s = 0.010;
    double min_event_s = 0.050;
    double max_event_s = 0.5;
    double min_split_part_s = 0.07;  ///< see "split" in the file comment
    /// How long a frame waits for later frames before it is judged.
    double lookahead_s = 0.10;
    /// Level statistics.
    double level_memory_s = 30.0;
    double speech_quantile = 0.95;
    double noise_quantile = 0.10;
    /// Classification, on the 1-11 kHz centre of gravity: prior /s/
    /// reference (Jongman et al.'s pooled /s z/ mean) and the /sh/-to-/s/
    /// ratio (their /sh zh/ mean over their /s z/ mean, 4.2 / 6.1 kHz).
    double s_cog_prior_hz = 6100.0;
    double sh_to_s_cog_ratio = 0.69;
    /// An event is never "sh" when its 4.5-20 kHz noise is this much
    /// stronger than its 2.5-4.5 kHz noise (dB; 6 dB = four times).
    double max_sh_upper_to_mid_db = 6.0;
    /// Completed events the detector holds until clear_events(); further
    /// ones are dropped and counted in dropped_events().
    int event_capacity = 256;
};

/// Throws sibilant::Error naming the first out-of-range setting.
void validate(const DetectorConfig& config);

struct SibilantEvent {
    enum class Class { S, Sh };
    double start_s = 0;  ///< first sibilant frame's centre - hop / 2
    double end_s = 0;    ///< last sibilant frame's centre + hop / 2
    Class cls = Class::S;
    int frames = 0;      ///< sibilant frames (gap frames not counted)
    /// Features of the event's mean power spectrum (its sibilant frames).
    float cog_hz = 0;      ///< 1-20 kHz
    float cog_11k_hz = 0;  ///< 1-11 kHz, the one the class is decided on
    float peak_hz = 0;
    float peak_prominence_db = 0;
    float flatness = 0;
    float high_share = 0;
    float upper_to_mid_db = 0;
    std::array<float, kBandCount> band_db{};
    float high_db = 0;              ///< 2.5-20 kHz level, dBFS
    float level_re_speech_db = 0;   ///< high_db minus the speech level then
    float s_reference_hz = 0;       ///< speaker's /s/ centre of gravity used to classify
};

const char* to_string(SibilantEvent::Class cls);

class SibilantDetector {
public:
    /// `stft` gives the frame layout (bins, bin width, hop). Throws Error.
    /// `shared_spectra`: a ring into which the caller pushes every frame
    /// before pushing it here (a kernel's comparer keeps one), so that the
    /// detector reads the frames of an event from it instead of keeping its
    /// own copies; it must hold history_frames(config, stft) frames and
    /// outlive the detector. Null: the detector keeps its own.
    SibilantDetector(const DetectorConfig& config, const StftConfig& stft = {},
                     const SpectrumRing* shared_spectra = nullptr);
    ~SibilantDetector();
    SibilantDetector(SibilantDetector&&) noexcept;
    SibilantDetector& operator=(SibilantDetector&&) noexcept;
    SibilantDetector(const SibilantDetector&) = delete;
    SibilantDetector& operator=(const SibilantDetector&) = delete;

    /// One frame, in order. No allocation.
    void push(const StftFrame& frame) noexcept;
    /// End of input: judges the frames still waiting and closes the last
    /// event. Afterwards the detector is ready for a new recording.
    void finish() noexcept;

    /// Events completed so far and not yet taken, oldest first.
    std::span<const SibilantEvent> events() const noexcept;
    /// Forgets the events returned by events().
    void clear_events() noexcept;
    std::int64_t dropped_events() const noexcept;

    /// Features of the most recently pushed frame (for inspection and tests).
    /// Its shape features (cog, peak, flatness) are 0 (flatness 1) when its
    /// high_share already rules out a sibilant: they are not worked out then.
    const FrameFeatures& last_features() const noexcept;
    /// Frames back from the newest that an event being emitted may reach
    /// (look-ahead + gap + longest event): what a shared ring must hold.
    static std::int64_t history_frames(const DetectorConfig& config, const StftConfig& stft = {});
    /// Current speech level and 2.5-20 kHz noise floor, dBFS.
    double speech_level_db() const noexcept;
    double high_floor_db() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Batch front end: STFT + detector over a whole mono 48 kHz signal.
std::vector<SibilantEvent> detect_sibilants(std::span<const float> x_48k, const DetectorConfig& config = {});

}  // namespace sibilant::dsp
