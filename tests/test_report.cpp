// `sibilant report` (issue #5): the PNG encoder, HTML escaping, the pooled
// spectrogram, and the pair and sweep pages' structure. tests/browser/ checks
// that Chromium renders the pages.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "report/html.hpp"
#include "report/png_image.hpp"
#include "report/spectrogram.hpp"
#include "report/svg_plot.hpp"
#include "sibilant/analyze.hpp"
#include "sibilant/compare.hpp"
#include "sibilant/report.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

constexpr int kRate = 48000;

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

TEST(ReportPng, RoundTripsThroughLibpng) {
    report::RgbImage image(7, 5);
    image.set(3, 2, {10, 200, 30});
    image.set(6, 4, report::viridis(0.5));
    const std::vector<std::uint8_t> png = report::encode_png(image);
    ASSERT_GT(png.size(), 8u);
    EXPECT_EQ(png[1], 'P');  // signature \x89PNG
    const report::RgbImage back = report::decode_png(png);
    EXPECT_EQ(back.width, 7);
    EXPECT_EQ(back.height, 5);
    EXPECT_EQ(back.at(3, 2), (report::Rgb{10, 200, 30}));
    EXPECT_EQ(back.at(6, 4), report::viridis(0.5));
    EXPECT_EQ(back.at(0, 0), (report::Rgb{255, 255, 255}));
    test::expect_error([] { report::decode_png({1, 2, 3}, "screenshot.png"); }, {"screenshot.png", "not a PNG"});
    test::expect_error([] { report::encode_png(report::RgbImage{}); }, {"empty image"});
}

TEST(ReportPng, ViridisRunsFromPurpleToYellow) {
    EXPECT_EQ(report::viridis(0.0), (report::Rgb{68, 1, 84}));
    EXPECT_EQ(report::viridis(1.0), (report::Rgb{253, 231, 37}));
    EXPECT_EQ(report::viridis(-3.0), report::viridis(0.0));  // clamped
    EXPECT_EQ(report::viridis(NAN), report::viridis(0.0));
}

TEST(ReportHtml, EscapesAndEncodes) {
    EXPECT_EQ(report::html::escape("a <b> & \"c\" 'd'"), "a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;");
    EXPECT_EQ(report::html::base64({}), "");
    EXPECT_EQ(report::html::base64({'f'}), "Zg==");
    EXPECT_EQ(report::html::base64({'f', 'o'}), "Zm8=");
    EXPECT_EQ(report::html::base64({'f', 'o', 'o', 'b', 'a', 'r'}), "Zm9vYmFy");
    EXPECT_EQ(report::html::fixed(-0.001, 1), "0.0");
    EXPECT_EQ(report::html::fixed(NAN, 1), "\u2013");
    EXPECT_EQ(report::svg::num(12.500), "12.5");
    EXPECT_EQ(report::svg::nice_ticks(0, 4.57, 10), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5}));
}

// A 20 ms burst in a minute of silence: frames pooled ~6 to a column must
// keep it (max, not mean), at its time, and the width stays bounded.
TEST(ReportSpectrogram, PoolsLongSignalsAndKeepsShortBursts) {
    std::vector<float> signal(std::size_t(60 * kRate), 0.0f);
    const std::vector<float> burst = test::sine(6000.0, 0.02, kRate);
    std::copy(burst.begin(), burst.end(), signal.begin() + 30 * kRate);
    report::SpectrogramBuilder builder(2000);
    for (std::size_t i = 0; i < signal.size(); i += 7000)  // chunking does not matter
        builder.push(std::span<const float>(signal).subspan(i, std::min<std::size_t>(7000, signal.size() - i)));
    const report::Spectrogram s = builder.finish();
    EXPECT_GE(s.columns, 1000);
    EXPECT_LE(s.columns, 2000);
    EXPECT_EQ(s.rows, 214);  // 0 .. 20 kHz in 93.75 Hz bins
    EXPECT_NEAR(s.first_s + s.seconds(), 60.0, 2 * s.seconds_per_column);
    // The loudest column is where the burst is, in the 6 kHz bin, about -9 dB (a 0.5 sine).
    int loudest = 0;
    for (int c = 0; c < s.columns; ++c)
        if (s.at(c, 64) > s.at(loudest, 64)) loudest = c;
    EXPECT_NEAR(s.first_s + (loudest + 0.5) * s.seconds_per_column, 30.01, s.seconds_per_column);
    EXPECT_NEAR(s.at(loudest, 64), -9.0, 3.0);
    test::expect_error([] { report::SpectrogramBuilder odd(3); }, {"max_columns"});
}

// The degraded is put on the reference's timeline: a copy delayed by 50 ms
// and 6 dB quieter gives the reference's spectrogram back.
TEST(ReportSpectrogram, AlignsTheDegradedOntoTheReference) {
    const std::vector<float> reference = test::speech_like(2.0, kRate);
    const std::int64_t delay = 2400;
    std::vector<float> degraded(std::size_t(delay), 0.0f);
    for (float x : reference) degraded.push_back(0.5f * x);
    report::SpectrogramBuilder a, b;
    a.push(reference);
    std::size_t pos = 0;
    report::push_aligned(
        b,
        [&](std::span<float> block) {
            const std::size_t n = std::min(block.size(), degraded.size() - pos);
            std::copy_n(degraded.begin() + std::ptrdiff_t(pos), n, block.begin());
            pos += n;
            return n;
        },
        delay, 2.0f, std::int64_t(reference.size()));
    const report::Spectrogram sa = a.finish(), sb = b.finish();
    ASSERT_EQ(sa.columns, sb.columns);
    double worst_db = 0;
    for (int c = 0; c < sa.columns; ++c)
        for (int k = 0; k < sa.rows; ++k)
            if (sa.at(c, k) > -80) worst_db = std::max(worst_db, double(std::abs(sa.at(c, k) - sb.at(c, k))));
    EXPECT_LT(worst_db, 0.01);
}

TEST(ReportPairPage, MarksEveryEventAndEscapesItsReason) {
    const std::vector<float> reference = test::speech_like(3.0, kRate);
    AnalysisResult result = analyze(reference, reference);
    ASSERT_GE(result.events.size(), 3u);
    result.events[0].why = "odd <why> & \"quotes\"";
    const std::string page = pair_report_html(result, reference, reference);
    const std::size_t n = result.events.size();
    EXPECT_EQ(count(page, "<svg class=\"spectrogram\""), 2u);
    EXPECT_EQ(count(page, "<image "), 2u);
    EXPECT_EQ(count(page, "href=\"data:image/png;base64,"), 2u);
    EXPECT_EQ(count(page, "<g class=\"event-mark "), 2 * n);  // on both spectrograms
    EXPECT_EQ(count(page, "<tr class=\"event-row "), n);
    EXPECT_EQ(count(page, "odd &lt;why&gt; &amp; &quot;quotes&quot;"), 3u);  // table row, two mark titles
    EXPECT_EQ(count(page, "<why>"), 0u);
    EXPECT_EQ(count(page, "http"), 0u);  // nothing fetched from the network
    EXPECT_NE(page.find("verdict</td><td><b>clean</b>"), std::string::npos);

    const AnalysisResult blind = analyze_no_reference(reference);
    const std::string blind_page = pair_report_html(blind, {}, reference);
    EXPECT_EQ(count(blind_page, "<image "), 1u);
    EXPECT_EQ(count(blind_page, "<g class=\"event-mark "), blind.events.size());
}

TEST(ReportPairPage, ShortSignalGetsANoteInsteadOfAnImage) {
    AnalysisResult result;
    result.mode = "no-reference";
    const std::vector<float> tiny(100, 0.1f);
    const std::string page = pair_report_html(result, {}, tiny);
    EXPECT_EQ(count(page, "<image "), 0u);
    EXPECT_NE(page.find("too short for a spectrogram"), std::string::npos);
    EXPECT_NE(page.find("No sibilant events."), std::string::npos);
}

TEST(ReportPairPage, ColoursEventsByVerdict) {
    SibilantEventResult e;
    EXPECT_EQ(event_verdict(e), "clean");
    e.flagged = true;
    e.lisp = 80;
    e.smearing = 60;
    EXPECT_EQ(event_verdict(e), "lisp");
    e.smearing = 90;
    EXPECT_EQ(event_verdict(e), "smearing");
    e.dropout = true;
    EXPECT_EQ(event_verdict(e), "dropout");
    e.compared = false;
    EXPECT_EQ(event_verdict(e), "not-compared");
}

// Two loss groups x three bitrates x three files.
std::vector<SweepRow> hand_made_sweep() {
    std::vector<SweepRow> rows;
    const char* losses[] = {"none", "bernoulli:0.05"};
    const int bitrates[] = {6000, 12000, 24000};
    for (int file = 0; file < 3; ++file)
        for (int l = 0; l < 2; ++l)
            for (int b = 0; b < 3; ++b) {
                SweepRow r;
                r.job = rows.size();
                r.file = "f" + std::to_string(file) + ".wav";
                r.profile = "ladder/bitrate_bps=" + std::to_string(bitrates[b]) + ",loss=" + losses[l];
                r.status = "ok";
                r.bitrate_bps = bitrates[b];
                r.application = "voip";
                r.bandwidth = r.max_bandwidth = "auto";
                r.rate_control = "vbr";
                r.signal = "auto";
                r.complexity = 10;
                r.frame_ms = 20;
                r.loss = losses[l];
                r.loss_percent = l * 5.0;
                r.lisp_index = 90.0 / (b + 1) + 10 * l + file;
                r.smearing_index = 10.0 + 5 * b + 20 * l - file;
                rows.push_back(r);
            }
    return rows;
}

TEST(ReportSweepPage, DrawsOneCurveAndBandPerLossGroup) {
    const std::vector<SweepRow> rows = hand_made_sweep();
    const SweepStats stats = compare_profiles(rows);
    const std::string page = sweep_report_html(stats, rows, "out/sweep <1>");
    EXPECT_EQ(count(page, "<svg class=\"plot "), 2u);         // lisp and smearing
    EXPECT_EQ(count(page, "<path class=\"curve\""), 2u * 2);  // one per loss group in each
    EXPECT_EQ(count(page, "<polygon class=\"ci-band\""), 2u * 2);
    EXPECT_EQ(count(page, "<circle class=\"point\""), 2u * 2 * 3);
    EXPECT_EQ(count(page, "<tr class=\"profile-row\""), 6u);
    EXPECT_EQ(count(page, "<tr class=\"knee-row\""), 2u);
    EXPECT_NE(page.find("sweep &lt;1&gt;"), std::string::npos);
    EXPECT_EQ(count(page, "data-series=\"loss=none\""), 2u);
    EXPECT_EQ(count(page, "http"), 0u);
}

}  // namespace
}  // namespace sibilant
