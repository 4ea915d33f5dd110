// Loss models, LossStats and loss specs.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "sibilant/error.hpp"
#include "sibilant/loss.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

using test::expect_error;

std::vector<bool> draw(const LossModelConfig& config, std::uint64_t seed, int packets) {
    LossModel model(config, seed);
    std::vector<bool> lost(static_cast<std::size_t>(packets));
    for (auto&& flag : lost) flag = model.next_lost();
    return lost;
}

LossStats stats_of(const std::vector<bool>& lost) {
    LossStats stats;
    for (bool flag : lost) stats.add(flag);
    return stats;
}


TEST(LossModel, NoneNeverLoses) {
    const auto lost = draw(LossModelConfig{}, 7, 1000);
    EXPECT_EQ(stats_of(lost).lost, 0);
}

TEST(LossModel, BernoulliRateWithinBinomialTolerance) {
    LossModelConfig config;
    config.kind = LossKind::Bernoulli;
    config.loss_probability = 0.1;
    const int n = 20000;
    const LossStats stats = stats_of(draw(config, 42, n));
    EXPECT_EQ(stats.packets, n);
    const double sigma = std::sqrt(n * 0.1 * 0.9);  // about 42 packets
    EXPECT_NEAR(static_cast<double>(stats.lost), n * 0.1, 4.0 * sigma);
    // Independent losses: mean burst is 1 / (1 - p).
    EXPECT_NEAR(stats.mean_burst_packets(), 1.0 / 0.9, 0.03);
}

TEST(LossModel, BernoulliEdges) {
    LossModelConfig config;
    config.kind = LossKind::Bernoulli;
    config.loss_probability = 0.0;
    EXPECT_EQ(stats_of(draw(config, 1, 1000)).lost, 0);
    config.loss_probability = 1.0;
    EXPECT_EQ(stats_of(draw(config, 1, 1000)).lost, 1000);
}

TEST(LossModel, GilbertElliottMeanBurstIsOneOverR) {
    LossModelConfig config;
    config.kind = LossKind::GilbertElliott;
    config.p_good_to_bad = 0.05;
    config.r_bad_to_good = 0.25;
    const int n = 40000;
    const LossStats stats = stats_of(draw(config, 3, n));
    // Bursts are the bad-state stays: geometric with mean 1/r = 4 packets.
    EXPECT_NEAR(stats.mean_burst_packets(), 4.0, 0.3);
    // Stationary loss rate p / (p + r) = 1/6.
    EXPECT_NEAR(stats.loss_rate(), 0.05 / 0.30, 0.02);
    EXPECT_GT(stats.max_burst_packets, 10);
}

TEST(LossModel, GilbertElliottDecidesInCurrentStateThenMoves) {
    // p = 1, r = 1: state alternates good, bad, good, ... starting good, and
    // with loss 0 in good and 1 in bad the first packet is received.
    LossModelConfig config;
    config.kind = LossKind::GilbertElliott;
    config.p_good_to_bad = 1.0;
    config.r_bad_to_good = 1.0;
    const auto lost = draw(config, 9, 6);
    EXPECT_EQ(lost, (std::vector<bool>{false, true, false, true, false, true}));
}

TEST(LossModel, TraceIsAppliedExactlyAndRepeats) {
    LossModelConfig config;
    config.kind = LossKind::Trace;
    config.trace = {0, 1, 1, 0, 1};
    const auto lost = draw(config, 123, 12);
    EXPECT_EQ(lost, (std::vector<bool>{false, true, true, false, true, false, true, true, false, true, false, true}));
}

TEST(LossModel, SameSeedSamePatternOtherSeedOtherPattern) {
    LossModelConfig config;
    config.kind = LossKind::Bernoulli;
    config.loss_probability = 0.3;
    EXPECT_EQ(draw(config, 5, 500), draw(config, 5, 500));
    EXPECT_NE(draw(config, 5, 500), draw(config, 6, 500));
}

TEST(LossModel, KnownSequenceIsPlatformIndependent) {
    // splitmix64 from seed 0 starts with 0xE220A8397B1DCDAF; its top 53 bits
    // give u = 0.88331..., above 0.5, then 0x6E789E6AA1B965F4 -> 0.43152...
    LossModelConfig config;
    config.kind = LossKind::Bernoulli;
    config.loss_probability = 0.5;
    EXPECT_EQ(draw(config, 0, 2), (std::vector<bool>{false, true}));
}

TEST(LossModel, InvalidConfigThrowsNamingField) {
    LossModelConfig config;
    config.kind = LossKind::Bernoulli;
    config.loss_probability = 1.5;
    expect_error([&] { LossModel model(config, 1); }, {"loss_probability", "1.5", "0..1"});
    config = {};
    config.kind = LossKind::GilbertElliott;
    config.r_bad_to_good = -0.1;
    expect_error([&] { validate(config); }, {"r_bad_to_good", "-0.1"});
    config = {};
    config.kind = LossKind::Trace;
    expect_error([&] { validate(config); }, {"trace", "empty"});
    config.trace = {0, 2};
    expect_error([&] { validate(config); }, {"trace flag 1", "2"});
}

TEST(LossStats, BurstsAndHistogram) {
    // lost runs: 2, 1, 3 (the last one still running)
    const LossStats stats = stats_of({true, true, false, false, true, false, true, true, true});
    EXPECT_EQ(stats.packets, 9);
    EXPECT_EQ(stats.lost, 6);
    EXPECT_EQ(stats.bursts, 3);
    EXPECT_EQ(stats.max_burst_packets, 3);
    EXPECT_EQ(stats.burst_histogram, (std::vector<std::int64_t>{1, 1, 1}));
    EXPECT_DOUBLE_EQ(stats.mean_burst_packets(), 2.0);
    EXPECT_DOUBLE_EQ(stats.loss_rate(), 6.0 / 9.0);
}

TEST(LossSpec, ParsesEachKindAndDescribesCanonically) {
    EXPECT_EQ(parse_loss_spec("none").kind, LossKind::None);
    EXPECT_EQ(describe(parse_loss_spec("none")), "none");

    const LossModelConfig b = parse_loss_spec("bernoulli:0.1");
    EXPECT_EQ(b.kind, LossKind::Bernoulli);
    EXPECT_DOUBLE_EQ(b.loss_probability, 0.1);
    EXPECT_EQ(describe(b), "bernoulli:0.1");

    const LossModelConfig ge2 = parse_loss_spec("ge:0.05,0.5");
    EXPECT_EQ(ge2.kind, LossKind::GilbertElliott);
    EXPECT_DOUBLE_EQ(ge2.p_good_to_bad, 0.05);
    EXPECT_DOUBLE_EQ(ge2.r_bad_to_good, 0.5);
    EXPECT_DOUBLE_EQ(ge2.loss_in_good, 0.0);
    EXPECT_DOUBLE_EQ(ge2.loss_in_bad, 1.0);
    EXPECT_EQ(describe(ge2), "ge:0.05,0.5,0,1");

    const LossModelConfig ge4 = parse_loss_spec("ge:0.01,0.3,0.02,0.8");
    EXPECT_DOUBLE_EQ(ge4.loss_in_good, 0.02);
    EXPECT_DOUBLE_EQ(ge4.loss_in_bad, 0.8);
    // The canonical text reads back as the same model.
    EXPECT_EQ(describe(parse_loss_spec(describe(ge4))), describe(ge4));
}

TEST(LossSpec, ReadsTraceFileWithComments) {
    test::TempDir dir;
    const std::string path = (dir / "trace.txt").string();
    {
        std::ofstream out(path);
        out << "# packet trace\n0 1 1\n\n  0\t1 # the fifth\n1\n";
    }
    const LossModelConfig config = parse_loss_spec("trace:" + path);
    EXPECT_EQ(config.kind, LossKind::Trace);
    EXPECT_EQ(config.trace, (std::vector<std::uint8_t>{0, 1, 1, 0, 1, 1}));
    EXPECT_EQ(config.trace_source, path);
    EXPECT_EQ(describe(config), "trace:" + path + " (6 packets)");
}

TEST(LossSpec, TraceFileErrorsNameFileAndLine) {
    test::TempDir dir;
    const std::string missing = (dir / "missing.txt").string();
    expect_error([&] { parse_loss_spec("trace:" + missing); }, {missing.c_str(), "cannot open"});

    const std::string bad = (dir / "bad.txt").string();
    {
        std::ofstream out(bad);
        out << "0 1\n# fine\n1 x 0\n";
    }
    expect_error([&] { parse_loss_spec("trace:" + bad); }, {bad.c_str(), "line 3", "\"x\""});

    const std::string empty = (dir / "empty.txt").string();
    {
        std::ofstream out(empty);
        out << "# nothing here\n\n";
    }
    expect_error([&] { parse_loss_spec("trace:" + empty); }, {empty.c_str(), "empty"});
    expect_error([] { parse_loss_spec("trace:"); }, {"trace:FILE"});
}

TEST(LossSpec, MalformedSpecsThrowNamingTheSpec) {
    expect_error([] { parse_loss_spec("bernoulli:abc"); }, {"bernoulli:abc", "0..1"});
    expect_error([] { parse_loss_spec("bernoulli:1.5"); }, {"bernoulli:1.5", "loss_probability", "outside 0..1"});
    expect_error([] { parse_loss_spec("bernoulli"); }, {"bernoulli:P"});
    expect_error([] { parse_loss_spec("bernoulli:nan"); }, {"bernoulli:nan"});
    expect_error([] { parse_loss_spec("ge:0.1"); }, {"ge:0.1", "ge:P,R"});
    expect_error([] { parse_loss_spec("ge:0.1,0.2,0.3"); }, {"ge:P,R"});
    expect_error([] { parse_loss_spec("ge:0.1,x"); }, {"R", "\"x\""});
    expect_error([] { parse_loss_spec("ge:0.1,2"); }, {"r_bad_to_good", "2"});
    expect_error([] { parse_loss_spec("burst:0.1"); }, {"unknown loss model", "burst"});
    expect_error([] { parse_loss_spec(""); }, {"unknown loss model"});
    expect_error([] { parse_loss_spec("none:1"); }, {"none"});
}

}  // namespace
}  // namespace sibilant
