// Resampler: output length, preserved tone, time alignment and chunking
// independence for the conversions sibilant meets in practice.
#include "sibilant/resampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "sibilant/error.hpp"
#include "test_support.hpp"

namespace {

using sibilant::Resampler;
using sibilant::resample;
using sibilant::test::rms;
using sibilant::test::sine;

struct RatePair {
    int in_hz;
    int out_hz;
};

const RatePair kPairs[] = {{44100, 48000}, {48000, 44100}, {16000, 48000}};

std::size_t expected_length(std::size_t n_in, const RatePair& p) {
    return static_cast<std::size_t>(std::llround(double(n_in) * p.out_hz / p.in_hz));
}

std::vector<float> slice(const std::vector<float>& x, std::size_t from, std::size_t to) {
    return std::vector<float>(x.begin() + static_cast<std::ptrdiff_t>(from),
                              x.begin() + static_cast<std::ptrdiff_t>(to));
}

// Feeds `in` in random chunk sizes (1..max_chunk, including empty ones).
std::vector<float> resample_in_chunks(const std::vector<float>& in, const RatePair& p, unsigned seed,
                                      std::size_t max_chunk) {
    Resampler resampler(p.in_hz, p.out_hz);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> chunk(0, max_chunk);
    std::vector<float> out;
    std::size_t at = 0;
    while (at < in.size()) {
        const std::size_t n = std::min(chunk(rng), in.size() - at);
        resampler.process(std::span<const float>(in.data() + at, n), out);
        at += n;
    }
    resampler.flush(out);
    return out;
}

}  // namespace

TEST(Resampler, OutputLengthIsRoundedRatio) {
    for (const RatePair& p : kPairs)
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1000},
                              std::size_t{12345}, std::size_t{44100}, std::size_t{100001}}) {
            const std::vector<float> in(n, 0.25f);
            EXPECT_EQ(resample(in, p.in_hz, p.out_hz).size(), expected_length(n, p))
                << p.in_hz << " -> " << p.out_hz << ", " << n << " samples";
        }
}

TEST(Resampler, SinePreservesFrequencyAndAmplitude) {
    for (const RatePair& p : kPairs) {
        const double frequency_hz = 1000.0;
        const double amplitude = 0.5;
        const std::vector<float> in = sine(frequency_hz, 1.0, p.in_hz, amplitude);
        const std::vector<float> out = resample(in, p.in_hz, p.out_hz);
        const std::vector<float> ideal = sine(frequency_hz, 1.0, p.out_hz, amplitude);
        ASSERT_EQ(out.size(), ideal.size());

        // Away from the edges, where the filter sees the start/end of the signal.
        const std::size_t margin = static_cast<std::size_t>(p.out_hz / 10);
        const std::vector<float> middle = slice(out, margin, out.size() - margin);
        const double level_db = 20.0 * std::log10(rms(middle) / (amplitude / std::numbers::sqrt2));
        EXPECT_NEAR(level_db, 0.0, 0.1) << p.in_hz << " -> " << p.out_hz;

        // Same frequency and phase: the output matches a sine generated
        // directly at the output rate, sample by sample.
        double max_error = 0.0;
        for (std::size_t i = margin; i < out.size() - margin; ++i)
            max_error = std::max(max_error, double(std::fabs(out[i] - ideal[i])));
        EXPECT_LT(max_error, 1e-3) << p.in_hz << " -> " << p.out_hz;
    }
}

TEST(Resampler, ImpulseLandsAtTheSameTime) {
    for (const RatePair& p : kPairs) {
        // 0.5 s into a 1 s signal; both rates give whole sample indices there.
        const std::size_t in_index = static_cast<std::size_t>(p.in_hz / 2);
        const std::size_t out_index = static_cast<std::size_t>(p.out_hz / 2);
        std::vector<float> in(static_cast<std::size_t>(p.in_hz), 0.0f);
        in[in_index] = 1.0f;
        const std::vector<float> out = resample(in, p.in_hz, p.out_hz);

        std::size_t peak = 0;
        for (std::size_t i = 0; i < out.size(); ++i)
            if (std::fabs(out[i]) > std::fabs(out[peak])) peak = i;
        EXPECT_LE(std::abs(static_cast<long>(peak) - static_cast<long>(out_index)), 1)
            << p.in_hz << " -> " << p.out_hz << ": peak at " << peak << ", expected " << out_index;
    }
}

// A sharp, band-limited click at a time between sample instants of both rates:
// the output must match the same click sampled directly at the output rate,
// and the cross-correlation between the two must peak at lag 0.
TEST(Resampler, ClickCrossCorrelationPeaksAtLagZero) {
    const double click_s = 0.3 + 0.37e-5;  // on neither sample grid
    const double cutoff_hz = 5000.0;       // below every Nyquist frequency here
    const double half_width_s = 0.004;
    auto click = [&](int rate_hz) {
        std::vector<float> x(static_cast<std::size_t>(rate_hz * 0.6), 0.0f);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double t = double(i) / rate_hz - click_s;
            if (std::fabs(t) >= half_width_s) continue;
            const double arg = 2.0 * cutoff_hz * t;
            const double sinc = arg == 0.0 ? 1.0 : std::sin(std::numbers::pi * arg) / (std::numbers::pi * arg);
            const double hann = 0.5 + 0.5 * std::cos(std::numbers::pi * t / half_width_s);
            x[i] = static_cast<float>(sinc * hann);
        }
        return x;
    };
    for (const RatePair& p : kPairs) {
        const std::vector<float> out = resample(click(p.in_hz), p.in_hz, p.out_hz);
        const std::vector<float> ideal = click(p.out_hz);
        ASSERT_EQ(out.size(), ideal.size());

        long best_lag = 0;
        double best = -1e30;
        for (long lag = -20; lag <= 20; ++lag) {
            double sum = 0.0;
            for (std::size_t i = 0; i < ideal.size(); ++i) {
                const long j = static_cast<long>(i) + lag;
                if (j >= 0 && j < static_cast<long>(out.size()))
                    sum += double(ideal[i]) * out[static_cast<std::size_t>(j)];
            }
            if (sum > best) {
                best = sum;
                best_lag = lag;
            }
        }
        EXPECT_EQ(best_lag, 0) << p.in_hz << " -> " << p.out_hz;

        double max_error = 0.0;
        for (std::size_t i = 0; i < out.size(); ++i)
            max_error = std::max(max_error, double(std::fabs(out[i] - ideal[i])));
        EXPECT_LT(max_error, 0.01) << p.in_hz << " -> " << p.out_hz;
    }
}

// Bit-identical: soxr's output does not depend on how the input is chunked.
TEST(Resampler, StreamingInRandomChunksIsBitIdentical) {
    const std::vector<float> in = sibilant::test::speech_like(2.0, 48000, 3);
    for (const RatePair& p : kPairs) {
        const std::vector<float> input = p.in_hz == 48000 ? in : resample(in, 48000, p.in_hz);
        const std::vector<float> whole = resample(input, p.in_hz, p.out_hz);
        for (unsigned seed : {1u, 2u})
            for (std::size_t max_chunk : {std::size_t{17}, std::size_t{5000}}) {
                const std::vector<float> chunked = resample_in_chunks(input, p, seed, max_chunk);
                ASSERT_EQ(chunked.size(), whole.size());
                EXPECT_TRUE(chunked == whole)
                    << p.in_hz << " -> " << p.out_hz << ", chunks up to " << max_chunk;
            }
    }
}

TEST(Resampler, EqualRatesPassSamplesThroughUnchanged) {
    const std::vector<float> in = sibilant::test::white_noise(0.1, 48000, 5);
    EXPECT_EQ(resample(in, 48000, 48000), in);
}

TEST(Resampler, ReportsRates) {
    Resampler r(44100, 48000);
    EXPECT_EQ(r.in_rate_hz(), 44100);
    EXPECT_EQ(r.out_rate_hz(), 48000);
    Resampler moved = std::move(r);
    EXPECT_EQ(moved.out_rate_hz(), 48000);
}

TEST(Resampler, RejectsRatesOutOfRange) {
    EXPECT_THROW(Resampler(999, 48000), sibilant::Error);
    EXPECT_THROW(Resampler(48000, 2000000), sibilant::Error);
    EXPECT_THROW(Resampler(0, 48000), sibilant::Error);
    EXPECT_THROW(Resampler(std::nan(""), 48000), sibilant::Error);
}

TEST(Resampler, ProcessAfterFlushIsAnError) {
    Resampler r(16000, 48000);
    std::vector<float> out;
    const std::vector<float> in(100, 0.1f);
    r.process(in, out);
    r.flush(out);
    EXPECT_EQ(out.size(), 300u);
    EXPECT_THROW(r.process(in, out), sibilant::Error);
}
