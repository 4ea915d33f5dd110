// gst/probe_feed.hpp, the sibilantprobe element's audio path without
// GStreamer: it must give the probe exactly the samples `sibilant analyze`
// would read (mean mix-down, x / 32768 for 16-bit, the same resampler), make
// no allocation once configured, and keep one timeline across rate changes.
#include "probe_feed.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/opus_channel.hpp"
#include "sibilant/resampler.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

using gst::PcmFormat;
using gst::ProbeFeed;

std::vector<float> speech_at(const char* name, int rate_hz) {
    return read_audio_file((test::testdata_dir() / "speech" / (std::string(name) + ".flac")).string(),
                           ReadOptions{.channel = -1, .target_rate_hz = rate_hz});
}

struct Fed {
    std::vector<SibilantEventResult> events;
    AnalysisSummary summary;
    ProbeStatus status;
};

// Pushes `frames` interleaved frames in chunks cycling through odd sizes up to
// kMaxFrames, polling after each push as the element does, then finishes.
template <typename T>
Fed feed_all(ProbeFeed& feed, const std::vector<T>& interleaved, int channels) {
    static constexpr std::size_t kSizes[] = {ProbeFeed::kMaxFrames, 1, 441, 1000, 7, ProbeFeed::kMaxFrames, 333};
    Fed out;
    SibilantEventResult e;
    const std::size_t frames = interleaved.size() / std::size_t(channels);
    for (std::size_t pos = 0, i = 0; pos < frames; ++i) {
        const std::size_t n = std::min(kSizes[i % std::size(kSizes)], frames - pos);
        EXPECT_EQ(feed.push(interleaved.data() + pos * std::size_t(channels), n), 0u);
        pos += n;
        while (feed.probe().poll_event(e)) out.events.push_back(e);
    }
    feed.finish();
    while (feed.probe().poll_event(e)) out.events.push_back(e);
    out.summary = feed.probe().summary();
    out.status = feed.probe().status();
    return out;
}

std::vector<float> opus_6k(const std::vector<float>& x48k) {
    OpusSettings s;
    s.bitrate_bps = 6000;
    return run_opus_channel(x48k, s, LossModelConfig{}, 1);
}

TEST(ProbeFeed, MonoFloatAt48kEqualsTheBatchAnalysis) {
    const auto deg = opus_6k(speech_at("demo", 48000));
    const AnalysisResult batch = analyze_no_reference(deg);
    ASSERT_GT(batch.summary.lisp_flagged, 0);  // a case where the scores matter
    ProbeFeed feed(ProbeConfig{});
    feed.configure(PcmFormat::F32, 1, 48000);
    const Fed fed = feed_all(feed, deg, 1);
    test::expect_same_events(fed.events, batch.events, "mono 48 kHz");
    test::expect_same_summary(fed.summary, batch.summary, "mono 48 kHz");
    EXPECT_EQ(fed.status.samples, std::int64_t(deg.size()));
}

// Left and right differ, so only the mean of the two gives these results;
// the resampler runs in 1..1024-frame pieces here and on the whole signal in
// the expectation.
TEST(ProbeFeed, StereoS16At16kEqualsTheMeanResampledTo48k) {
    const auto x = opus_6k(speech_at("s_clusters", 48000));
    const auto x16 = resample(x, 48000, 16000);
    std::vector<std::int16_t> interleaved;
    std::vector<float> mean(x16.size());
    for (std::size_t i = 0; i < x16.size(); ++i) {
        const auto l = std::int16_t(std::lround(std::clamp(x16[i], -1.0f, 0.99f) * 32767.0f));
        const auto r = std::int16_t(l / 3);
        interleaved.push_back(l);
        interleaved.push_back(r);
        mean[i] = float((double(float(l) / 32768.0f) + double(float(r) / 32768.0f)) / 2.0);
    }
    const AnalysisResult batch = analyze_no_reference(resample(mean, 16000, 48000));
    ASSERT_GT(batch.summary.sibilants, 0);
    ProbeFeed feed(ProbeConfig{});
    feed.configure(PcmFormat::S16, 2, 16000);
    const Fed fed = feed_all(feed, interleaved, 2);
    test::expect_same_events(fed.events, batch.events, "stereo S16 16 kHz");
    test::expect_same_summary(fed.summary, batch.summary, "stereo S16 16 kHz");
    EXPECT_EQ(fed.status.samples, std::int64_t(x16.size() * 3));
}

TEST(ProbeFeed, ThresholdsComeFromTheConfig) {
    const auto clean = speech_at("demo", 48000);
    ProbeConfig everything;
    everything.analysis.lisp_flag_threshold = 0.0;
    everything.analysis.smearing_flag_threshold = 0.0;
    const AnalysisResult batch = analyze_no_reference(clean, everything.analysis);
    ProbeFeed feed(everything);
    feed.configure(PcmFormat::F32, 1, 48000);
    const Fed fed = feed_all(feed, clean, 1);
    test::expect_same_summary(fed.summary, batch.summary, "thresholds 0");
    EXPECT_EQ(fed.summary.flagged, fed.summary.compared);
    ProbeFeed usual(ProbeConfig{});
    usual.configure(PcmFormat::F32, 1, 48000);
    EXPECT_LT(feed_all(usual, clean, 1).summary.flagged, fed.summary.flagged);
}

// Every rate and format the element's caps allow: once configured, pushing
// (the largest chunk and odd ones) and finishing make no heap allocation.
// (Counts operator new; libsoxr's own malloc, if any, is not seen here.)
TEST(ProbeFeed, PushAndFinishAllocateNothingAfterConfigure) {
    for (const int rate : {8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000}) {
        for (const int channels : {1, 2}) {
            const auto mono = test::speech_like(6.0, rate, 3);
            std::vector<float> f32;
            std::vector<std::int16_t> s16;
            for (float v : mono)
                for (int c = 0; c < channels; ++c) {
                    f32.push_back(v);
                    s16.push_back(std::int16_t(std::lround(v * 16000.0f)));
                }
            for (const PcmFormat format : {PcmFormat::F32, PcmFormat::S16}) {
                ProbeFeed feed(ProbeConfig{});
                feed.configure(format, channels, rate);
                const void* data = format == PcmFormat::F32 ? static_cast<const void*>(f32.data())
                                                            : static_cast<const void*>(s16.data());
                const std::size_t bytes = format == PcmFormat::F32 ? 4 : 2;
                const std::size_t n = mono.size();
                const std::size_t allocations = test::allocations_during([&] {
                    for (std::size_t pos = 0, i = 0; pos < n; ++i) {
                        const std::size_t take = std::min(i % 3 == 2 ? std::size_t(97) : ProbeFeed::kMaxFrames, n - pos);
                        feed.push(static_cast<const std::uint8_t*>(data) + pos * bytes * std::size_t(channels), take);
                        pos += take;
                    }
                    feed.finish();
                });
                EXPECT_EQ(allocations, 0u) << rate << " Hz, " << channels << " channel(s), "
                                           << (format == PcmFormat::F32 ? "F32" : "S16");
                // The stream really went through: 6 s at 48 kHz, within the
                // resampler's rounding.
                EXPECT_NEAR(double(feed.probe().status().samples), 6.0 * 48000, 2.0) << rate << " Hz";
                // speech_like's /s/ bursts lie in 4-10 kHz: at 8 kHz none is left.
                if (rate > 8000) {
                    EXPECT_GT(feed.probe().status().events, 0) << rate << " Hz";
                }
            }
        }
    }
}

TEST(ProbeFeed, NonFiniteSamplesAreCountedAndAnalysedAsSilence) {
    auto x = speech_at("demo", 48000);
    std::vector<float> stereo, zeroed;
    for (std::size_t i = 0; i < x.size(); ++i) {
        float l = x[i], r = x[i];
        if (i % 5000 == 17) l = std::numeric_limits<float>::quiet_NaN();
        if (i % 7000 == 3) r = std::numeric_limits<float>::infinity();
        stereo.push_back(l);
        stereo.push_back(r);
        zeroed.push_back(std::isfinite(l) ? l : 0.0f);
        zeroed.push_back(std::isfinite(r) ? r : 0.0f);
    }
    std::size_t expected_bad = 0;
    for (float v : stereo) expected_bad += std::isfinite(v) ? 0 : 1;

    ProbeFeed bad(ProbeConfig{});
    bad.configure(PcmFormat::F32, 2, 48000);
    std::size_t counted = 0;
    for (std::size_t pos = 0; pos < x.size(); pos += ProbeFeed::kMaxFrames)
        counted += bad.push(stereo.data() + 2 * pos, std::min(ProbeFeed::kMaxFrames, x.size() - pos));
    EXPECT_EQ(counted, expected_bad);
    bad.finish();

    ProbeFeed clean(ProbeConfig{});
    clean.configure(PcmFormat::F32, 2, 48000);
    const Fed expected = feed_all(clean, zeroed, 2);
    test::expect_same_summary(bad.probe().summary(), expected.summary, "NaN and inf as 0");
    EXPECT_TRUE(std::isfinite(bad.probe().summary().lisp_index));
}

TEST(ProbeFeed, ARateChangeKeepsOneTimeline) {
    const auto a = speech_at("demo", 16000);
    const auto b = speech_at("sh_positions", 48000);
    ProbeFeed feed(ProbeConfig{});
    feed.configure(PcmFormat::F32, 1, 16000);
    for (std::size_t pos = 0; pos < a.size(); pos += ProbeFeed::kMaxFrames)
        feed.push(a.data() + pos, std::min(ProbeFeed::kMaxFrames, a.size() - pos));
    // The 16 kHz resampler's tail is flushed into the probe here.
    feed.configure(PcmFormat::F32, 1, 48000);
    EXPECT_EQ(feed.probe().status().samples, std::int64_t(std::lround(double(a.size()) * 3.0)));
    for (std::size_t pos = 0; pos < b.size(); pos += ProbeFeed::kMaxFrames)
        feed.push(b.data() + pos, std::min(ProbeFeed::kMaxFrames, b.size() - pos));
    feed.finish();
    EXPECT_EQ(feed.probe().status().samples, std::int64_t(a.size() * 3 + b.size()));
    // The second sentence's sibilants come after the first's end.
    SibilantEventResult e;
    double last_end = 0.0;
    while (feed.probe().poll_event(e)) last_end = e.end_s;
    EXPECT_GT(last_end, double(a.size()) / 16000.0);
}

TEST(ProbeFeed, AfterFinishPushesAreIgnoredUntilReset) {
    const auto x = speech_at("demo", 22050);
    ProbeFeed feed(ProbeConfig{});
    feed.configure(PcmFormat::F32, 1, 22050);
    feed.push(x.data(), ProbeFeed::kMaxFrames);
    feed.finish();
    const std::int64_t samples = feed.probe().status().samples;
    EXPECT_GT(samples, 0);
    feed.push(x.data(), ProbeFeed::kMaxFrames);
    EXPECT_EQ(feed.probe().status().samples, samples);
    feed.reset();
    EXPECT_EQ(feed.probe().status().samples, 0);
    feed.push(x.data(), ProbeFeed::kMaxFrames);
    feed.finish();
    EXPECT_EQ(feed.probe().status().samples, samples);  // the same frames through a fresh resampler
}

TEST(ProbeFeed, BadLayoutsAreRefusedByName) {
    ProbeFeed feed(ProbeConfig{});
    test::expect_error([&] { feed.configure(PcmFormat::F32, 3, 48000); }, {"3 channels", "mono or stereo"});
    test::expect_error([&] { feed.configure(PcmFormat::S16, 0, 48000); }, {"0 channels"});
    test::expect_error([&] { feed.configure(PcmFormat::F32, 1, 7999); }, {"7999 Hz", "8000-192000"});
    test::expect_error([&] { feed.configure(PcmFormat::F32, 1, 192001); }, {"192001 Hz"});
    EXPECT_FALSE(feed.configured());
    feed.configure(PcmFormat::F32, 1, 48000);
    std::vector<float> big(ProbeFeed::kMaxFrames + 1);
    test::expect_error([&] { feed.push(big.data(), big.size()); }, {"kMaxFrames"});
}

}  // namespace
}  // namespace sibilant
