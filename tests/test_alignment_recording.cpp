// The whole-file aligner (dsp::align_recording, issue #10): clock drift
// measured and compensated, a delay that varies over time followed by the
// delay track, each sibilant compared at its own delay, refusals kept; the
// drift fit and the track on their own. On the project's own testdata (the
// six espeak-ng sentences, joined: 21 s), so it runs without ../shared.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "dsp/alignment.hpp"
#include "dsp/alignment/drift_estimate.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/opus_channel.hpp"
#include "sibilant/resampler.hpp"
#include "test_support.hpp"

namespace {

using sibilant::test::testdata_speech;

using sibilant::dsp::AlignmentResult;
using sibilant::dsp::BufferSource;
using sibilant::dsp::DelayTrackPoint;

constexpr int kRate = 48000;

// The six sentences with 0.3 s pauses between them: 21 s of speech.
const std::vector<float>& joined_testdata() {
    static const std::vector<float> joined = [] {
        std::vector<float> all;
        for (const char* name : {"demo.flac", "s_clusters.flac", "zh_medial.flac", "z_voiced.flac",
                                 "sh_positions.flac", "no_sibilants.flac"}) {
            const std::vector<float> x = testdata_speech(name);
            all.insert(all.end(), x.begin(), x.end());
            all.insert(all.end(), std::size_t(0.3 * kRate), 0.0f);
        }
        return all;
    }();
    return joined;
}

std::vector<float> opus(const std::vector<float>& x, int bitrate_bps) {
    sibilant::OpusSettings settings;
    settings.bitrate_bps = bitrate_bps;
    return sibilant::run_opus_channel(x, settings, sibilant::LossModelConfig{}, 11);
}

// A degraded whose clock ran slow by `ppm` (positive: it is longer), 12 ms late.
std::vector<float> drifted(const std::vector<float>& x, double ppm) {
    std::vector<float> y(std::size_t(0.012 * kRate), 0.0f);
    const std::vector<float> r = sibilant::resample(x, kRate, kRate * (1.0 + ppm * 1e-6));
    y.insert(y.end(), r.begin(), r.end());
    return y;
}

AlignmentResult align_pair(const std::vector<float>& reference, const std::vector<float>& degraded) {
    BufferSource source(reference, degraded);
    return sibilant::dsp::align_recording(source);
}

// Same events (by start), scores within `points`, same verdict.
void expect_close_events(const sibilant::AnalysisResult& base, const sibilant::AnalysisResult& other, double points,
                         const std::string& what) {
    EXPECT_EQ(base.summary.verdict, other.summary.verdict) << what;
    ASSERT_EQ(base.events.size(), other.events.size()) << what;
    for (std::size_t i = 0; i < base.events.size(); ++i) {
        const auto& a = base.events[i];
        const auto& b = other.events[i];
        EXPECT_NEAR(a.start_s, b.start_s, 0.011) << what << " event " << i;
        EXPECT_EQ(a.compared, b.compared) << what << " event " << i << " at " << a.start_s;
        EXPECT_NEAR(a.lisp, b.lisp, points) << what << " event " << i << " at " << a.start_s;
        EXPECT_NEAR(a.smearing, b.smearing, points) << what << " event " << i << " at " << a.start_s;
    }
}

TEST(RecordingAlignment, DriftIsMeasuredWithin10PpmAndCompensated) {
    const std::vector<float>& x = joined_testdata();
    const std::vector<float> coded = opus(x, 32000);
    for (double ppm : {50.0, -100.0, 100.0, -500.0, 500.0, -1000.0, 1000.0}) {
        const AlignmentResult r = align_pair(x, drifted(coded, ppm));
        ASSERT_TRUE(r.ok()) << ppm << " ppm: " << r.reason;
        EXPECT_TRUE(r.drift_compensated) << ppm << " ppm";
        EXPECT_NEAR(r.drift_ppm, ppm, 10.0) << ppm << " ppm";
        EXPECT_FALSE(r.time_varying) << ppm << " ppm: " << r.warning;
        EXPECT_EQ(r.segments.size(), 1u) << ppm << " ppm";
        EXPECT_NEAR(r.delay_ms, 12.0, 0.1) << ppm << " ppm";
    }
}

TEST(RecordingAlignment, NoDriftIsNotCompensated) {
    const std::vector<float>& x = joined_testdata();
    for (int bitrate : {12000, 64000}) {
        const AlignmentResult r = align_pair(x, drifted(opus(x, bitrate), 0.0));
        ASSERT_TRUE(r.ok()) << r.reason;
        EXPECT_FALSE(r.drift_compensated) << bitrate;
        EXPECT_FALSE(r.time_varying) << bitrate << ": " << r.warning;
        EXPECT_NEAR(r.drift_ppm, 0.0, 5.0) << bitrate;
        EXPECT_GT(r.delay_track.size(), 100u) << bitrate;
    }
}

// Compensated analysis gives the undrifted one's events, within 5 points.
TEST(RecordingAlignment, DriftedAnalysisMatchesTheUndrifted) {
    const std::vector<float>& x = joined_testdata();
    const std::vector<float> coded = opus(x, 64000);
    const sibilant::AnalysisResult base = sibilant::analyze(x, coded);
    ASSERT_GT(base.events.size(), 20u);
    for (double ppm : {-1000.0, 500.0}) {
        const sibilant::AnalysisResult r = sibilant::analyze(x, drifted(coded, ppm));
        EXPECT_TRUE(r.alignment.drift_compensated) << ppm;
        EXPECT_NEAR(r.alignment.drift_ppm, ppm, 10.0);
        expect_close_events(base, r, 5.0, std::to_string(ppm) + " ppm");
    }
}

// Silence inserted into and removed from pauses (a jitter buffer's expand
// and accelerate): the delay moves by 20-60 ms several times.
struct Edited {
    std::vector<float> degraded;
    std::vector<std::pair<double, double>> delay_from_s;  // (reference time, delay ms from then on)
};

Edited edit_pauses(const std::vector<float>& x) {
    // The joined file's pauses: 0.3 s of zeros after each sentence. Edit the
    // middle of the first five of them.
    std::vector<std::size_t> pause_middles;
    std::size_t run = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        run = x[i] == 0.0f ? run + 1 : 0;
        if (run == std::size_t(0.2 * kRate)) pause_middles.push_back(i - std::size_t(0.05 * kRate));
    }
    const double edits_ms[] = {40.0, -30.0, 60.0, -20.0, 25.0};
    Edited e;
    double delay_ms = 0.0;
    std::size_t from = 0;
    for (std::size_t k = 0; k < pause_middles.size() && k < 5; ++k) {
        const std::size_t at = pause_middles[k];
        e.degraded.insert(e.degraded.end(), x.begin() + std::ptrdiff_t(from), x.begin() + std::ptrdiff_t(at));
        const auto n = std::size_t(std::abs(edits_ms[k]) * kRate / 1000.0);
        if (edits_ms[k] > 0) {
            e.degraded.insert(e.degraded.end(), n, 0.0f);
            from = at;
        } else {
            from = at + n;
        }
        delay_ms += edits_ms[k];
        e.delay_from_s.push_back({double(at) / kRate, delay_ms});
    }
    e.degraded.insert(e.degraded.end(), x.begin() + std::ptrdiff_t(from), x.end());
    return e;
}

double true_delay_ms(const Edited& e, double t_s) {
    double d = 0.0;
    for (const auto& [from_s, delay] : e.delay_from_s)
        if (t_s >= from_s) d = delay;
    return d;
}

TEST(RecordingAlignment, InsertedAndRemovedSilenceIsFollowed) {
    const std::vector<float>& x = joined_testdata();
    const Edited e = edit_pauses(opus(x, 64000));
    ASSERT_EQ(e.delay_from_s.size(), 5u);
    const AlignmentResult r = align_pair(x, e.degraded);
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_TRUE(r.time_varying) << r.reason;
    EXPECT_FALSE(r.warning.empty());
    EXPECT_GE(r.segments.size(), 6u);
    ASSERT_GT(r.delay_track.size(), 100u);
    int off = 0;
    for (const auto& p : r.delay_track) {
        const double t = double(p.ref_sample) / kRate;
        if (std::abs(p.delay_samples * 1000.0 / kRate - true_delay_ms(e, t)) > 1.0) ++off;
    }
    EXPECT_EQ(off, 0) << "track points more than 1 ms off the truth";
    // Contiguous: the kernel sees no guard zones.
    for (std::size_t i = 0; i + 1 < r.segments.size(); ++i)
        EXPECT_EQ(r.segments[i].ref_end_sample, r.segments[i + 1].ref_begin_sample);
}

TEST(RecordingAlignment, EachSibilantIsComparedAtItsOwnDelay) {
    const std::vector<float>& x = joined_testdata();
    const std::vector<float> coded = opus(x, 64000);
    const Edited e = edit_pauses(coded);
    const sibilant::AnalysisResult base = sibilant::analyze(x, coded);
    const sibilant::AnalysisResult r = sibilant::analyze(x, e.degraded);
    EXPECT_TRUE(r.alignment.time_varying);
    EXPECT_GT(r.alignment.delay_track.size(), 100u);
    expect_close_events(base, r, 5.0, "edited pauses");
    for (const auto& event : r.events)
        EXPECT_NEAR(event.delay_ms, true_delay_ms(e, 0.5 * (event.start_s + event.end_s)), 0.5) << event.start_s;
}

TEST(RecordingAlignment, UnrelatedAndWrongFilesAreStillRefused) {
    const std::vector<float> a = testdata_speech("demo.flac"), b = testdata_speech("s_clusters.flac");
    const AlignmentResult other = align_pair(a, opus(b, 24000));
    EXPECT_FALSE(other.ok());
    EXPECT_FALSE(other.reason.empty());
    const std::vector<float> reversed(a.rbegin(), a.rend());
    const AlignmentResult back = align_pair(a, reversed);
    EXPECT_FALSE(back.ok());
    const std::vector<float> noise = sibilant::test::white_noise(5.0, kRate, 3, 0.1);
    EXPECT_FALSE(align_pair(a, noise).ok());
    sibilant::test::expect_error([&] { sibilant::analyze(a, reversed); }, {"cannot align"});
}

// Every pair of different test sentences (one espeak voice family), plain and
// through Opus 12 kbps: the whole-file stages must not turn a refusal into a
// delay track (a "no common content" result is tracked when some window found
// a delay, and a track needs a smooth, confident majority).
TEST(RecordingAlignment, DifferentSentencesAreRefusedByTheWholeFileStages) {
    const char* names[] = {"demo.flac", "s_clusters.flac", "sh_positions.flac", "z_voiced.flac", "zh_medial.flac",
                           "no_sibilants.flac"};
    for (const char* a : names)
        for (const char* b : names) {
            if (std::string(a) == b) continue;
            const std::vector<float> x = testdata_speech(a), y = testdata_speech(b);
            for (const auto& degraded : {y, opus(y, 12000)}) {
                const AlignmentResult r = align_pair(x, degraded);
                EXPECT_FALSE(r.ok()) << a << " vs " << b << ": " << r.reason << " / " << r.warning;
                EXPECT_FALSE(r.reason.empty());
            }
        }
}

// The files path reads the degraded through the reader's rate scale: the
// same result as the buffers.
TEST(RecordingAlignment, FilesGiveTheBuffersResult) {
    const std::vector<float>& x = joined_testdata();
    const std::vector<float> y = drifted(opus(x, 24000), -700.0);
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "sibilant_recording_test";
    std::filesystem::create_directories(dir);
    const std::string ref = (dir / "ref.wav").string(), deg = (dir / "deg.wav").string();
    sibilant::write_audio_file(ref, x, kRate, sibilant::SampleFormat::Float32);
    sibilant::write_audio_file(deg, y, kRate, sibilant::SampleFormat::Float32);
    const sibilant::AnalysisResult a = sibilant::analyze(x, y);
    const sibilant::AnalysisResult b = sibilant::analyze_files(ref, deg);
    std::filesystem::remove_all(dir);
    EXPECT_TRUE(b.alignment.drift_compensated);
    EXPECT_DOUBLE_EQ(a.alignment.drift_ppm, b.alignment.drift_ppm);
    EXPECT_EQ(a.alignment.delay_ms, b.alignment.delay_ms);
    sibilant::test::expect_same_events(a.events, b.events, "files vs buffers");
}

// The fit on its own: a line with noise, broken by two steps.
TEST(DriftEstimate, SlopeThroughStepsAndNoise) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> noise(0.0, 1.0);  // samples
    std::vector<DelayTrackPoint> points;
    for (int i = 0; i < 200; ++i) {
        const double t = 0.1 * i;
        const double step = t > 7.0 ? 960.0 : 0.0;  // 20 ms
        const double step2 = t > 14.0 ? -480.0 : 0.0;
        points.push_back({std::int64_t(t * kRate), 100.0 + 300e-6 * t * kRate + step + step2 + noise(rng), 0.9});
    }
    const auto d = sibilant::dsp::estimate_drift(points);
    ASSERT_TRUE(d.measured);
    EXPECT_TRUE(d.significant);
    EXPECT_TRUE(d.linear);
    EXPECT_NEAR(d.ppm, 300.0, 3.0);
    // Flat: measured, not significant.
    for (auto& p : points) p.delay_samples = 100.0 + noise(rng) * 0.3;
    const auto flat = sibilant::dsp::estimate_drift(points);
    ASSERT_TRUE(flat.measured);
    EXPECT_FALSE(flat.significant);
    EXPECT_NEAR(flat.ppm, 0.0, 3.0);
    // A time-stretch: runs that disagree are not a clock.
    for (std::size_t i = 0; i < points.size(); ++i)
        points[i].delay_samples = (i / 30) % 2 ? 0.02 * double(i % 30) * 4800.0 : -0.01 * double(i % 30) * 4800.0;
    EXPECT_FALSE(sibilant::dsp::estimate_drift(points).significant);
}

}  // namespace
