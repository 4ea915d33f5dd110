// Statistics over sweep results: bootstrap intervals, paired comparisons,
// knees, and reading results.csv.
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sibilant/compare.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

using test::expect_error;
using test::TempDir;

// An ok row of `profile` for `file`; settings default to one loss group.
SweepRow row(const std::string& file, const std::string& profile, double lisp, double smearing = 0,
             int bitrate_bps = 24000) {
    SweepRow r;
    r.file = file;
    r.profile = profile;
    r.status = "ok";
    r.bitrate_bps = bitrate_bps;
    r.application = "voip";
    r.loss = "none";
    r.lisp_index = lisp;
    r.smearing_index = smearing;
    return r;
}

// "f<i>". Not written "f" + std::to_string(i): GCC 12 warns falsely
// (-Wrestrict) on that once inlined.
std::string file_name(std::size_t i) {
    std::string name = "f";
    name += std::to_string(i);
    return name;
}

// One profile whose files have these lisp_index values.
std::vector<SweepRow> one_profile(const std::vector<double>& lisp, const std::string& profile = "p") {
    std::vector<SweepRow> rows;
    for (std::size_t i = 0; i < lisp.size(); ++i) rows.push_back(row(file_name(i), profile, lisp[i]));
    return rows;
}

// n normal values (Box-Muller on mt19937_64, whose output the standard fixes).
std::vector<double> normal_sample(std::size_t n, double mean, double sd, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<double> values;
    while (values.size() < n) {
        const double u1 = (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;
        const double u2 = static_cast<double>(rng() >> 11) * 0x1.0p-53;
        values.push_back(mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
    }
    return values;
}

CompareOptions with_seed(std::uint64_t seed) {
    CompareOptions o;
    o.seed = seed;
    return o;
}

// --- bootstrap ------------------------------------------------------------------

TEST(CompareBootstrap, ConstantValuesGiveZeroWidth) {
    const SweepStats stats = compare_profiles(one_profile(std::vector<double>(30, 12.34)));
    ASSERT_EQ(stats.profiles.size(), 1u);
    const MeanCi& m = stats.profiles[0].lisp;
    EXPECT_EQ(m.n, 30);
    EXPECT_EQ(m.low, m.mean);
    EXPECT_EQ(m.high, m.mean);
    EXPECT_NEAR(m.mean, 12.34, 1e-12);
}

TEST(CompareBootstrap, NormalSampleMatchesTheTextbookInterval) {
    const std::vector<double> x = normal_sample(200, 30.0, 10.0, 7);
    const double n = static_cast<double>(x.size());
    double mean = 0, ss = 0;
    for (double v : x) mean += v;
    mean /= n;
    for (double v : x) ss += (v - mean) * (v - mean);
    const double half_width = 1.96 * std::sqrt(ss / (n - 1)) / std::sqrt(n);  // ~1.39
    const MeanCi m = compare_profiles(one_profile(x)).profiles[0].lisp;
    EXPECT_NEAR(m.mean, mean, 1e-9);
    // The bootstrap quantiles scatter by a few percent of the width with
    // B = 2000; 12% is far outside that and far inside any real error.
    EXPECT_NEAR(m.low, mean - half_width, 0.12 * half_width);
    EXPECT_NEAR(m.high, mean + half_width, 0.12 * half_width);
}

TEST(CompareBootstrap, DeterministicForASeedAndSlightlyDifferentForAnother) {
    const auto rows = one_profile(normal_sample(50, 40.0, 15.0, 3));
    const MeanCi a = compare_profiles(rows, with_seed(1)).profiles[0].lisp;
    const MeanCi b = compare_profiles(rows, with_seed(1)).profiles[0].lisp;
    const MeanCi c = compare_profiles(rows, with_seed(2)).profiles[0].lisp;
    EXPECT_EQ(a.low, b.low);
    EXPECT_EQ(a.high, b.high);
    EXPECT_NE(a.low, c.low);
    EXPECT_EQ(a.mean, c.mean);
    const double width = a.high - a.low;
    EXPECT_NEAR(a.low, c.low, 0.1 * width);
    EXPECT_NEAR(a.high, c.high, 0.1 * width);
}

// Pinned values: the generator, the index derivation and the quantiles use
// integer and IEEE arithmetic only, so these hold on every platform. A change
// here changes every published interval; do it on purpose only. (Checked
// against an independent Python version of the definition in compare.hpp.)
TEST(CompareBootstrap, PinnedValuesForSeedOne) {
    const MeanCi m = compare_profiles(one_profile({10, 20, 30, 40, 50, 60, 70, 80})).profiles[0].lisp;
    EXPECT_DOUBLE_EQ(m.mean, 45.0);
    EXPECT_NEAR(m.low, 28.75, 1e-9);
    EXPECT_NEAR(m.high, 61.25, 1e-9);
}

TEST(CompareBootstrap, OneFileGivesItsValueAndNoFileGivesNaN) {
    std::vector<SweepRow> rows = one_profile({37.5}, "single");
    SweepRow failed = row("f0", "failed", 0);
    failed.status = "error";
    failed.error = "cannot decode";
    rows.push_back(failed);
    const SweepStats stats = compare_profiles(rows);
    ASSERT_EQ(stats.profiles.size(), 2u);
    const MeanCi& one = stats.profiles[0].lisp;
    EXPECT_EQ(one.n, 1);
    EXPECT_EQ(one.mean, 37.5);
    EXPECT_EQ(one.low, 37.5);
    EXPECT_EQ(one.high, 37.5);
    const ProfileStats& none = stats.profiles[1];
    EXPECT_EQ(none.files, 0);
    EXPECT_EQ(none.failed, 1);
    EXPECT_EQ(none.lisp.n, 0);
    EXPECT_TRUE(std::isnan(none.lisp.mean));
    EXPECT_TRUE(std::isnan(none.lisp.low));
    EXPECT_TRUE(std::isnan(none.smearing.high));
    EXPECT_NE(to_text(stats).find("failed"), std::string::npos);
    const auto j = nlohmann::json::parse(to_json(stats));
    EXPECT_TRUE(j["profiles"][1]["lisp_index"]["mean"].is_null());
}

TEST(CompareBootstrap, FilesWithoutSibilantsToScoreAreLeftOut) {
    // The CSV holds 0.00 for them: a placeholder, not a clean result.
    std::vector<SweepRow> rows = one_profile({40, 60});
    rows.push_back(row("silence", "p", 0));
    rows.back().verdict = "no-sibilants";
    rows.push_back(row("unaligned", "p", 0));
    rows.back().verdict = "not-compared";
    const ProfileStats p = compare_profiles(rows).profiles.at(0);
    EXPECT_EQ(p.files, 2);
    EXPECT_EQ(p.unscored, 2);
    EXPECT_EQ(p.failed, 0);
    EXPECT_DOUBLE_EQ(p.lisp.mean, 50.0);
}

TEST(CompareBootstrap, AProfilesIntervalDoesNotDependOnOtherProfiles) {
    const auto alone = one_profile(normal_sample(40, 20.0, 5.0, 11), "x");
    auto with_others = one_profile(normal_sample(40, 60.0, 5.0, 12), "y");
    with_others.insert(with_others.end(), alone.begin(), alone.end());
    const MeanCi a = compare_profiles(alone).profiles[0].lisp;
    const MeanCi b = compare_profiles(with_others).profiles[1].lisp;
    EXPECT_EQ(a.low, b.low);
    EXPECT_EQ(a.high, b.high);
}

TEST(CompareBootstrap, HigherConfidenceGivesAWiderInterval) {
    const auto rows = one_profile(normal_sample(60, 50.0, 10.0, 5));
    CompareOptions narrow, wide;
    narrow.confidence = 0.8;
    wide.confidence = 0.99;
    const MeanCi n = compare_profiles(rows, narrow).profiles[0].lisp;
    const MeanCi w = compare_profiles(rows, wide).profiles[0].lisp;
    EXPECT_LT(w.low, n.low);
    EXPECT_GT(w.high, n.high);
}

TEST(CompareBootstrap, OptionsOutOfRangeAreErrors) {
    const auto rows = one_profile({1, 2, 3});
    CompareOptions o;
    o.bootstrap_resamples = 0;
    expect_error([&] { compare_profiles(rows, o); }, {"bootstrap resamples"});
    o = {};
    o.confidence = 1.0;
    expect_error([&] { compare_profiles(rows, o); }, {"confidence"});
    o = {};
    o.knee_lisp_threshold = -1;
    expect_error([&] { compare_profiles(rows, o); }, {"threshold"});
}

// --- paired comparisons -------------------------------------------------------------

TEST(ComparePairs, DifferencesSharesAndWords) {
    // A lisps less than B by 1..9 points on nine files, the same on one.
    std::vector<SweepRow> rows;
    for (int i = 0; i < 10; ++i) {
        const std::string file = file_name(i);
        rows.push_back(row(file, "16k-fec-5", 50.0 - i, 10.0, 16000));
        rows.push_back(row(file, "24k", 50.0, 10.0, 24000));
    }
    const SweepStats stats = compare_profiles(rows);
    ASSERT_EQ(stats.pairs.size(), 1u);
    const PairedComparison& c = stats.pairs[0];
    EXPECT_EQ(c.a, "16k-fec-5");
    EXPECT_EQ(c.b, "24k");
    EXPECT_EQ(c.files, 10);
    EXPECT_NEAR(c.lisp_difference.mean, -4.5, 1e-12);
    EXPECT_LT(c.lisp_difference.high, 0.0);
    EXPECT_GT(c.lisp_difference.low, -9.0);
    EXPECT_DOUBLE_EQ(c.share_a_lower_lisp, 0.9);
    EXPECT_DOUBLE_EQ(c.share_a_higher_lisp, 0.0);
    EXPECT_EQ(c.smearing_difference.mean, 0.0);
    EXPECT_EQ(c.smearing_difference.low, 0.0);
    const std::string text = to_text(stats);
    EXPECT_NE(text.find("16k-fec-5 has a lower lisp_index than 24k by 4.5 ["), std::string::npos) << text;
    EXPECT_NE(text.find("lower in 9 of 10 files (equal in 1)"), std::string::npos) << text;
}

TEST(ComparePairs, OnlyFilesBothProfilesHaveCount) {
    std::vector<SweepRow> rows = {row("f1", "a", 10), row("f2", "a", 20), row("f3", "a", 30),
                                  row("f1", "b", 15), row("f3", "b", 25)};
    SweepRow failed = row("f2", "b", 0);
    failed.status = "error";
    rows.push_back(failed);
    const PairedComparison c = compare_profiles(rows).pairs.at(0);
    EXPECT_EQ(c.files, 2);
    EXPECT_NEAR(c.lisp_difference.mean, 0.0, 1e-12);  // -5 and +5
    EXPECT_DOUBLE_EQ(c.share_a_lower_lisp, 0.5);
    EXPECT_DOUBLE_EQ(c.share_a_higher_lisp, 0.5);
}

TEST(ComparePairs, SelectionAllAdjacentNoneAndNamed) {
    // 13 profiles (more than 12): two loss groups.
    std::vector<SweepRow> rows;
    const std::vector<int> bitrates = {6000, 8000, 12000, 16000, 24000, 32000, 64000};
    for (int i = 0; i < 2; ++i) {
        for (int bitrate : bitrates) {
            SweepRow r = row(file_name(i), std::to_string(bitrate / 1000) + "k", 10, 0, bitrate);
            rows.push_back(r);
            if (bitrate == 64000) continue;  // 7 + 6 = 13 profiles
            r.profile += "-lossy";
            r.loss = "bernoulli:0.05";
            rows.push_back(r);
        }
    }
    SweepStats stats = compare_profiles(rows);
    ASSERT_EQ(stats.profiles.size(), 13u);
    EXPECT_EQ(stats.pairs.size(), 6u + 5u);  // neighbours in bitrate, per group
    EXPECT_EQ(stats.pairs[0].a, "6k");
    EXPECT_EQ(stats.pairs[0].b, "8k");

    CompareOptions o;
    o.pair_selection = PairSelection::All;
    EXPECT_EQ(compare_profiles(rows, o).pairs.size(), 13u * 12u / 2u);

    o.pair_selection = PairSelection::None;
    o.extra_pairs = {{"16k-lossy", "24k"}};
    stats = compare_profiles(rows, o);
    ASSERT_EQ(stats.pairs.size(), 1u);
    EXPECT_EQ(stats.pairs[0].a, "16k-lossy");

    // A named pair comes first and is not repeated by the selection, in
    // either direction.
    o.pair_selection = PairSelection::Automatic;
    o.extra_pairs = {{"8k", "6k"}};
    stats = compare_profiles(rows, o);
    EXPECT_EQ(stats.pairs.size(), 11u);
    EXPECT_EQ(stats.pairs[0].a, "8k");

    o.extra_pairs = {{"8k", "nope"}};
    expect_error([&] { compare_profiles(rows, o); }, {"no profile named 'nope'", "6k, "});
    o.extra_pairs = {{"8k", "8k"}};
    expect_error([&] { compare_profiles(rows, o); }, {"itself"});
}

TEST(ComparePairs, TwoRowsForOneFileAndProfileAreAnError) {
    std::vector<SweepRow> rows = {row("f1", "a", 10), row("f1", "a", 12)};
    rows[1].job = 7;
    expect_error([&] { compare_profiles(rows); }, {"f1", "'a'", "jobs 0 and 7"});
}

// --- knees ----------------------------------------------------------------------

// Profile `name` at `bitrate_bps` in loss group `loss` with these per-file lisp values.
void add_profile(std::vector<SweepRow>& rows, const std::string& name, int bitrate_bps, const std::string& loss,
                 const std::vector<double>& lisp, bool fec = false) {
    for (std::size_t i = 0; i < lisp.size(); ++i) {
        SweepRow r = row(file_name(i), name, lisp[i], 0, bitrate_bps);
        r.loss = loss;
        r.fec = fec;
        r.loss_percent = loss == "none" ? 0 : 5;
        rows.push_back(r);
    }
}

TEST(CompareKnee, LowestBitrateUnderTheThresholdPerLossGroup) {
    std::vector<SweepRow> rows;
    add_profile(rows, "24k", 24000, "none", {5, 6, 7});
    add_profile(rows, "6k", 6000, "none", {90, 95, 99});
    add_profile(rows, "12k", 12000, "none", {15, 18, 24});  // mean 19: under 20, CI not
    add_profile(rows, "12k-5", 12000, "bernoulli:0.05", {30, 35, 40}, true);
    add_profile(rows, "24k-5", 24000, "bernoulli:0.05", {8, 9, 10}, true);
    const SweepStats stats = compare_profiles(rows);
    ASSERT_EQ(stats.knees.size(), 2u);
    const Knee& clean = stats.knees[0];
    EXPECT_EQ(clean.group, "loss=none, fec=false");
    EXPECT_EQ(clean.bitrate_bps, 12000);
    EXPECT_EQ(clean.profile, "12k");
    EXPECT_NEAR(clean.lisp_index, 19.0, 1e-12);
    EXPECT_FALSE(clean.ci_under);
    EXPECT_EQ(clean.loss_percent, 0.0);
    const Knee& lossy = stats.knees[1];
    EXPECT_EQ(lossy.group, "loss=bernoulli:0.05, fec=true");
    EXPECT_EQ(lossy.bitrate_bps, 24000);
    EXPECT_TRUE(lossy.ci_under);
    EXPECT_TRUE(lossy.fec);
    EXPECT_EQ(lossy.loss_percent, 5.0);
    EXPECT_EQ(stats.profiles[3].loss_group, lossy.group);  // 12k-5
    EXPECT_EQ(stats.profiles[0].loss_group, clean.group);
    EXPECT_NE(to_text(stats).find("loss=none, fec=false: 12 kbps (12k)"), std::string::npos) << to_text(stats);
}

TEST(CompareKnee, NoneUnderTheThreshold) {
    std::vector<SweepRow> rows;
    add_profile(rows, "6k", 6000, "none", {90, 95});
    add_profile(rows, "12k", 12000, "none", {40, 45});
    const SweepStats stats = compare_profiles(rows);
    ASSERT_EQ(stats.knees.size(), 1u);
    EXPECT_EQ(stats.knees[0].group, "all profiles");
    EXPECT_EQ(stats.knees[0].bitrate_bps, 0);
    EXPECT_TRUE(stats.knees[0].profile.empty());
    EXPECT_TRUE(std::isnan(stats.knees[0].lisp_index));
    EXPECT_NE(to_text(stats).find("all profiles: none"), std::string::npos);
}

TEST(CompareKnee, TiesAndGaps) {
    std::vector<SweepRow> rows;
    add_profile(rows, "8k", 8000, "none", {20, 20});       // exactly the threshold: not under
    add_profile(rows, "12k-a", 12000, "none", {10, 12});   // same bitrate as 12k-b: first in order wins
    add_profile(rows, "12k-b", 12000, "none", {1, 2});
    add_profile(rows, "16k", 16000, "none", {25, 30});     // over again above the knee
    SweepRow failed = row("f0", "6k", 0, 0, 6000);         // no ok file: takes no part
    failed.status = "error";
    rows.push_back(failed);
    const Knee k = compare_profiles(rows).knees.at(0);
    EXPECT_EQ(k.bitrate_bps, 12000);
    EXPECT_EQ(k.profile, "12k-a");
    EXPECT_EQ(k.higher_bitrates_over, 1);

    CompareOptions o;
    o.knee_lisp_threshold = 20.01;  // now 8k is under
    EXPECT_EQ(compare_profiles(rows, o).knees.at(0).bitrate_bps, 8000);
}

// --- reading results.csv -----------------------------------------------------------

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

const char* kHeader =
    "job,file,profile,status,error,seed,bitrate_bps,application,complexity,frame_ms,bandwidth,max_bandwidth,"
    "rate_control,signal,fec,expected_loss_percent,dtx,loss,loss_percent,realised_loss_percent,duration_s,"
    "sibilants,compared,flagged,lisp_flagged,smearing_flagged,dropouts,lisp_index,smearing_index,"
    "degraded_bandwidth_hz,verdict,delay_ms,gain_db\n";

TEST(CompareRead, ReadsAResultsCsvWithQuotesAndErrorRows) {
    TempDir dir;
    write_text(dir / "results.csv",
               std::string(kHeader) +
                   "0,a.flac,16k-fec-5,ok,,11,16000,voip,10,20,auto,auto,vbr,auto,true,5,false,bernoulli:0.05,5.00,"
                   "4.80,3.125,15,14,3,2,1,0,12.50,30.25,8000,lisp,2.50,-0.10\r\n"
                   "1,\"dir, with comma/b.flac\",16k-fec-5,ok,,12,16000,voip,10,20,auto,auto,vbr,auto,true,5,false,"
                   "bernoulli:0.05,5.00,5.10,2.000,10,10,0,0,0,0,7.50,10.00,8000,clean,0.00,0.00\n"
                   "2,c.flac,16k-fec-5,error,\"decode failed: \"\"c.flac\"\", line one\nline two\",13,16000,voip,"
                   "10,20,auto,auto,vbr,auto,true,5,false,bernoulli:0.05,5.00,,,,,,,,,,,,,,\n"
                   "\n");
    // A folder stands for its results.csv.
    const std::vector<SweepRow> rows = read_sweep_results(dir.path().string());
    ASSERT_EQ(rows.size(), 3u);
    const SweepRow& a = rows[0];
    EXPECT_EQ(a.file, "a.flac");
    EXPECT_EQ(a.profile, "16k-fec-5");
    EXPECT_EQ(a.seed, 11u);
    EXPECT_EQ(a.bitrate_bps, 16000);
    EXPECT_TRUE(a.fec);
    EXPECT_FALSE(a.dtx);
    EXPECT_EQ(a.expected_loss_percent, 5);
    EXPECT_EQ(a.loss, "bernoulli:0.05");
    EXPECT_DOUBLE_EQ(a.realised_loss_percent, 4.8);
    EXPECT_DOUBLE_EQ(a.duration_s, 3.125);
    EXPECT_EQ(a.sibilants, 15);
    EXPECT_DOUBLE_EQ(a.lisp_index, 12.5);
    EXPECT_DOUBLE_EQ(a.smearing_index, 30.25);
    EXPECT_EQ(a.verdict, "lisp");
    EXPECT_DOUBLE_EQ(a.gain_db, -0.1);
    EXPECT_EQ(rows[1].file, "dir, with comma/b.flac");
    EXPECT_EQ(rows[2].status, "error");
    EXPECT_EQ(rows[2].error, "decode failed: \"c.flac\", line one\nline two");
    EXPECT_EQ(rows[2].job, 2u);

    const SweepStats stats = compare_profiles(rows);
    ASSERT_EQ(stats.profiles.size(), 1u);
    EXPECT_EQ(stats.profiles[0].files, 2);
    EXPECT_EQ(stats.profiles[0].failed, 1);
    EXPECT_DOUBLE_EQ(stats.profiles[0].lisp.mean, 10.0);
}

TEST(CompareRead, ColumnsByNameInAnyOrderWithOnlyTheNeededOnes) {
    TempDir dir;
    write_text(dir / "mine.csv",
               "lisp_index,note,profile,file,smearing_index,status,bitrate_bps\n"
               "10,x,p,a,1,ok,6000\n"
               "\"20\",y,p,b,2,ok,6000\n");
    const auto rows = read_sweep_results((dir / "mine.csv").string());
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1].lisp_index, 20.0);
    EXPECT_EQ(rows[1].file, "b");
}

TEST(CompareRead, BadCsvNamesTheFileLineAndColumn) {
    TempDir dir;
    const std::string csv = (dir / "results.csv").string();
    const std::string ok_row = "0,a,p,ok,,1,6000,voip,10,20,auto,auto,vbr,auto,false,0,false,none,0.00,0.00,"
                               "1.000,5,5,0,0,0,0,10.00,5.00,8000,clean,0.00,0.00\n";
    const auto with_row = [&](const std::string& bad) { write_text(csv, kHeader + ok_row + bad); };

    with_row("1,b,p,ok,,1,6000,voip,10,20,auto,auto,vbr,auto,false,0,false,none,0.00,0.00,"
             "1.000,5,5,0,0,0,0,ten,5.00,8000,clean,0.00,0.00\n");
    expect_error([&] { read_sweep_results(csv); }, {csv.c_str(), "line 3", "column lisp_index", "'ten'"});
    with_row("1,b,p,ok,,1,6000,voip,10,20,auto,auto,vbr,auto,maybe,0,false,none,0.00,0.00,"
             "1.000,5,5,0,0,0,0,10.00,5.00,8000,clean,0.00,0.00\n");
    expect_error([&] { read_sweep_results(csv); }, {"line 3", "column fec", "true or false"});
    with_row("1,b,p,done,,1,6000,voip,10,20,auto,auto,vbr,auto,false,0,false,none,0.00,0.00,"
             "1.000,5,5,0,0,0,0,10.00,5.00,8000,clean,0.00,0.00\n");
    expect_error([&] { read_sweep_results(csv); }, {"line 3", "column status", "ok or error"});
    with_row("1,b,p,ok,,1,6000,voip,10,20,auto,auto,vbr,auto,false,0,false,none,0.00,0.00,"
             "1.000,5,5,0,0,0,0,,5.00,8000,clean,0.00,0.00\n");
    expect_error([&] { read_sweep_results(csv); }, {"line 3", "column lisp_index", "empty"});
    with_row("1,b,p,ok,,1,6000,voip,10,20,auto,auto,vbr,auto,false,0,false,none,0.00,0.00,"
             "1.000,5,5,0,0,0,0,130.00,5.00,8000,clean,0.00,0.00\n");
    expect_error([&] { read_sweep_results(csv); }, {"line 3", "column lisp_index", "0 to 100"});
    with_row("1,b,p,ok,,1,6000.5,voip,10,20,auto,auto,vbr,auto,false,0,false,none,0.00,0.00,"
             "1.000,5,5,0,0,0,0,10.00,5.00,8000,clean,0.00,0.00\n");
    expect_error([&] { read_sweep_results(csv); }, {"line 3", "column bitrate_bps", "integer"});
    with_row("1,b,p,ok\n");
    expect_error([&] { read_sweep_results(csv); }, {"line 3", "expected 33 fields", "found 4"});
    with_row("1,\"b,p,ok\n");
    expect_error([&] { read_sweep_results(csv); }, {"line 3", "unterminated quote"});

    write_text(csv, "file,profile,status,bitrate_bps,lisp_index\na,p,ok,6000,1\n");
    expect_error([&] { read_sweep_results(csv); }, {"line 1", "lacks the column smearing_index"});
    write_text(csv, kHeader);
    expect_error([&] { read_sweep_results(csv); }, {csv.c_str(), "no results"});
    write_text(csv, "");
    expect_error([&] { read_sweep_results(csv); }, {csv.c_str(), "empty"});
    expect_error([&] { read_sweep_results((dir / "none.csv").string()); }, {"none.csv", "no such file"});
    TempDir empty_folder;
    expect_error([&] { read_sweep_results(empty_folder.path().string()); }, {"results.csv", "no such file"});
}

TEST(CompareJson, HoldsEverySection) {
    std::vector<SweepRow> rows;
    add_profile(rows, "6k", 6000, "none", {90, 95, 80});
    add_profile(rows, "24k", 24000, "none", {5, 6, 2});
    const auto j = nlohmann::json::parse(to_json(compare_profiles(rows), false));
    EXPECT_EQ(j["options"]["bootstrap_resamples"], 2000);
    EXPECT_EQ(j["profiles"].size(), 2u);
    EXPECT_EQ(j["profiles"][0]["settings"]["bitrate_bps"], 6000);
    EXPECT_NEAR(j["profiles"][1]["lisp_index"]["mean"].get<double>(), 4.333, 1e-9);
    EXPECT_EQ(j["pairs"][0]["a"], "6k");
    EXPECT_EQ(j["pairs"][0]["share_a_lower_lisp"], 0.0);
    EXPECT_EQ(j["knees"][0]["bitrate_bps"], 24000);
    EXPECT_EQ(j["knees"][0]["ci_under"], true);
}

}  // namespace
}  // namespace sibilant
