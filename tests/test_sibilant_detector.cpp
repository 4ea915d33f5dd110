// Sibilant detector (lib/src/dsp/sibilant_detector.hpp): frame features with
// known answers, synthetic signals with known sibilants, the project's
// labelled espeak-ng speech (precision/recall table), the real corpus
// (sanity, skipped without ../shared), streaming == batch, determinism,
// latency and no allocation per frame.
#include "dsp/sibilant_detector.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dsp/stft.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using sibilant::dsp::detect_sibilants;
using sibilant::dsp::DetectorConfig;
using sibilant::dsp::FeatureExtractor;
using sibilant::dsp::FrameFeatures;
using sibilant::dsp::SibilantDetector;
using sibilant::dsp::SibilantEvent;
using sibilant::dsp::Stft;
using sibilant::dsp::StftConfig;
using sibilant::dsp::StftFrame;
using Class = SibilantEvent::Class;

constexpr int kRate = 48000;

// ------------------------------------------------------------ synthetic speech

void scale_to_rms(std::vector<double>& x, double rms) {
    double s = 0.0;
    for (double v : x) s += v * v;
    const double current = std::sqrt(s / double(x.size()));
    for (double& v : x) v *= rms / current;
}

std::vector<float> to_float(const std::vector<double>& x) { return std::vector<float>(x.begin(), x.end()); }

// Two-pole resonator at this file's rate.
void resonate(std::vector<double>& x, double centre_hz, double bandwidth_hz) {
    sibilant::test::resonate(x, centre_hz, bandwidth_hz, kRate);
}

// Vowel-like syllables: 120 Hz pulses through F1-F3 (700, 1200, 2600 Hz)
// in parallel, like an /a/ with nearly all its energy below 3 kHz; 230 ms
// of vowel and 70 ms of silence in turn, 10 ms fades; scaled so that the
// vowels have the given rms.
std::vector<float> vowel(double seconds, double rms) {
    const std::size_t n = static_cast<std::size_t>(seconds * kRate);
    std::vector<double> pulses(n, 0.0);
    for (std::size_t i = 0; i < n; i += kRate / 120) pulses[i] = 1.0;
    std::vector<double> f1 = pulses, f2 = pulses, f3 = pulses;
    resonate(f1, 700, 90);
    resonate(f2, 1200, 110);
    resonate(f3, 2600, 160);
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = f1[i] + 0.5 * f2[i] + 0.15 * f3[i];
    scale_to_rms(out, rms);
    const std::size_t period = static_cast<std::size_t>(0.3 * kRate), voiced = static_cast<std::size_t>(0.23 * kRate);
    const std::size_t fade = static_cast<std::size_t>(0.01 * kRate);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t t = i % period;
        double g = t < voiced ? 1.0 : 0.0;
        if (t < fade) g = 0.5 - 0.5 * std::cos(std::numbers::pi * double(t) / double(fade));
        if (t < voiced && voiced - t < fade) g = 0.5 - 0.5 * std::cos(std::numbers::pi * double(voiced - t) / double(fade));
        out[i] *= g;
    }
    return to_float(out);
}

// White noise band-passed to [low_hz, high_hz] by a 1023-tap Hann-windowed
// sinc (stop band below -60 dB), scaled to `rms`. low_hz = 0 and
// high_hz >= 24 kHz give plain white noise.
std::vector<float> band_noise(double seconds, double low_hz, double high_hz, double rms, std::uint64_t seed) {
    const std::size_t n = static_cast<std::size_t>(seconds * kRate);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    const int taps = 1023, half = taps / 2;
    std::vector<double> white(n + taps);
    for (double& v : white) v = normal(rng);
    if (low_hz <= 0.0 && high_hz >= kRate / 2.0) {
        std::vector<double> out(white.begin(), white.begin() + static_cast<std::ptrdiff_t>(n));
        scale_to_rms(out, rms);
        return to_float(out);
    }
    std::vector<double> h(taps);
    const auto lowpass = [](double cutoff, int k) {
        const double fc = cutoff / kRate;
        return k == 0 ? 2.0 * fc : std::sin(2.0 * std::numbers::pi * fc * k) / (std::numbers::pi * k);
    };
    for (int i = 0; i < taps; ++i) {
        const int k = i - half;
        const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / (taps - 1));
        h[static_cast<std::size_t>(i)] = (lowpass(high_hz, k) - lowpass(low_hz, k)) * w;
    }
    std::vector<double> out(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        double acc = 0.0;
        for (int j = 0; j < taps; ++j) acc += h[static_cast<std::size_t>(j)] * white[i + static_cast<std::size_t>(j)];
        out[i] = acc;
    }
    scale_to_rms(out, rms);
    return to_float(out);
}

// Puts `insert` into `base` from `start_s`, replacing what was there, with
// 2 ms raised-cosine cross-fades centred on the edges (as a fricative
// replaces the voicing between two vowels).
void splice(std::vector<float>& base, const std::vector<float>& insert, double start_s) {
    const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(start_s * kRate);
    const std::ptrdiff_t fade = static_cast<std::ptrdiff_t>(0.002 * kRate);
    const std::ptrdiff_t length = static_cast<std::ptrdiff_t>(insert.size());
    for (std::ptrdiff_t i = -fade / 2; i < length + fade / 2; ++i) {
        const std::ptrdiff_t at = start + i;
        if (at < 0 || at >= static_cast<std::ptrdiff_t>(base.size())) continue;
        double g = 1.0;  // weight of the insert
        if (i < fade / 2) g = 0.5 - 0.5 * std::cos(std::numbers::pi * double(i + fade / 2) / double(fade));
        if (i >= length - fade / 2)
            g = std::min(g, 0.5 + 0.5 * std::cos(std::numbers::pi * double(i - (length - fade / 2)) / double(fade)));
        const float ins = (i >= 0 && i < length) ? insert[static_cast<std::size_t>(i)] : 0.0f;
        base[static_cast<std::size_t>(at)] =
            static_cast<float>(g * ins + (1.0 - g) * base[static_cast<std::size_t>(at)]);
    }
}

constexpr double kVowelRms = 0.1;                // -20 dBFS while voiced
const double kSibilantRms = kVowelRms * 0.25;     // 12 dB below the vowel, as in speech

// 2 s of vowel with one noise burst of the given band from 1.0 to 1.15 s.
std::vector<float> vowel_with_burst(double low_hz, double high_hz, double burst_rms, double burst_s = 0.15) {
    auto x = vowel(2.0, kVowelRms);
    splice(x, band_noise(burst_s, low_hz, high_hz, burst_rms, 42), 1.0);
    return x;
}

std::string describe(const std::vector<SibilantEvent>& events) {
    std::ostringstream out;
    for (const auto& e : events)
        out << "  " << to_string(e.cls) << " " << e.start_s << "-" << e.end_s << " cog " << e.cog_hz << " cog11k "
            << e.cog_11k_hz << " flat " << e.flatness << " level " << e.level_re_speech_db << "\n";
    return out.str();
}

bool same_event(const SibilantEvent& a, const SibilantEvent& b) {
    return a.start_s == b.start_s && a.end_s == b.end_s && a.cls == b.cls && a.frames == b.frames &&
           a.cog_hz == b.cog_hz && a.cog_11k_hz == b.cog_11k_hz && a.peak_hz == b.peak_hz &&
           a.peak_prominence_db == b.peak_prominence_db && a.flatness == b.flatness &&
           a.high_share == b.high_share && a.upper_to_mid_db == b.upper_to_mid_db && a.band_db == b.band_db &&
           a.high_db == b.high_db &&
           a.level_re_speech_db == b.level_re_speech_db && a.s_reference_hz == b.s_reference_hz;
}

// Feeds x in random chunk sizes (0..max_chunk) through Stft + detector,
// taking events as they come.
std::vector<SibilantEvent> detect_streaming(const std::vector<float>& x, std::size_t max_chunk, unsigned seed,
                                            std::vector<double>* reported_at_s = nullptr) {
    Stft stft;
    SibilantDetector detector(DetectorConfig{});
    std::vector<SibilantEvent> events;
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> chunk(0, max_chunk);
    std::size_t at = 0;
    const auto drain = [&] {
        for (const auto& e : detector.events()) {
            events.push_back(e);
            if (reported_at_s) reported_at_s->push_back(double(at) / kRate);
        }
        detector.clear_events();
    };
    while (at < x.size()) {
        const std::size_t n = std::min(chunk(rng), x.size() - at);
        stft.push(std::span<const float>(x.data() + at, n), [&](const StftFrame& f) { detector.push(f); });
        at += n;
        drain();
    }
    detector.finish();
    drain();
    return events;
}

fs::path speech_dir() { return sibilant::test::testdata_dir() / "speech"; }

std::vector<float> read_48k(const fs::path& path) {
    return sibilant::read_audio_file(path.string(), {.channel = -1, .target_rate_hz = kRate});
}

}  // namespace

// ------------------------------------------------------------ features

TEST(SibilantFeatures, SineKnownAnswers) {
    const auto x = sibilant::test::sine(6000.0, 0.3, kRate, 0.5);
    Stft stft;
    FeatureExtractor extractor(stft.bins(), stft.bin_hz());
    int frames = 0;
    stft.push(x, [&](const StftFrame& frame) {
        FrameFeatures f;
        extractor.compute(frame.power, f);
        EXPECT_NEAR(f.total_db, 10.0 * std::log10(0.125), 0.05);  // A^2 / 2
        EXPECT_NEAR(f.band_db[3], f.total_db, 0.01);               // 4.5-8 kHz holds it all
        EXPECT_LT(f.band_db[1], f.total_db - 60.0);                // 1-2.5 kHz: window leakage only
        EXPECT_NEAR(f.peak_hz, 6000.0, 10.0);
        EXPECT_GT(f.peak_prominence_db, 12.0);  // a tone: 10 log10(107 bins / 5 bins) = 13.3 dB at most
        EXPECT_NEAR(f.cog_hz, 6000.0, 20.0);
        EXPECT_NEAR(f.cog_11k_hz, 6000.0, 20.0);
        EXPECT_NEAR(f.high_share, 1.0, 1e-3);
        EXPECT_GT(f.upper_to_mid_db, 40.0);
        ++frames;
    });
    EXPECT_GT(frames, 50);
}

TEST(SibilantFeatures, FlatnessTellsWhiteFromBandNoise) {
    Stft stft;
    FeatureExtractor extractor(stft.bins(), stft.bin_hz());
    const auto mean_flatness = [&](const std::vector<float>& x) {
        stft.reset();
        double sum = 0.0;
        int frames = 0;
        stft.push(x, [&](const StftFrame& frame) {
            FrameFeatures f;
            extractor.compute(frame.power, f);
            sum += f.flatness;
            ++frames;
        });
        return sum / frames;
    };
    EXPECT_GT(mean_flatness(band_noise(0.5, 0, 24000, 0.1, 1)), 0.8);
    EXPECT_LT(mean_flatness(band_noise(0.5, 5000, 10000, 0.1, 2)), 0.2);
    EXPECT_LT(mean_flatness(band_noise(0.5, 2500, 4500, 0.1, 3)), 0.2);
}

TEST(SibilantFeatures, BandNoiseCentreOfGravityAndShare) {
    Stft stft;
    FeatureExtractor extractor(stft.bins(), stft.bin_hz());
    const auto x = band_noise(0.5, 5000, 10000, 0.1, 4);
    double cog = 0.0, share = 0.0;
    int frames = 0;
    stft.push(x, [&](const StftFrame& frame) {
        FrameFeatures f;
        extractor.compute(frame.power, f);
        cog += f.cog_hz;
        share += f.high_share;
        ++frames;
    });
    EXPECT_NEAR(cog / frames, 7500.0, 150.0);
    EXPECT_GT(share / frames, 0.99);
}

// ------------------------------------------------------------ synthetic known answers

TEST(SibilantDetector, SBurstInVowelIsOneSEvent) {
    const auto events = detect_sibilants(vowel_with_burst(5000, 10000, kSibilantRms));
    ASSERT_EQ(events.size(), 1u) << describe(events);
    EXPECT_EQ(events[0].cls, Class::S);
    EXPECT_NEAR(events[0].start_s, 1.0, 0.010);
    EXPECT_NEAR(events[0].end_s, 1.15, 0.010);
    EXPECT_NEAR(events[0].level_re_speech_db, -12.0, 3.0);
}

TEST(SibilantDetector, ShBurstInVowelIsOneShEvent) {
    const auto events = detect_sibilants(vowel_with_burst(2500, 4500, kSibilantRms));
    ASSERT_EQ(events.size(), 1u) << describe(events);
    EXPECT_EQ(events[0].cls, Class::Sh);
    EXPECT_NEAR(events[0].start_s, 1.0, 0.010);
    EXPECT_NEAR(events[0].end_s, 1.15, 0.010);
}

TEST(SibilantDetector, SRunningIntoShIsSplitInTwo) {
    // "this shop": one stretch of noise, two sibilants.
    auto x = vowel(2.0, kVowelRms);
    splice(x, band_noise(0.12, 5000, 10000, kSibilantRms, 5), 0.8);
    splice(x, band_noise(0.12, 2500, 4500, kSibilantRms, 6), 0.92);
    const auto events = detect_sibilants(x);
    ASSERT_EQ(events.size(), 2u) << describe(events);
    EXPECT_EQ(events[0].cls, Class::S);
    EXPECT_EQ(events[1].cls, Class::Sh);
    EXPECT_NEAR(events[0].start_s, 0.80, 0.010);
    EXPECT_NEAR(events[0].end_s, 0.92, 0.015);
    EXPECT_NEAR(events[1].start_s, 0.92, 0.015);
    EXPECT_NEAR(events[1].end_s, 1.04, 0.010);
}

TEST(SibilantDetector, VowelSilenceAndSteadyHissGiveNoEvents) {
    EXPECT_TRUE(detect_sibilants(vowel(3.0, kVowelRms)).empty());
    EXPECT_TRUE(detect_sibilants(std::vector<float>(3 * kRate, 0.0f)).empty());
    EXPECT_TRUE(detect_sibilants(std::vector<float>(100, 0.0f)).empty());  // shorter than one frame
    EXPECT_TRUE(detect_sibilants({}).empty());
    // A recording of nothing but hiss: no speech to be a sibilant of.
    EXPECT_TRUE(detect_sibilants(band_noise(3.0, 5000, 10000, 0.01, 7)).empty());
}

TEST(SibilantDetector, BurstThirtyDbQuieterIsNotASibilant) {
    // Decision: a noise 42 dB below the vowels (the usual 12 dB plus 30) is
    // far weaker than any sibilant (-8 to -25 dB in real and espeak speech):
    // breath, background or a weak /f th/. Not detected.
    const auto events = detect_sibilants(vowel_with_burst(5000, 10000, kSibilantRms * std::pow(10.0, -30.0 / 20.0)));
    EXPECT_TRUE(events.empty()) << describe(events);
    // 15 dB quieter (27 dB below the vowels) is still a sibilant.
    const auto weaker = detect_sibilants(vowel_with_burst(5000, 10000, kSibilantRms * std::pow(10.0, -15.0 / 20.0)));
    ASSERT_EQ(weaker.size(), 1u) << describe(weaker);
    EXPECT_EQ(weaker[0].cls, Class::S);
}

TEST(SibilantDetector, WhiteNoiseBurstIsNotASibilant) {
    // Decision: a flat noise has no compact spectrum; it is /f th/-like or
    // an artefact, not /s/ or /sh/. Not detected, at the same level.
    const auto events = detect_sibilants(vowel_with_burst(0, 24000, kSibilantRms));
    EXPECT_TRUE(events.empty()) << describe(events);
}

TEST(SibilantDetector, TooShortAndTooLongBurstsAreDropped) {
    // 30 ms: a stop release, not a sibilant. 0.8 s: steady noise.
    EXPECT_TRUE(detect_sibilants(vowel_with_burst(5000, 10000, kSibilantRms, 0.03)).empty());
    EXPECT_TRUE(detect_sibilants(vowel_with_burst(5000, 10000, kSibilantRms, 0.8)).empty());
    EXPECT_EQ(detect_sibilants(vowel_with_burst(5000, 10000, kSibilantRms, 0.07)).size(), 1u);
}

TEST(SibilantDetector, SameEventsWhateverTheGain) {
    const auto x = read_48k(speech_dir() / "demo.flac");
    const auto reference = detect_sibilants(x);
    ASSERT_FALSE(reference.empty());
    for (double gain_db : {-40.0, -20.0, 10.0}) {
        std::vector<float> y(x);
        const float g = static_cast<float>(std::pow(10.0, gain_db / 20.0));
        for (float& v : y) v *= g;
        const auto events = detect_sibilants(y);
        ASSERT_EQ(events.size(), reference.size()) << gain_db << " dB\n" << describe(events);
        for (std::size_t i = 0; i < events.size(); ++i) {
            EXPECT_EQ(events[i].cls, reference[i].cls) << gain_db << " dB, event " << i;
            EXPECT_NEAR(events[i].start_s, reference[i].start_s, 0.0051) << gain_db << " dB, event " << i;
            EXPECT_NEAR(events[i].end_s, reference[i].end_s, 0.0051) << gain_db << " dB, event " << i;
        }
    }
}

// ------------------------------------------------------------ streaming

TEST(SibilantDetector, StreamingWithAnyChunkingEqualsBatch) {
    std::vector<float> x = read_48k(speech_dir() / "s_clusters.flac");
    const auto synthetic = vowel_with_burst(2500, 4500, kSibilantRms);
    x.insert(x.end(), synthetic.begin(), synthetic.end());
    const auto batch = detect_sibilants(x);
    ASSERT_GE(batch.size(), 10u);
    unsigned seed = 1;
    for (std::size_t max_chunk : {std::size_t{1}, std::size_t{100}, std::size_t{4800}, std::size_t{100000}}) {
        const auto streamed = detect_streaming(x, max_chunk, seed++);
        ASSERT_EQ(streamed.size(), batch.size()) << "max chunk " << max_chunk;
        for (std::size_t i = 0; i < batch.size(); ++i)
            EXPECT_TRUE(same_event(streamed[i], batch[i])) << "max chunk " << max_chunk << ", event " << i;
    }
}

// A kernel's detector reads its frames from the comparer's ring instead of
// keeping copies: same events, and a ring too short for it is refused.
TEST(SibilantDetector, SharedSpectrumRingGivesTheSameEvents) {
    std::vector<float> x = read_48k(speech_dir() / "s_clusters.flac");
    const auto more = read_48k(speech_dir() / "sh_positions.flac");
    x.insert(x.end(), more.begin(), more.end());
    const auto own = detect_sibilants(x);
    ASSERT_GE(own.size(), 10u);
    const StftConfig stft_config{};
    const std::int64_t needed = SibilantDetector::history_frames(DetectorConfig{}, stft_config);
    EXPECT_EQ(needed, 124);  // 100 ms look-ahead + 10 ms gap + 0.5 s event + 2, at 5 ms
    sibilant::dsp::SpectrumRing ring(stft_config.fft_size / 2 + 1, needed);
    SibilantDetector detector(DetectorConfig{}, stft_config, &ring);
    Stft stft(stft_config);
    std::vector<SibilantEvent> shared;
    stft.push(x, [&](const StftFrame& f) {
        ring.push(f.power);
        detector.push(f);
        shared.insert(shared.end(), detector.events().begin(), detector.events().end());
        detector.clear_events();
    });
    detector.finish();
    shared.insert(shared.end(), detector.events().begin(), detector.events().end());
    ASSERT_EQ(shared.size(), own.size());
    for (std::size_t i = 0; i < own.size(); ++i) EXPECT_TRUE(same_event(shared[i], own[i])) << i;

    sibilant::dsp::SpectrumRing short_ring(stft_config.fft_size / 2 + 1, needed - 1);
    sibilant::test::expect_error([&] { SibilantDetector d(DetectorConfig{}, stft_config, &short_ring); },
                                 {"123", "124"});
}

TEST(SibilantDetector, SameInputSameEvents) {
    const auto x = read_48k(speech_dir() / "sh_positions.flac");
    const auto a = detect_sibilants(x);
    const auto b = detect_sibilants(x);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_event(a[i], b[i])) << i;
    // And a detector reused after finish() starts afresh.
    Stft stft;
    SibilantDetector detector(DetectorConfig{});
    for (int round = 0; round < 2; ++round) {
        std::vector<SibilantEvent> events;
        stft.reset();
        stft.push(x, [&](const StftFrame& f) { detector.push(f); });
        detector.finish();
        events.assign(detector.events().begin(), detector.events().end());
        detector.clear_events();
        ASSERT_EQ(events.size(), a.size()) << "round " << round;
        for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_event(events[i], a[i])) << round << ", " << i;
    }
}

TEST(SibilantDetector, EventsAreReportedSoonAfterTheyEnd) {
    const auto x = read_48k(speech_dir() / "demo.flac");
    std::vector<double> reported_at_s;
    const auto events = detect_streaming(x, 480, 3, &reported_at_s);
    ASSERT_FALSE(events.empty());
    const DetectorConfig config;
    const double duration_s = double(x.size()) / kRate;
    // Look-ahead, the gap that may still be bridged, the rest of the next
    // frame and the 10 ms chunks of this test.
    const double max_delay_s = config.lookahead_s + config.max_gap_s + 0.011 + 0.010 + 0.005;
    for (std::size_t i = 0; i < events.size(); ++i) {
        // A split event is reported with its second part, when the stretch
        // of noise they share has ended.
        double stretch_end_s = events[i].end_s;
        for (std::size_t j = i + 1; j < events.size() && events[j].start_s - stretch_end_s <= config.max_gap_s + 1e-3;
             ++j)
            stretch_end_s = events[j].end_s;
        if (stretch_end_s + max_delay_s < duration_s) {
            EXPECT_GE(reported_at_s[i], stretch_end_s) << i;
            EXPECT_LE(reported_at_s[i] - stretch_end_s, max_delay_s) << i;
        } else {
            EXPECT_LE(reported_at_s[i], duration_s) << i;  // at finish()
        }
    }
}

TEST(SibilantDetector, PushAndFinishDoNotAllocate) {
    const auto x = read_48k(speech_dir() / "demo.flac");
    Stft stft;
    SibilantDetector detector(DetectorConfig{});
    std::size_t events = 0;
    const std::size_t allocations = sibilant::test::allocations_during([&] {
        for (std::size_t at = 0; at < x.size(); at += 1000) {
            stft.push(std::span<const float>(x.data() + at, std::min<std::size_t>(1000, x.size() - at)),
                      [&](const StftFrame& f) { detector.push(f); });
            events += detector.events().size();
            detector.clear_events();
        }
        detector.finish();
        events += detector.events().size();
        detector.clear_events();
    });
    EXPECT_EQ(allocations, 0u);
    EXPECT_GE(events, 10u);
}

TEST(SibilantDetector, FullEventBufferDropsAndCounts) {
    DetectorConfig config;
    config.event_capacity = 2;
    Stft stft;
    SibilantDetector detector(config);
    const auto x = read_48k(speech_dir() / "demo.flac");
    stft.push(x, [&](const StftFrame& f) { detector.push(f); });
    detector.finish();
    EXPECT_EQ(detector.events().size(), 2u);
    EXPECT_GT(detector.dropped_events(), 0);
}

TEST(SibilantDetector, RejectsBadConfig) {
    const auto bad = [](auto change) {
        DetectorConfig config;
        change(config);
        return config;
    };
    EXPECT_THROW(SibilantDetector(bad([](DetectorConfig& c) { c.min_high_share = 1.5; })), sibilant::Error);
    EXPECT_THROW(SibilantDetector(bad([](DetectorConfig& c) { c.max_flatness = 0.0; })), sibilant::Error);
    EXPECT_THROW(SibilantDetector(bad([](DetectorConfig& c) { c.min_event_s = 0.6; })), sibilant::Error);
    EXPECT_THROW(SibilantDetector(bad([](DetectorConfig& c) { c.lookahead_s = -1.0; })), sibilant::Error);
    EXPECT_THROW(SibilantDetector(bad([](DetectorConfig& c) { c.speech_quantile = 0.3; })), sibilant::Error);
    EXPECT_THROW(SibilantDetector(bad([](DetectorConfig& c) { c.sh_to_s_cog_ratio = 1.2; })), sibilant::Error);
    EXPECT_THROW(SibilantDetector(bad([](DetectorConfig& c) { c.event_capacity = 0; })), sibilant::Error);
    EXPECT_THROW(SibilantDetector(DetectorConfig{}, sibilant::dsp::StftConfig{.fft_size = 100, .hop_samples = 0}),
                 sibilant::Error);
}

// ------------------------------------------------------------ labelled espeak-ng speech

namespace {

struct Label {
    double start_s = 0, end_s = 0;
    std::string phoneme;  // s z sh zh
};

bool s_class(const std::string& phoneme) { return phoneme == "s" || phoneme == "z"; }

// Reads NAME.labels.tsv (start_s, end_s, phoneme, ...).
std::vector<Label> read_labels(const fs::path& path) {
    std::vector<Label> labels;
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        Label label;
        fields >> label.start_s >> label.end_s >> label.phoneme;
        labels.push_back(label);
    }
    return labels;
}

// Labels of the same class (s/z or sh/zh) that touch are one stretch of
// noise ("six scientists", "sells sea", "fish shops") and are merged. The
// generator trims label ends back by up to 9 ms before the next phoneme, so
// "touching" allows a gap of up to 20 ms. A merged group is named after its
// voiceless member if it has one (s, sh), else z or zh.
std::vector<Label> merge_touching(const std::vector<Label>& labels) {
    std::vector<Label> groups;
    for (const Label& label : labels) {
        if (!groups.empty() && s_class(groups.back().phoneme) == s_class(label.phoneme) &&
            label.start_s - groups.back().end_s <= 0.020) {
            groups.back().end_s = label.end_s;
            if (label.phoneme == "s" || label.phoneme == "sh") groups.back().phoneme = label.phoneme;
        } else {
            groups.push_back(label);
        }
    }
    return groups;
}

// An event matches a label when they overlap by at least half the shorter.
bool matches(const SibilantEvent& e, const Label& label) {
    const double overlap = std::min(e.end_s, label.end_s) - std::max(e.start_s, label.start_s);
    return overlap >= 0.5 * std::min(e.end_s - e.start_s, label.end_s - label.start_s);
}

}  // namespace

TEST(SibilantDetector, PrecisionAndRecallOnLabelledEspeakSpeech) {
    const char* names[] = {"demo", "s_clusters", "zh_medial", "z_voiced", "sh_positions", "no_sibilants"};
    std::map<std::string, int> labelled, found;  // per group phoneme
    int detected_s = 0, detected_sh = 0, correct_s = 0, correct_sh = 0;
    std::ostringstream misses;
    for (const char* name : names) {
        const auto groups = merge_touching(read_labels(speech_dir() / (std::string(name) + ".labels.tsv")));
        const auto events = detect_sibilants(read_48k(speech_dir() / (std::string(name) + ".flac")));
        std::vector<bool> hit(groups.size(), false);
        for (const auto& e : events) {
            const bool is_s = e.cls == Class::S;
            (is_s ? detected_s : detected_sh)++;
            bool correct = false;
            for (std::size_t g = 0; g < groups.size(); ++g)
                if (matches(e, groups[g]) && s_class(groups[g].phoneme) == is_s) {
                    correct = true;
                    hit[g] = true;
                }
            if (correct)
                (is_s ? correct_s : correct_sh)++;
            else
                misses << "  " << name << ": detected " << to_string(e.cls) << " " << e.start_s << "-" << e.end_s
                       << " matches no " << to_string(e.cls) << "-class label\n";
        }
        for (std::size_t g = 0; g < groups.size(); ++g) {
            ++labelled[groups[g].phoneme];
            if (hit[g])
                ++found[groups[g].phoneme];
            else
                misses << "  " << name << ": missed " << groups[g].phoneme << " " << groups[g].start_s << "-"
                       << groups[g].end_s << "\n";
        }
    }
    const auto ratio = [](int a, int b) { return b > 0 ? double(a) / b : 0.0; };
    std::cout << std::fixed << std::setprecision(3) << "\nSibilant detection on testdata/speech (espeak-ng, "
              << "touching same-class labels merged)\n"
              << "  class  labels  found  recall | detected  correct  precision\n";
    for (const char* p : {"s", "z", "sh", "zh"}) {
        std::cout << "  /" << p << "/" << std::string(5 - std::strlen(p), ' ') << std::setw(6) << labelled[p]
                  << std::setw(7) << found[p] << std::setw(8) << ratio(found[p], labelled[p]);
        if (std::string(p) == "s")
            std::cout << " | " << std::setw(8) << detected_s << std::setw(9) << correct_s << std::setw(11)
                      << ratio(correct_s, detected_s) << "  (\"s\" class)";
        if (std::string(p) == "sh")
            std::cout << " | " << std::setw(8) << detected_sh << std::setw(9) << correct_sh << std::setw(11)
                      << ratio(correct_sh, detected_sh) << "  (\"sh\" class)";
        std::cout << "\n";
    }
    std::cout << misses.str() << std::defaultfloat << std::endl;

    EXPECT_GE(ratio(found["s"], labelled["s"]), 0.9);
    EXPECT_GE(ratio(found["sh"], labelled["sh"]), 0.9);
    EXPECT_GE(ratio(correct_s, detected_s), 0.9);
    EXPECT_GE(ratio(correct_sh, detected_sh), 0.9);
}

TEST(SibilantDetector, NoSibilantSampleHasNoEvents) {
    const auto events = detect_sibilants(read_48k(speech_dir() / "no_sibilants.flac"));
    EXPECT_TRUE(events.empty()) << describe(events);
}

// ------------------------------------------------------------ real corpus

TEST(SibilantDetector, CorpusSanity) {
    const fs::path shared = sibilant::test::shared_dir();
    if (shared.empty()) GTEST_SKIP() << "../shared/corpus not present";
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(shared / "corpus"))
        if (entry.path().extension() == ".wav") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    ASSERT_FALSE(files.empty());

    int total_s = 0, total_sh = 0;
    double total_speech_s = 0.0;
    std::vector<double> cog_s, cog_sh;
    std::cout << "\nSibilant events on the corpus\n"
              << "  file                                      speech_s  events   s  sh  per_s\n";
    for (const auto& file : files) {
        const auto x = read_48k(file);
        // Speech time: 10 ms blocks within 35 dB of the file's loud blocks
        // (95th percentile), so that leading and trailing silence and pauses
        // do not count.
        std::vector<double> block_db;
        for (std::size_t at = 0; at + 480 <= x.size(); at += 480) {
            double s = 0.0;
            for (std::size_t i = at; i < at + 480; ++i) s += double(x[i]) * x[i];
            block_db.push_back(10.0 * std::log10(s / 480 + 1e-20));
        }
        std::vector<double> sorted = block_db;
        std::sort(sorted.begin(), sorted.end());
        const double loud_db = sorted[static_cast<std::size_t>(0.95 * double(sorted.size() - 1))];
        const double speech_s =
            0.01 * double(std::count_if(block_db.begin(), block_db.end(), [&](double v) { return v > loud_db - 35; }));

        const auto events = detect_sibilants(x);
        int s = 0, sh = 0;
        for (const auto& e : events) {
            if (e.cls == Class::S) {
                ++s;
                cog_s.push_back(e.cog_hz);
            } else {
                ++sh;
                cog_sh.push_back(e.cog_hz);
            }
        }
        total_s += s;
        total_sh += sh;
        total_speech_s += speech_s;
        const double per_s = double(events.size()) / speech_s;
        std::cout << "  " << std::left << std::setw(42) << file.filename().string() << std::right << std::fixed
                  << std::setprecision(1) << std::setw(8) << speech_s << std::setw(8) << events.size()
                  << std::setw(4) << s << std::setw(4) << sh << std::setw(7) << std::setprecision(2) << per_s
                  << std::defaultfloat << "\n";
        // Plausible for read speech: at least one sibilant per file, at most
        // 5 per second; over a long file, more than one per 2 s. (Some
        // 3-second VCTK sentences hold only one or two sibilants.)
        EXPECT_GE(events.size(), 1u) << file;
        EXPECT_LE(per_s, 5.0) << file;
        if (speech_s >= 8.0) {
            EXPECT_GT(per_s, 0.5) << file;
        }
    }
    const auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : v[v.size() / 2];
    };
    std::cout << "  total: " << total_s << " s, " << total_sh << " sh, "
              << double(total_s + total_sh) / total_speech_s << " per second of speech; median centre of gravity "
              << median(cog_s) << " Hz (s), " << median(cog_sh) << " Hz (sh)" << std::endl;
    EXPECT_GT(total_s, total_sh);
    EXPECT_GT(median(cog_s), median(cog_sh));
    EXPECT_GT(double(total_s + total_sh) / total_speech_s, 0.5);
}
