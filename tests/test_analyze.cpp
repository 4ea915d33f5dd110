// The sibilance analyzer (issue #3 steps 4-6): synthetic signals with known
// answers, invariances, bad input, the output contract, espeak-ng speech
// through Opus, and the versioned golden table.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dsp/sibilant_compare.hpp"
#include "dsp/spectral_moments.hpp"
#include "dsp/summary.hpp"
#include "pipeline/analysis_json.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "sibilant/opus_channel.hpp"
#include "sibilant/resampler.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

namespace fs = std::filesystem;
constexpr int kRate = 48000;

// Zero-phase windowed-sinc low-pass (Blackman, 1201 taps: about 230 Hz
// transition, 74 dB stop band), centred so that it adds no delay.
std::vector<float> low_pass(const std::vector<float>& x, double cutoff_hz) {
    constexpr int kTaps = 1201, kHalf = kTaps / 2;
    std::vector<double> h(kTaps);
    double sum = 0.0;
    for (int i = 0; i < kTaps; ++i) {
        const double n = i - kHalf;
        const double fc = cutoff_hz / kRate;
        const double sinc = n == 0 ? 2.0 * fc : std::sin(2.0 * std::numbers::pi * fc * n) / (std::numbers::pi * n);
        const double w = 0.42 - 0.5 * std::cos(2.0 * std::numbers::pi * i / (kTaps - 1)) +
                         0.08 * std::cos(4.0 * std::numbers::pi * i / (kTaps - 1));
        h[static_cast<std::size_t>(i)] = sinc * w;
        sum += h[static_cast<std::size_t>(i)];
    }
    for (double& v : h) v /= sum;
    std::vector<float> y(x.size(), 0.0f);
    const auto n = static_cast<long>(x.size());
    for (long i = 0; i < n; ++i) {
        double acc = 0.0;
        const long k0 = std::max(0L, i + kHalf - n + 1), k1 = std::min<long>(kTaps - 1, i + kHalf);
        for (long k = k0; k <= k1; ++k) acc += h[static_cast<std::size_t>(k)] * x[static_cast<std::size_t>(i + kHalf - k)];
        y[static_cast<std::size_t>(i)] = static_cast<float>(acc);
    }
    return y;
}

std::vector<float> minus(const std::vector<float>& a, const std::vector<float>& b) {
    std::vector<float> y(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) y[i] = a[i] - b[i];
    return y;
}

// The 4-16 kHz part of x replaced, band by band (4-8, 8-12, 12-16 kHz), by
// fresh noise with the same energy in every 5 ms block: what CELT's noise
// fill does to a band without pulses. Band energies kept, fine structure new.
std::vector<float> noise_filled(const std::vector<float>& x, std::uint64_t seed) {
    const std::vector<double> edges = {4000, 8000, 12000, 16000};
    std::vector<std::vector<float>> lp;
    for (double e : edges) lp.push_back(low_pass(x, e));
    std::vector<float> y = lp.front();                      // below 4 kHz
    const std::vector<float> top = minus(x, lp.back());     // above 16 kHz
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += top[i];
    const std::size_t block = kRate / 200;
    for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
        const std::vector<float> band = minus(lp[b + 1], lp[b]);
        const std::vector<float> noise = test::white_noise(double(x.size()) / kRate, kRate, seed + b, 0.5);
        const std::vector<float> noise_band = minus(low_pass(noise, edges[b + 1]), low_pass(noise, edges[b]));
        for (std::size_t start = 0; start < y.size(); start += block) {
            const std::size_t end = std::min(y.size(), start + block);
            double e_band = 0.0, e_noise = 1e-30;
            for (std::size_t i = start; i < end; ++i) {
                e_band += double(band[i]) * band[i];
                e_noise += double(noise_band[i]) * noise_band[i];
            }
            const double g = std::sqrt(e_band / e_noise);
            for (std::size_t i = start; i < end; ++i) y[i] += static_cast<float>(g * noise_band[i]);
        }
    }
    return y;
}

std::vector<float> delayed(const std::vector<float>& x, double delay_s, double gain_db) {
    std::vector<float> y(static_cast<std::size_t>(std::lround(delay_s * kRate)), 0.0f);
    const auto g = static_cast<float>(std::pow(10.0, gain_db / 20.0));
    for (float v : x) y.push_back(v * g);
    return y;
}

// speech_like(): a 0.15 s /s/-like burst ends every 0.5 s cycle.
const std::vector<float>& speech() {
    static const std::vector<float> x = test::speech_like(6.0, kRate, 7);
    return x;
}

TEST(Analyze, IdentityHasNoFlags) {
    const AnalysisResult r = analyze(speech(), speech());
    EXPECT_EQ(r.mode, "full-reference");
    EXPECT_GE(r.summary.sibilants, 10);
    EXPECT_EQ(r.summary.compared, r.summary.sibilants);
    EXPECT_EQ(r.summary.flagged, 0);
    EXPECT_EQ(r.summary.dropouts, 0);
    EXPECT_EQ(r.summary.verdict, "clean");
    EXPECT_LT(r.summary.lisp_index, 1.0);
    EXPECT_LT(r.summary.smearing_index, 1.0);
    EXPECT_NEAR(r.alignment.delay_ms, 0.0, 1e-9);
    for (const auto& e : r.events) {
        EXPECT_EQ(e.cls, "s") << e.why;
        EXPECT_NEAR(e.shape_correlation, 1.0, 1e-3) << e.why;
        EXPECT_NE(e.why.find("kept"), std::string::npos) << e.why;
    }
}

// The moments are Praat's, of the event's centred 40 ms cut (the definition
// eval/praat_cog_check.sh checks against Praat), for both signals.
TEST(Analyze, MomentsArePraatsOfTheMiddleCut) {
    const std::vector<float> deg = low_pass(speech(), 6000.0);
    const AnalysisResult r = analyze(speech(), deg);
    ASSERT_FALSE(r.events.empty());
    for (const auto& e : r.events) {
        dsp::SibilantEvent event;
        event.start_s = e.start_s;
        event.end_s = e.end_s;
        const dsp::SampleRange mid = dsp::middle_segment(event, dsp::ComparerConfig{}, std::int64_t(speech().size()));
        ASSERT_EQ(mid.count, 1920);
        const dsp::MomentOptions range{.low_hz = 1000.0, .high_hz = 20000.0};
        const auto ref = dsp::praat_power_spectrum(std::span(speech()).subspan(std::size_t(mid.first), 1920), kRate);
        const auto m = dsp::spectral_moments(ref.power, ref.bin_hz, range);
        EXPECT_NEAR(e.reference.cog_hz, m.cog_hz, 1e-3 * m.cog_hz);
        EXPECT_NEAR(e.reference.kurtosis, m.kurtosis, 1e-3 * std::abs(m.kurtosis) + 1e-6);
        const auto d = dsp::praat_power_spectrum(std::span(deg).subspan(std::size_t(mid.first), 1920), kRate);
        const auto md = dsp::spectral_moments(d.power, d.bin_hz, range);
        ASSERT_TRUE(e.degraded.has_value());
        EXPECT_NEAR(e.degraded->cog_hz, md.cog_hz, 1e-3 * md.cog_hz);
        EXPECT_NEAR(e.degraded->spread_hz, md.sd_hz, 1e-3 * md.sd_hz);
    }
}

TEST(Analyze, LowPass4kIsLisp) {
    const AnalysisResult r = analyze(speech(), low_pass(speech(), 4000.0));
    ASSERT_GE(r.summary.sibilants, 10);
    EXPECT_EQ(r.summary.flagged, r.summary.sibilants);
    EXPECT_EQ(r.summary.dropouts, 0);
    EXPECT_EQ(r.summary.verdict, "lisp");
    EXPECT_GT(r.summary.lisp_index, 80.0);
    EXPECT_LT(r.summary.smearing_index, 10.0);
    EXPECT_NEAR(r.degraded_bandwidth_hz, 4000.0, 250.0);
    for (const auto& e : r.events) {
        EXPECT_GE(e.lisp, 50.0) << e.why;
        EXPECT_TRUE(e.flagged);
        EXPECT_GT(e.high_band_loss_db, 10.0) << e.why;
        ASSERT_TRUE(e.degraded.has_value());
        EXPECT_LT(e.degraded->cog_hz, e.reference.cog_hz * 0.69) << e.why;
        // The why names the loss and the falling centre of gravity.
        EXPECT_NE(e.why.find("dB in 2.5-20 kHz"), std::string::npos) << e.why;
        EXPECT_NE(e.why.find("centre of gravity"), std::string::npos) << e.why;
        EXPECT_EQ(e.why.rfind("/s/ ", 0), 0u) << e.why;
    }
}

TEST(Analyze, NoiseFillIsSmearingNotLisp) {
    const AnalysisResult r = analyze(speech(), noise_filled(speech(), 99));
    ASSERT_GE(r.summary.sibilants, 10);
    EXPECT_GT(r.summary.smearing_index, r.summary.lisp_index + 20.0)
        << "smearing " << r.summary.smearing_index << ", lisp " << r.summary.lisp_index;
    EXPECT_LT(r.summary.lisp_index, 20.0);
    EXPECT_EQ(r.summary.dropouts, 0);
    for (const auto& e : r.events) {
        EXPECT_GT(e.smearing, e.lisp) << e.why;
        EXPECT_LT(std::abs(e.high_band_loss_db), 1.5) << e.why;  // band energies kept
        EXPECT_LT(e.shape_correlation, 0.8) << e.why;
    }
}

TEST(Analyze, ZeroedBurstIsDropout) {
    std::vector<float> deg = speech();
    // The third burst: samples [1.35 s, 1.5 s).
    for (std::size_t i = std::size_t(1.35 * kRate); i < std::size_t(1.5 * kRate); ++i) deg[i] = 0.0f;
    const AnalysisResult r = analyze(speech(), deg);
    EXPECT_EQ(r.summary.dropouts, 1);
    EXPECT_NE(r.summary.verdict.find("dropouts"), std::string::npos) << r.summary.verdict;
    for (const auto& e : r.events) {
        const bool hit = e.start_s < 1.5 && e.end_s > 1.35;
        EXPECT_EQ(e.dropout, hit) << e.why;
        EXPECT_EQ(e.flagged, hit) << e.why;
        if (hit) {
            EXPECT_NE(e.why.find("dropped"), std::string::npos) << e.why;
        }
    }
}

// A packet's worth (25 ms) of silence inside a burst: a hole, a dropout.
TEST(Analyze, HoleInsideABurstIsDropout) {
    std::vector<float> deg = speech();
    for (std::size_t i = std::size_t(1.41 * kRate); i < std::size_t(1.435 * kRate); ++i) deg[i] = 0.0f;
    const AnalysisResult r = analyze(speech(), deg);
    EXPECT_EQ(r.summary.dropouts, 1);
    for (const auto& e : r.events) {
        const bool hit = e.start_s < 1.435 && e.end_s > 1.41;
        EXPECT_EQ(e.dropout, hit) << e.why;
        if (hit) {
            EXPECT_NE(e.why.find("hole"), std::string::npos) << e.why;
            EXPECT_GE(e.gap_s, 0.01) << e.why;
        }
    }
}

TEST(Analyze, DelayAndGainDoNotChangeScores) {
    const std::vector<float> lp = low_pass(speech(), 6000.0);
    const AnalysisResult a = analyze(speech(), lp);
    const AnalysisResult b = analyze(speech(), delayed(lp, 0.037, -6.0));
    EXPECT_NEAR(b.alignment.delay_ms, 37.0, 0.03);
    EXPECT_NEAR(b.alignment.gain_db, -6.0, 0.1);
    ASSERT_EQ(a.events.size(), b.events.size());
    EXPECT_NEAR(a.summary.lisp_index, b.summary.lisp_index, 0.5);
    EXPECT_NEAR(a.summary.smearing_index, b.summary.smearing_index, 0.5);
    EXPECT_EQ(a.summary.flagged, b.summary.flagged);
    for (std::size_t i = 0; i < a.events.size(); ++i) {
        EXPECT_NEAR(a.events[i].lisp, b.events[i].lisp, 0.5) << b.events[i].why;
        EXPECT_NEAR(a.events[i].smearing, b.events[i].smearing, 0.5) << b.events[i].why;
    }
    const AnalysisResult c = analyze(speech(), delayed(speech(), 0.037, -6.0));
    EXPECT_EQ(c.summary.flagged, 0);
    EXPECT_LT(c.summary.lisp_index, 1.0);
    EXPECT_LT(c.summary.smearing_index, 1.0);
}

// A jitter buffer that inserts 20 ms at 6 s of a 12 s signal: aligned
// piecewise; the events away from the step compare clean, those touching
// its guard zone are not compared at all (never compared misaligned).
TEST(Analyze, DelayStepIsAlignedPiecewise) {
    const std::vector<float> x = test::speech_like(12.0, kRate, 3);
    std::vector<float> deg(x.begin(), x.begin() + 6 * kRate);
    deg.insert(deg.end(), std::size_t(0.02 * kRate), 0.0f);
    deg.insert(deg.end(), x.begin() + 6 * kRate, x.end());
    const AnalysisResult r = analyze(x, deg);
    EXPECT_EQ(r.alignment.segments, 2);
    EXPECT_EQ(r.summary.flagged, 0);
    int not_compared = 0;
    for (const auto& e : r.events) {
        if (!e.compared) {
            ++not_compared;
            EXPECT_TRUE(e.end_s > 5.85 && e.start_s < 6.15) << e.why;
            EXPECT_NE(e.why.find("not compared"), std::string::npos) << e.why;
        }
    }
    EXPECT_GE(not_compared, 1);
    EXPECT_LE(not_compared, 2);
    EXPECT_EQ(r.summary.compared, r.summary.sibilants - not_compared);
    EXPECT_EQ(r.summary.verdict, "clean");
}

TEST(Analyze, DifferentContentIsAnError) {
    const std::vector<float> other = test::white_noise(6.0, kRate, 5, 0.3);
    test::expect_error([&] { analyze(speech(), other); }, {"cannot align"});
}

TEST(Analyze, TooShortIsAnError) {
    const std::vector<float> x(speech().begin(), speech().begin() + kRate / 5);
    test::expect_error([&] { analyze(x, x); }, {"cannot align"});
}

TEST(Analyze, SilenceHasNoSibilants) {
    const std::vector<float> silence(3 * kRate, 0.0f);
    const AnalysisResult r = analyze(silence, silence);
    EXPECT_EQ(r.summary.verdict, "no-sibilants");
    EXPECT_EQ(r.summary.sibilants, 0);
    EXPECT_TRUE(r.events.empty());
}

TEST(Analyze, SpeechWithoutSibilants) {
    const std::string path = (test::testdata_dir() / "speech" / "no_sibilants.flac").string();
    const AnalysisResult r = analyze_files(path, path);
    EXPECT_EQ(r.summary.verdict, "no-sibilants");
    EXPECT_EQ(r.summary.sibilants, 0);
    EXPECT_EQ(r.summary.lisp_index, 0.0);
}

// The batch analyzer refuses samples that are no audio (NaN, infinity,
// +120 dBFS and more) as the file reader does, naming the signal, the sample
// and why: they overflow the STFT's float sums (found by fuzz_analyze).
TEST(Analyze, SamplesThatAreNoAudioAreErrors) {
    std::vector<float> bad = speech();
    bad[48000] = std::numeric_limits<float>::quiet_NaN();
    test::expect_error([&] { analyze(bad, speech()); }, {"analyze: reference sample 48000 at 1.000 s is not a finite number"});
    test::expect_error([&] { analyze_no_reference(bad); }, {"analyze: degraded sample 48000 at 1.000 s is not a finite"});
    bad[48000] = 7.4e36f;
    test::expect_error([&] { analyze(speech(), bad); },
                       {"analyze: degraded sample 48000 at 1.000 s is 7.4e+36, beyond +-2^20 (+120 dBFS): not audio"});
}

// The indices are weighted means of 0..100 scores: all 100 can round to a
// hair above (100.00000000000001 for these two events; found by
// fuzz_analyze), and they must stay within 0..100.
TEST(Analyze, IndicesStayWithin0To100) {
    dsp::SummaryAccumulator summary;
    for (int i = 0; i < 2; ++i) {
        SibilantEventResult e;
        e.start_s = 0.1 * i + 0.018;
        e.end_s = e.start_s + 0.03;
        e.lisp = 100.0;
        e.smearing = 100.0;
        summary.add(e);
    }
    const AnalysisSummary s = summary.summary();
    EXPECT_EQ(s.lisp_index, 100.0);
    EXPECT_EQ(s.smearing_index, 100.0);
}

TEST(Analyze, BadOptionsAreErrors) {
    AnalyzeOptions o;
    o.lisp_flag_threshold = 120.0;
    test::expect_error([&] { analyze(speech(), speech(), o); }, {"lisp_flag_threshold", "0..100"});
}

TEST(Analyze, ThresholdsDecideTheFlags) {
    const std::vector<float> lp = low_pass(speech(), 4000.0);
    AnalyzeOptions strict;
    strict.lisp_flag_threshold = 100.0;
    strict.smearing_flag_threshold = 100.0;
    const AnalysisResult r = analyze(speech(), lp, strict);
    for (const auto& e : r.events) EXPECT_EQ(e.flagged, e.lisp >= 100.0 || e.smearing >= 100.0 || e.dropout);
}

TEST(Analyze, FilesAtOtherRatesAreResampled) {
    test::TempDir dir;
    const std::string ref = (dir / "ref44.wav").string(), deg = (dir / "deg48.flac").string();
    write_audio_file(ref, resample(speech(), kRate, 44100), 44100, SampleFormat::Float32);
    write_audio_file(deg, low_pass(speech(), 4000.0), kRate, SampleFormat::Pcm24);
    const AnalysisResult r = analyze_files(ref, deg);
    EXPECT_EQ(r.reference, ref);
    EXPECT_EQ(r.degraded, deg);
    EXPECT_GE(r.summary.sibilants, 10);
    EXPECT_EQ(r.summary.verdict, "lisp");
    test::expect_error([&] { analyze_files(ref, (dir / "missing.wav").string()); }, {"missing.wav"});
}

// analyze_files() streams both files twice (bounded memory); it must agree
// with analyze() on the same samples, including a delay and a gain.
TEST(Analyze, FilesStreamedGiveTheSameResultAsBuffers) {
    test::TempDir dir;
    const std::string ref = (dir / "ref.wav").string(), deg = (dir / "deg.wav").string();
    const std::vector<float> x = test::speech_like(8.0, kRate, 11);
    const std::vector<float> y = delayed(low_pass(x, 7000.0), 0.37, -3.0);
    write_audio_file(ref, x, kRate, SampleFormat::Float32);
    write_audio_file(deg, y, kRate, SampleFormat::Float32);
    const AnalysisResult a = analyze(x, y);
    const AnalysisResult b = analyze_files(ref, deg);
    EXPECT_EQ(a.alignment.delay_ms, b.alignment.delay_ms);
    EXPECT_EQ(a.degraded_bandwidth_hz, b.degraded_bandwidth_hz);
    ASSERT_EQ(a.events.size(), b.events.size());
    for (std::size_t i = 0; i < a.events.size(); ++i) {
        EXPECT_EQ(a.events[i].lisp, b.events[i].lisp);
        EXPECT_EQ(a.events[i].smearing, b.events[i].smearing);
        EXPECT_EQ(a.events[i].why, b.events[i].why);
    }
    EXPECT_EQ(a.summary.lisp_index, b.summary.lisp_index);
    EXPECT_EQ(a.summary.verdict, b.summary.verdict);
}

TEST(Analyze, JsonContract) {
    AnalysisResult r = analyze(speech(), low_pass(speech(), 4000.0));
    r.reference = "a.wav";
    r.degraded = "b.wav";
    const auto j = nlohmann::json::parse(to_json(r));
    for (const char* key : {"mode", "reference", "degraded", "scoring_version", "alignment", "degraded_bandwidth_hz",
                            "summary", "events"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["mode"], "full-reference");
    EXPECT_EQ(j["reference"], "a.wav");
    EXPECT_EQ(j["scoring_version"], kScoringVersion);
    for (const char* key : {"delay_ms", "gain_db"}) EXPECT_TRUE(j["alignment"].contains(key)) << key;
    for (const char* key : {"sibilants", "flagged", "lisp_index", "smearing_index", "dropouts", "verdict"})
        EXPECT_TRUE(j["summary"].contains(key)) << key;
    EXPECT_EQ(j["summary"]["verdict"], "lisp");
    ASSERT_EQ(j["events"].size(), r.events.size());
    for (const auto& e : j["events"]) {
        for (const char* key : {"start_s", "end_s", "class", "lisp", "smearing", "dropout", "flagged", "why"})
            EXPECT_TRUE(e.contains(key)) << key;
        EXPECT_TRUE(e["class"] == "s" || e["class"] == "sh");
        EXPECT_TRUE(e["lisp"].is_number());
        EXPECT_TRUE(e["dropout"].is_boolean());
    }
    // One line when not pretty (JSON Lines for batches).
    EXPECT_EQ(to_json(r, false).find('\n'), std::string::npos);
}

TEST(Analyze, CsvAndText) {
    AnalysisResult r = analyze(speech(), low_pass(speech(), 4000.0));
    r.reference = "a, quoted \"name\".wav";
    const std::string csv = to_csv(r);
    EXPECT_EQ(csv.rfind("reference,degraded,start_s,end_s,class,", 0), 0u);
    EXPECT_EQ(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')), r.events.size() + 1);
    EXPECT_NE(csv.find("\"a, quoted \"\"name\"\".wav\""), std::string::npos);
    const std::string text = to_text(r, 3);
    EXPECT_NE(text.find("verdict    lisp"), std::string::npos) << text;
    EXPECT_NE(text.find("worst events:"), std::string::npos) << text;
    EXPECT_NE(text.find(r.events.front().why.substr(0, 4)), std::string::npos) << text;
}

// to_json() writes the document in parts (the frame, then the delay track's
// points and the events one at a time, so that a long analysis need not hold
// the whole document); it must be exactly nlohmann's dump of the whole
// document, pretty and compact, with and without a track and events, and
// with strings that look like the keys where the parts are cut.
TEST(Analyze, JsonWrittenInPartsIsTheWholeDocumentsDump) {
    AnalysisResult full = analyze(speech(), delayed(low_pass(speech(), 4000.0), 0.02, -2.0));
    full.reference = "a \"quoted\"\n    \"delay_track\": [] name.wav";
    full.degraded = "\"events\":[]";
    full.alignment.warning = "x\n  \"events\": [] \"delay_track\":[]";
    ASSERT_FALSE(full.alignment.delay_track.empty());
    ASSERT_FALSE(full.events.empty());
    const AnalysisResult blind = analyze_no_reference(low_pass(speech(), 4000.0));
    ASSERT_FALSE(blind.events.empty());
    const AnalysisResult silent = analyze(std::vector<float>(3 * kRate, 0.0f), speech());
    ASSERT_EQ(silent.summary.verdict, "no-sibilants");
    ASSERT_TRUE(silent.events.empty());
    for (const AnalysisResult* r : {static_cast<const AnalysisResult*>(&full), &blind, &silent})
        for (bool pretty : {true, false})
            EXPECT_EQ(to_json(*r, pretty), pipeline::result_json(*r).dump(pretty ? 2 : -1))
                << r->mode << (pretty ? " pretty" : " compact");
}

// The streaming outputs of `sibilant analyze`: events handed to a sink as
// found, written by an AnalysisWriter, give exactly what the whole result
// gives, and the writer's temporary file leaves nothing behind.
TEST(Analyze, WriterWritesWhatTheWholeResultGives) {
    test::TempDir dir;
    const std::string ref = (dir / "ref.wav").string(), deg = (dir / "deg.wav").string();
    write_audio_file(ref, speech(), kRate, SampleFormat::Float32);
    write_audio_file(deg, delayed(low_pass(speech(), 5000.0), 0.05, -1.0), kRate, SampleFormat::Float32);
    struct Case {
        bool no_reference;
        int max_events;
    };
    for (const Case c : {Case{false, 0}, Case{false, 3}, Case{false, 1000}, Case{true, 5}}) {
        const AnalysisResult whole = c.no_reference ? analyze_file_no_reference(deg) : analyze_files(ref, deg);
        ASSERT_GE(whole.events.size(), 10u);
        std::ostringstream json, csv, text;
        AnalysisWriter writer({.json = &json, .csv = &csv, .text = &text, .max_events = c.max_events,
                               .spool_folder = dir.path().string()},
                              c.no_reference ? "" : ref, deg, c.no_reference);
        std::size_t handed = 0;
        const EventSink sink = [&](const SibilantEventResult& e) {
            writer.add(e);
            ++handed;
        };
        const AnalysisResult streamed =
            c.no_reference ? analyze_file_no_reference(deg, {}, sink) : analyze_files(ref, deg, {}, sink);
        EXPECT_TRUE(streamed.events.empty());
        EXPECT_EQ(handed, whole.events.size());
        writer.finish(streamed);
        EXPECT_EQ(json.str(), to_json(whole) + "\n") << c.max_events;
        EXPECT_EQ(csv.str(), to_csv(whole)) << c.max_events;
        EXPECT_EQ(text.str(), to_text(whole, c.max_events)) << c.max_events;
    }
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) files += entry.is_regular_file();
    EXPECT_EQ(files, 2u) << "the JSON's temporary file is unlinked";

    std::ostringstream json;
    test::expect_error(
        [&] { AnalysisWriter({.json = &json, .spool_folder = (dir / "no-such-folder").string()}, ref, deg, false); },
        {"no-such-folder", "temporary file"});
}

// The text's worst events are the worst by severity (a dropout above any
// score, then the larger of lisp and smearing), ties in time order, as a
// stable sort of all the compared events gives; not-compared events never.
TEST(Analyze, TextShowsTheWorstEventsInOrder) {
    AnalysisResult r;
    r.mode = "full-reference";
    const double scores[][2] = {{10, 60}, {60, 5}, {30, 30}, {60, 60}, {90, 0}, {0, 0}, {59, 1}, {60, 2}};
    for (std::size_t i = 0; i < std::size(scores); ++i) {
        SibilantEventResult e;
        e.cls = i % 2 ? "sh" : "s";
        e.lisp = scores[i][0];
        e.smearing = scores[i][1];
        e.dropout = i == 5;
        e.compared = i != 4;  // the worst score, but not compared
        e.why = "event " + std::to_string(i);
        r.events.push_back(e);
    }
    r.summary.sibilants = int(r.events.size());
    // By hand: the dropout (5), then 60 in time order (0, 1, 3, 7), then 59 (6), then 30 (2).
    const std::string text = to_text(r, 6);
    const std::string expected = "worst events:\n  event 5\n  event 0\n  event 1\n  event 3\n  event 7\n  event 6\n";
    EXPECT_NE(text.find(expected), std::string::npos) << text;
    EXPECT_NE(text.find("(4 /s/, 4 /sh/)"), std::string::npos) << text;
    EXPECT_EQ(to_text(r, 0).find("worst events"), std::string::npos);
}

TEST(Analyze, EspeakSpeechThroughOpusLispsMoreAt6kbps) {
    for (const char* name : {"demo", "s_clusters", "sh_positions", "z_voiced", "zh_medial"}) {
        const auto x = read_audio_file((test::testdata_dir() / "speech" / (std::string(name) + ".flac")).string());
        OpusSettings s;
        s.bitrate_bps = 6000;
        const AnalysisResult low = analyze(x, run_opus_channel(x, s, LossModelConfig{}, 1));
        s.bitrate_bps = 64000;
        const AnalysisResult high = analyze(x, run_opus_channel(x, s, LossModelConfig{}, 1));
        ASSERT_GT(low.summary.sibilants, 0) << name;
        EXPECT_GT(low.summary.lisp_index, high.summary.lisp_index + 20.0) << name;
        EXPECT_LT(low.degraded_bandwidth_hz, 5000.0) << name;
    }
}

// ---------------------------------------------------------------------------
// Golden table: summary figures for every testdata/speech file under fixed
// conditions, recorded with the scoring version that made them.

struct GoldenRow {
    std::string file, condition;
    int version = 0, sibilants = 0, compared = 0, flagged = 0, dropouts = 0;
    double lisp_index = 0, smearing_index = 0, bandwidth_hz = 0;
    std::string verdict;
};

const char* const kGoldenHeader =
    "file\tcondition\tscoring_version\tsibilants\tcompared\tflagged\tdropouts\tlisp_index\tsmearing_index\t"
    "bandwidth_hz\tverdict";

fs::path golden_path() { return test::testdata_dir().parent_path() / "tests" / "golden" / "analysis_golden.tsv"; }

std::vector<float> golden_condition(const std::string& condition, const std::vector<float>& x) {
    if (condition == "identity") return x;
    if (condition == "lp4k") return low_pass(x, 4000.0);
    OpusSettings s;  // voip, complexity 10, 20 ms, VBR
    s.bitrate_bps = std::stoi(condition.substr(4)) * 1000;
    return run_opus_channel(x, s, LossModelConfig{}, 1);
}

std::vector<GoldenRow> compute_golden() {
    std::vector<GoldenRow> rows;
    for (const char* file : {"demo", "no_sibilants", "s_clusters", "sh_positions", "z_voiced", "zh_medial"}) {
        const auto x = read_audio_file((test::testdata_dir() / "speech" / (std::string(file) + ".flac")).string());
        for (const char* condition : {"identity", "opus6", "opus12", "opus24", "opus64", "lp4k"}) {
            const AnalysisResult r = analyze(x, golden_condition(condition, x));
            rows.push_back({file, condition, kScoringVersion, r.summary.sibilants, r.summary.compared,
                            r.summary.flagged, r.summary.dropouts, r.summary.lisp_index, r.summary.smearing_index,
                            r.degraded_bandwidth_hz, r.summary.verdict});
        }
    }
    return rows;
}

TEST(AnalyzeGolden, MatchesTheTable) {
    const std::vector<GoldenRow> now = compute_golden();
    const char* update = std::getenv("SIBILANT_UPDATE_GOLDEN");
    if (update && std::string(update) == "1") {
        std::ofstream out(golden_path());
        out << "# Analyzer golden table (tests/test_analyze.cpp). Regenerate after a deliberate scoring change:\n"
               "# bump kScoringVersion (lib/include/sibilant/analyze.hpp), then run\n"
               "#   SIBILANT_UPDATE_GOLDEN=1 ./tests/sibilant_tests --gtest_filter='AnalyzeGolden.*'\n"
               "# Tolerances: counts and verdicts exact, indices +-0.5, bandwidth +-100 Hz.\n"
            << kGoldenHeader << "\n";
        out.setf(std::ios::fixed);
        for (const auto& g : now) {
            out.precision(2);
            out << g.file << '\t' << g.condition << '\t' << g.version << '\t' << g.sibilants << '\t' << g.compared
                << '\t' << g.flagged << '\t' << g.dropouts << '\t' << g.lisp_index << '\t' << g.smearing_index << '\t';
            out.precision(0);
            out << g.bandwidth_hz << '\t' << g.verdict << '\n';
        }
        ASSERT_TRUE(out.good()) << golden_path();
        GTEST_SKIP() << "rewrote " << golden_path();
    }

    std::ifstream in(golden_path());
    ASSERT_TRUE(in) << golden_path() << " is missing: run with SIBILANT_UPDATE_GOLDEN=1 to create it";
    std::map<std::string, GoldenRow> table;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("file\t", 0) == 0) continue;
        std::istringstream fields(line);
        GoldenRow g;
        fields >> g.file >> g.condition >> g.version >> g.sibilants >> g.compared >> g.flagged >> g.dropouts >>
            g.lisp_index >> g.smearing_index >> g.bandwidth_hz >> g.verdict;
        table[g.file + "/" + g.condition] = g;
    }
    const std::string how =
        "\nIf scores changed on purpose: bump kScoringVersion in lib/include/sibilant/analyze.hpp and regenerate "
        "with SIBILANT_UPDATE_GOLDEN=1 ./tests/sibilant_tests --gtest_filter='AnalyzeGolden.*'";
    ASSERT_EQ(table.size(), now.size()) << "the table lists other files or conditions" << how;
    for (const auto& g : now) {
        const std::string key = g.file + "/" + g.condition;
        ASSERT_TRUE(table.count(key)) << key << " missing" << how;
        const GoldenRow& t = table.at(key);
        EXPECT_EQ(t.version, kScoringVersion) << key << ": table made with scoring version " << t.version << how;
        EXPECT_EQ(t.sibilants, g.sibilants) << key << how;
        EXPECT_EQ(t.compared, g.compared) << key << how;
        EXPECT_EQ(t.flagged, g.flagged) << key << how;
        EXPECT_EQ(t.dropouts, g.dropouts) << key << how;
        EXPECT_NEAR(t.lisp_index, g.lisp_index, 0.5) << key << how;
        EXPECT_NEAR(t.smearing_index, g.smearing_index, 0.5) << key << how;
        EXPECT_NEAR(t.bandwidth_hz, g.bandwidth_hz, 100.0) << key << how;
        EXPECT_EQ(t.verdict, g.verdict) << key << how;
    }
}

}  // namespace
}  // namespace sibilant
