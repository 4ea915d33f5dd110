// No-reference judgement (dsp/blind_judge, issue #4): the signal's own
// bandwidth, the per-event blind scores, the blind summary rule and the
// shipped clean-speech norms.
#include <cmath>
#include <numbers>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "dsp/blind_judge.hpp"
#include "dsp/stft.hpp"
#include "sibilant/analyze.hpp"
#include "test_support.hpp"

namespace {

using namespace sibilant;
using sibilant::dsp::clean_speech_norms;
using sibilant::dsp::own_bandwidth_hz;
using sibilant::dsp::score_event_blind;

constexpr int kRate = 48000;

// Windowed-sinc (Blackman) FIR low-pass, linear phase, delay compensated:
// about 0.5 kHz wide transition centred on cutoff_hz, > 70 dB stop band.
std::vector<float> fir_low_pass(const std::vector<float>& x, double cutoff_hz, int taps = 511) {
    std::vector<double> h(static_cast<std::size_t>(taps));
    const int m = taps - 1;
    const double fc = cutoff_hz / kRate;
    double sum = 0.0;
    for (int i = 0; i < taps; ++i) {
        const double t = i - m / 2.0;
        const double sinc = t == 0.0 ? 2.0 * fc : std::sin(2.0 * std::numbers::pi * fc * t) / (std::numbers::pi * t);
        const double w = 0.42 - 0.5 * std::cos(2.0 * std::numbers::pi * i / m) + 0.08 * std::cos(4.0 * std::numbers::pi * i / m);
        sum += h[static_cast<std::size_t>(i)] = sinc * w;
    }
    for (double& v : h) v /= sum;
    std::vector<float> y(x.size(), 0.0f);
    const long n = static_cast<long>(x.size());
    for (long j = 0; j < n; ++j) {
        double acc = 0.0;
        for (int i = 0; i < taps; ++i) {
            const long k = j + m / 2 - i;
            if (k >= 0 && k < n) acc += h[static_cast<std::size_t>(i)] * x[static_cast<std::size_t>(k)];
        }
        y[static_cast<std::size_t>(j)] = static_cast<float>(acc);
    }
    return y;
}

std::vector<double> long_term_power(const std::vector<float>& x, double& bin_hz) {
    dsp::Stft stft;
    std::vector<double> sum(static_cast<std::size_t>(stft.bins()), 0.0);
    stft.push(std::span<const float>(x), [&](const dsp::StftFrame& f) {
        for (std::size_t k = 0; k < sum.size(); ++k) sum[k] += f.power[k];
    });
    bin_hz = stft.bin_hz();
    return sum;
}

double bandwidth_of(const std::vector<float>& x) {
    double bin_hz = 0.0;
    const auto p = long_term_power(x, bin_hz);
    return own_bandwidth_hz(p, bin_hz);
}

// A clean /s/-like event: the measures of a synthetic fricative (noise
// through a 6.5 kHz resonance, test_support's speech_like) as the
// full-reference analyzer takes them on the signal itself.
SibilantEventResult measured_event(const std::vector<float>& clean, const std::vector<float>& processed) {
    const AnalysisResult r = analyze(clean, processed);
    for (const auto& e : r.events)
        if (e.compared && e.cls == "s" && e.degraded) {
            SibilantEventResult b;
            b.start_s = e.start_s;
            b.end_s = e.end_s;
            b.cls = e.cls;
            b.degraded = *e.degraded;
            return b;
        }
    ADD_FAILURE() << "no /s/ event found";
    return {};
}

TEST(BlindBandwidth, FindsTheCutOffOfLowPassedNoise) {
    const auto noise = test::white_noise(3.0, kRate, 7, 0.3);
    for (const double cutoff : {4000.0, 8000.0, 12000.0}) {
        const double bw = bandwidth_of(fir_low_pass(noise, cutoff));
        EXPECT_NEAR(bw, cutoff, 300.0) << "cut-off " << cutoff;
    }
    // 20 kHz and more: fullband, capped at the 20 kHz every measure uses.
    EXPECT_NEAR(bandwidth_of(fir_low_pass(noise, 20000.0)), 20000.0, 300.0);
    EXPECT_DOUBLE_EQ(bandwidth_of(noise), 20000.0);
}

TEST(BlindBandwidth, FindsTheCutOffOfLowPassedSpeechLikeSignal) {
    const auto x = test::speech_like(4.0, kRate, 3);
    EXPECT_NEAR(bandwidth_of(fir_low_pass(x, 4000.0)), 4000.0, 300.0);
    EXPECT_NEAR(bandwidth_of(fir_low_pass(x, 8000.0)), 8000.0, 300.0);
    EXPECT_GE(bandwidth_of(x), 12000.0);  // its noise keeps falling but is still within 60 dB
}

TEST(BlindBandwidth, SilenceAndBadInputGiveZero) {
    std::vector<double> zeros(257, 0.0);
    EXPECT_EQ(own_bandwidth_hz(zeros, 93.75), 0.0);
    EXPECT_EQ(own_bandwidth_hz({}, 93.75), 0.0);
    std::vector<double> ones(257, 1.0);
    EXPECT_EQ(own_bandwidth_hz(ones, 0.0), 0.0);
    static_assert(noexcept(own_bandwidth_hz(std::span<const double>{}, 1.0)));
}

TEST(BlindNorms, AgreeWithJongmanEtAl2000) {
    const auto& n = clean_speech_norms();
    EXPECT_EQ(n.files, 20);
    EXPECT_GT(n.s.events, 50);
    EXPECT_GT(n.sh.events, 20);
    // Their range (0-11 kHz): /s z/ 6.1 kHz, /sh zh/ 4.2 kHz, within 25%.
    EXPECT_NEAR(n.s.cog_11k_hz.mean, 6100.0, 0.25 * 6100.0);
    EXPECT_NEAR(n.sh.cog_11k_hz.mean, 4200.0, 0.25 * 4200.0);
    // The scored 1-20 kHz centre of gravity too (higher for /s/: its energy above 11 kHz).
    EXPECT_NEAR(n.s.cog_hz.mean, 6100.0, 0.25 * 6100.0);
    EXPECT_NEAR(n.sh.cog_hz.mean, 4200.0, 0.25 * 4200.0);
    EXPECT_GT(n.s.cog_hz.mean, n.sh.cog_hz.mean);
    // /s/ energy well above 10 kHz: far more of it above 8 kHz than /sh/'s.
    EXPECT_GT(n.s.high_re_mid_db.mean, n.sh.high_re_mid_db.mean + 5.0);
    double s_total = 0.0;
    for (double v : n.s.band_share) s_total += v;
    EXPECT_NEAR(s_total, 1.0, 1e-3);
    // Noise fine structure: about 2.5 dB.
    EXPECT_NEAR(n.s.tonality_db.mean, 2.5, 0.3);
    // Clean fullband files: their own bandwidth is about 20 kHz.
    EXPECT_GE(n.min_bandwidth_hz, 19000.0);
    // No /s/ survives below about 5 kHz.
    EXPECT_NEAR(dsp::no_sibilant_bandwidth_hz(n), 5000.0, 500.0);
}

TEST(BlindNorms, BuilderComputesMeanAndSd) {
    dsp::NormsBuilder b;
    SibilantMeasures m;
    m.band_db[0] = m.band_db[1] = -30.0;
    m.band_db[2] = m.band_db[3] = m.band_db[4] = -200.0;
    m.cog_hz = 6000.0;
    b.add_event("s", m, 6000.0);
    m.cog_hz = 8000.0;
    b.add_event("s", m, std::nan(""));
    b.add_file_bandwidth(20000.0);
    const auto n = b.build();
    EXPECT_EQ(n.s.events, 2);
    EXPECT_EQ(n.sh.events, 0);
    EXPECT_DOUBLE_EQ(n.s.cog_hz.mean, 7000.0);
    EXPECT_DOUBLE_EQ(n.s.cog_hz.sd, 1000.0);
    EXPECT_DOUBLE_EQ(n.s.cog_11k_hz.mean, 6000.0);  // the NaN is not counted
    EXPECT_NEAR(n.s.band_share[0], 0.5, 1e-9);
    EXPECT_EQ(n.files, 1);
}

TEST(BlindNorms, ExpectedLossGrowsAsTheBandShrinks) {
    const auto& s = clean_speech_norms().s;
    EXPECT_DOUBLE_EQ(dsp::expected_class_loss_db(s, 20000.0), 0.0);
    const double swb = dsp::expected_class_loss_db(s, 12000.0), wb = dsp::expected_class_loss_db(s, 8000.0),
                 nb = dsp::expected_class_loss_db(s, 4000.0);
    EXPECT_LT(swb, wb);
    EXPECT_LT(wb, nb);
    EXPECT_GT(nb, 10.0);  // an /s/ keeps only its 2-4 kHz skirt
}

TEST(BlindScore, CleanSibilantIsNotFlaggedAndLowPassedIsLisp) {
    const auto x = test::speech_like(4.0, kRate, 5);
    SibilantEventResult clean = measured_event(x, x);
    ASSERT_TRUE(clean.degraded);
    clean.why.reserve(1024);
    score_event_blind(clean, clean_speech_norms(), 20000.0, 50.0, 50.0);
    EXPECT_FALSE(clean.flagged) << clean.why;
    EXPECT_LT(clean.lisp, 25.0) << clean.why;
    EXPECT_LT(clean.smearing, 25.0) << clean.why;
    EXPECT_FALSE(clean.dropout);
    EXPECT_EQ(clean.why.rfind("/s/ ", 0), 0u) << clean.why;

    const auto lp = fir_low_pass(x, 4000.0);
    SibilantEventResult cut = measured_event(x, lp);
    ASSERT_TRUE(cut.degraded);
    cut.why.reserve(1024);
    score_event_blind(cut, clean_speech_norms(), bandwidth_of(lp), 50.0, 50.0);
    EXPECT_TRUE(cut.flagged) << cut.why;
    EXPECT_GE(cut.lisp, 90.0) << cut.why;
    EXPECT_EQ(cut.smearing, 0.0) << cut.why;  // band-limiting is lisp, not smearing
    EXPECT_NE(cut.why.find("8-20 kHz at"), std::string::npos) << cut.why;
    EXPECT_NE(cut.why.find("in clean"), std::string::npos) << cut.why;

    // Wideband: graded, below the flag, above the clean score.
    const auto wb = fir_low_pass(x, 8000.0);
    SibilantEventResult mid = measured_event(x, wb);
    score_event_blind(mid, clean_speech_norms(), bandwidth_of(wb), 50.0, 50.0);
    EXPECT_GT(mid.lisp, clean.lisp) << mid.why;
    EXPECT_LT(mid.lisp, cut.lisp) << mid.why;
}

TEST(BlindScore, AllocatesNothingWithAReservedWhy) {
    static_assert(noexcept(score_event_blind(std::declval<SibilantEventResult&>(), clean_speech_norms(), 1.0, 1.0, 1.0)));
    SibilantEventResult r;
    r.cls = "s";
    r.start_s = 1.23;
    r.end_s = 1.35;
    SibilantMeasures m;
    m.band_db[0] = -40.0;
    m.band_db[1] = -45.0;
    m.band_db[2] = m.band_db[3] = m.band_db[4] = -110.0;
    m.cog_hz = 3100.0;
    m.tonality_db = std::nan("");
    r.degraded = m;
    r.why.reserve(640);
    const auto& norms = clean_speech_norms();  // made before counting
    const std::size_t allocations = test::allocations_during([&] {
        for (int i = 0; i < 3; ++i) score_event_blind(r, norms, 4000.0, 50.0, 50.0);
    });
    EXPECT_EQ(allocations, 0u);
    EXPECT_LT(r.why.size(), 640u);
    EXPECT_TRUE(r.flagged);
    EXPECT_EQ(r.lisp, 100.0);
    EXPECT_NE(r.why.find("/s/ 1.23-1.35 s: "), std::string::npos) << r.why;
    EXPECT_NE(r.why.find("centre of gravity 3.1 kHz vs"), std::string::npos) << r.why;
    EXPECT_NE(r.why.find("nothing above 4.0 kHz"), std::string::npos) << r.why;
    EXPECT_NE(r.why.find("(lisp 100, smearing 0)"), std::string::npos) << r.why;
}

TEST(BlindScore, TonalStructureInTheNoiseBandIsSmearing) {
    const auto& n = clean_speech_norms();
    SibilantEventResult r;
    r.cls = "s";
    SibilantMeasures m;
    m.band_db[0] = -40.0;
    m.band_db[1] = -34.0;
    m.band_db[2] = -38.0;
    m.band_db[3] = -50.0;
    m.band_db[4] = -60.0;
    m.cog_hz = n.s.cog_hz.mean;
    m.tonality_db = n.s.tonality_db.mean;
    r.degraded = m;
    score_event_blind(r, n, 20000.0, 50.0, 50.0);
    EXPECT_EQ(r.smearing, 0.0) << r.why;
    EXPECT_FALSE(r.flagged) << r.why;
    r.degraded->tonality_db = n.s.tonality_db.mean + 6.0;
    score_event_blind(r, n, 20000.0, 50.0, 50.0);
    EXPECT_DOUBLE_EQ(r.smearing, 100.0) << r.why;
    EXPECT_TRUE(r.flagged);
    EXPECT_NE(r.why.find("tonal structure"), std::string::npos) << r.why;
}

TEST(BlindSummary, NarrowbandSpeechIsLispEvenWithoutEvents) {
    const AnalyzeOptions options;
    const std::vector<SibilantEventResult> none;
    auto nb = dsp::summarise_blind(none, 4000.0, true, options);
    EXPECT_EQ(nb.verdict, "lisp");
    EXPECT_EQ(nb.lisp_index, 100.0);
    // Fullband with no sibilants, and no speech at all: nothing made up.
    EXPECT_EQ(dsp::summarise_blind(none, 20000.0, true, options).verdict, "no-sibilants");
    EXPECT_EQ(dsp::summarise_blind(none, 4000.0, false, options).verdict, "no-sibilants");
    // Wideband keeps the per-event verdict.
    SibilantEventResult e;
    e.cls = "s";
    e.start_s = 0.1;
    e.end_s = 0.2;
    e.lisp = 20.0;
    EXPECT_EQ(dsp::summarise_blind(std::vector<SibilantEventResult>{e}, 8000.0, true, options).verdict, "clean");
}

TEST(BlindAnalysis, SyntheticSpeechCleanAndLowPassed) {
    const auto x = test::speech_like(4.0, kRate, 9);
    const AnalysisResult clean = analyze_no_reference(x);
    EXPECT_EQ(clean.mode, "no-reference");
    EXPECT_EQ(clean.summary.verdict, "clean") << to_text(clean);
    const AnalysisResult cut = analyze_no_reference(fir_low_pass(x, 4000.0));
    EXPECT_NE(cut.summary.verdict.find("lisp"), std::string::npos) << to_text(cut);
    EXPECT_NEAR(cut.degraded_bandwidth_hz, 4000.0, 300.0);
}

}  // namespace
