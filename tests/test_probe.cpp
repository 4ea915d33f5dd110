// The live probe (issue #4): streamed == batch for any chunking, real-time
// discipline (no allocation in push), latency, the reference-mode alignment
// bound, reset, packets, and misuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <random>
#include <vector>

#include <opus.h>

#include "sibilant/analyze.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/opus_channel.hpp"
#include "sibilant/probe.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

std::vector<float> speech(const char* name) {
    return read_audio_file((test::testdata_dir() / "speech" / (std::string(name) + ".flac")).string());
}

std::vector<float> opus(std::span<const float> x, int bitrate_bps) {
    OpusSettings s;
    s.bitrate_bps = bitrate_bps;
    return run_opus_channel(x, s, LossModelConfig{}, 1);
}

// Random chunk sizes: mostly small and odd, some large, some of one sample.
std::vector<std::size_t> random_chunks(std::size_t total, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::size_t> sizes;
    for (std::size_t done = 0; done < total;) {
        std::size_t n = 0;
        switch (rng() % 4) {
            case 0: n = 1; break;
            case 1: n = 1 + rng() % 37; break;
            case 2: n = 1 + rng() % 1999; break;
            default: n = 1 + rng() % 24001; break;
        }
        n = std::min(n, total - done);
        sizes.push_back(n);
        done += n;
    }
    return sizes;
}

struct Streamed {
    std::vector<SibilantEventResult> events;
    AnalysisSummary summary;
    ProbeStatus status;
};

// Pushes chunk after chunk with push(first, count), polling after each, then
// finishes: the events and summary a live caller would see.
template <class Push>
Streamed stream(Probe& probe, const std::vector<std::size_t>& chunks, Push&& push) {
    Streamed out;
    SibilantEventResult e;
    std::size_t pos = 0;
    for (std::size_t n : chunks) {
        EXPECT_EQ(push(pos, n), ProbeStatusCode::Ok);
        pos += n;
        while (probe.poll_event(e)) out.events.push_back(e);
    }
    probe.finish();
    while (probe.poll_event(e)) out.events.push_back(e);
    out.summary = probe.summary();
    out.status = probe.status();
    return out;
}

Streamed stream_no_reference(std::span<const float> x, const std::vector<std::size_t>& chunks) {
    Probe probe;
    return stream(probe, chunks, [&](std::size_t pos, std::size_t n) { return probe.push(x.subspan(pos, n)); });
}

Streamed stream_with_reference(std::span<const float> ref, std::span<const float> deg,
                               const std::vector<std::size_t>& chunks) {
    Probe probe(ProbeConfig{.mode = ProbeMode::FullReference});
    return stream(probe, chunks, [&](std::size_t pos, std::size_t n) {
        return probe.push(ref.subspan(pos, n), deg.subspan(pos, n));
    });
}

using test::expect_same_events;
using test::expect_same_summary;

TEST(Probe, NoReferenceStreamedEqualsBatchForRandomChunkings) {
    const auto clean = speech("demo");
    const auto deg = opus(clean, 12000);
    const AnalysisResult batch = analyze_no_reference(deg);
    ASSERT_GT(batch.summary.sibilants, 0);
    for (std::uint32_t seed = 1; seed <= 12; ++seed) {
        const Streamed s = stream_no_reference(deg, random_chunks(deg.size(), seed));
        const std::string what = "seed " + std::to_string(seed);
        expect_same_events(s.events, batch.events, what);
        expect_same_summary(s.summary, batch.summary, what);
        EXPECT_EQ(s.status.degraded_bandwidth_hz, batch.degraded_bandwidth_hz) << what;
    }
}

TEST(Probe, NoReferenceOneSampleAtATimeEqualsBatch) {
    auto x = speech("s_clusters");
    x.resize(std::min<std::size_t>(x.size(), 4 * 48000));
    const AnalysisResult batch = analyze_no_reference(x);
    ASSERT_GT(batch.summary.sibilants, 0);
    const Streamed s = stream_no_reference(x, std::vector<std::size_t>(x.size(), 1));
    expect_same_events(s.events, batch.events, "1-sample pushes");
    expect_same_summary(s.summary, batch.summary, "1-sample pushes");
}

TEST(Probe, FullReferenceStreamedEqualsIncrementalBatch) {
    const auto ref = speech("demo");
    auto deg = opus(ref, 16000);
    // A delay and a gain the probe must find itself.
    deg.insert(deg.begin(), 1776, 0.0f);
    deg.resize(ref.size());
    for (float& v : deg) v *= 0.5f;
    const AnalysisResult batch =
        analyze(ref, deg, AnalyzeOptions{.alignment = AlignmentMode::Incremental});
    ASSERT_GT(batch.summary.sibilants, 0);
    EXPECT_NEAR(batch.alignment.delay_ms, 37.0, 0.1);  // within 5 samples: the codec's phase
    for (std::uint32_t seed = 1; seed <= 6; ++seed) {
        const Streamed s = stream_with_reference(ref, deg, random_chunks(ref.size(), 100 + seed));
        const std::string what = "seed " + std::to_string(seed);
        EXPECT_TRUE(s.status.aligned) << what;
        EXPECT_EQ(s.status.delay_ms, batch.alignment.delay_ms) << what;
        expect_same_events(s.events, batch.events, what);
        expect_same_summary(s.summary, batch.summary, what);
    }
}

// The one place live and whole-file analysis may differ: the probe locks the
// first delay and gain the aligner settles on, the whole-file analysis uses
// all of both signals. For a constant delay and gain they find the same
// delay within a sample and the gain within 0.3 dB (measured here: same
// delay, gains 0.01-0.14 dB apart), so the events are the same (they are
// found on the reference), each score within 5 points (a measure near one
// of its anchors can move that much for 0.1 dB; measured: at most 4.2) and
// the indices within 1 point (measured: at most 0.34).
TEST(Probe, IncrementalAndWholeFileAlignmentAgreeWithinTheStatedBound) {
    for (const char* name : {"demo", "sh_positions", "z_voiced"}) {
        const auto ref = speech(name);
        for (int bitrate_bps : {12000, 24000}) {
            auto deg = opus(ref, bitrate_bps);
            deg.insert(deg.begin(), 960, 0.0f);
            for (float& v : deg) v *= 0.7f;
            const AnalysisResult whole = analyze(ref, deg);
            const AnalysisResult live = analyze(ref, deg, AnalyzeOptions{.alignment = AlignmentMode::Incremental});
            const std::string what = std::string(name) + " " + std::to_string(bitrate_bps);
            EXPECT_NEAR(live.alignment.delay_ms, whole.alignment.delay_ms, 1000.0 / 48000 + 1e-9) << what;
            EXPECT_NEAR(live.alignment.gain_db, whole.alignment.gain_db, 0.3) << what;
            ASSERT_EQ(live.events.size(), whole.events.size()) << what;
            for (std::size_t i = 0; i < live.events.size(); ++i) {
                EXPECT_EQ(live.events[i].start_s, whole.events[i].start_s) << what;
                EXPECT_EQ(live.events[i].cls, whole.events[i].cls) << what;
                EXPECT_NEAR(live.events[i].lisp, whole.events[i].lisp, 5.0) << what << " event " << i;
                EXPECT_NEAR(live.events[i].smearing, whole.events[i].smearing, 5.0) << what << " event " << i;
            }
            EXPECT_NEAR(live.summary.lisp_index, whole.summary.lisp_index, 1.0) << what;
            EXPECT_NEAR(live.summary.smearing_index, whole.summary.smearing_index, 1.0) << what;
        }
    }
}

// The probe analyses what it is given and cannot refuse it (push is real
// time): samples that are no audio (NaN, infinity, 1e30) must not break it.
// A level of +-inf reached an int conversion in the detector's level
// histogram (undefined behaviour, found by fuzz_analyze; UBSan in the
// sanitizer build fails this test without the fix).
TEST(Probe, SamplesThatAreNoAudioDoNotBreakIt) {
    const std::vector<float> x = speech("demo");
    for (const ProbeMode mode : {ProbeMode::NoReference, ProbeMode::FullReference}) {
        Probe probe(ProbeConfig{.mode = mode});
        auto push = [&](std::span<const float> chunk) {
            if (mode == ProbeMode::NoReference)
                probe.push(chunk);
            else
                probe.push(chunk, chunk);
        };
        push(std::span<const float>(x).first(48000));
        for (float bad : {1e30f, -3e38f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
            const std::vector<float> garbage(4800, bad);
            push(garbage);
        }
        push(std::span<const float>(x).subspan(48000));
        probe.finish();
        SibilantEventResult event;
        while (probe.poll_event(event)) {
        }
        EXPECT_FALSE(probe.summary().verdict.empty());
        EXPECT_EQ(probe.status().samples, std::int64_t(x.size()) + 4 * 4800);
    }
}

TEST(Probe, PushAllocatesNothingAfterCreation) {
    const auto clean = speech("demo");
    const auto deg = opus(clean, 12000);
    std::vector<std::int16_t> deg16(deg.size());
    for (std::size_t i = 0; i < deg.size(); ++i)
        deg16[i] = static_cast<std::int16_t>(std::clamp(std::lround(deg[i] * 32768.0f), -32768L, 32767L));
    const auto chunks = random_chunks(deg.size(), 7);

    Probe blind;
    Probe blind16;
    Probe with_reference(ProbeConfig{.mode = ProbeMode::FullReference});
    const std::size_t allocations = test::allocations_during([&] {
        std::size_t pos = 0;
        for (std::size_t n : chunks) {
            blind.push(std::span<const float>(deg).subspan(pos, n));
            blind16.push(std::span<const std::int16_t>(deg16).subspan(pos, n));
            with_reference.push(std::span<const float>(clean).subspan(pos, n), std::span<const float>(deg).subspan(pos, n));
            pos += n;
        }
        blind.finish();
        blind16.finish();
        with_reference.finish();
    });
    EXPECT_EQ(allocations, 0u);
    // And they did the work: events were judged, and wait to be polled.
    EXPECT_GT(blind.status().events, 0);
    EXPECT_GT(blind16.status().events, 0);
    EXPECT_TRUE(with_reference.status().aligned);
    EXPECT_GT(with_reference.status().events, 0);
    EXPECT_GT(blind.pending_events(), 0u);
}

// An event is ready at most lookahead (100 ms) + gap (10 ms) + a hop + the
// frame's half-window after its sibilant's end: under 150 ms. One exception,
// by design: two sibilants of different class in one stretch of noise
// ("six scientists") are split only when the stretch has ended, so the first
// waits for the second as well (at most its length more).
// A service reads every stream's summary on its publishing tick: into a
// reserved verdict it must equal summary() and allocate nothing, at every
// verdict a probe can reach (no sibilants yet, then lisp+... at 6 kbps).
TEST(Probe, SummaryIntoAReservedVerdictEqualsSummaryAndAllocatesNothing) {
    const auto deg = opus(speech("demo"), 6000);
    Probe probe;
    AnalysisSummary into;
    into.verdict.reserve(32);  // probe.hpp: 32 characters suffice
    std::size_t allocations = 0;
    const std::size_t step = deg.size() / 8;
    for (std::size_t pos = 0; pos < deg.size(); pos += step) {
        probe.push(std::span<const float>(deg).subspan(pos, std::min(step, deg.size() - pos)));
        allocations += test::allocations_during([&] { probe.summary(into); });
        const AnalysisSummary expected = probe.summary();
        EXPECT_EQ(into.verdict, expected.verdict);
        EXPECT_EQ(into.sibilants, expected.sibilants);
        EXPECT_EQ(into.lisp_index, expected.lisp_index);
        EXPECT_EQ(into.smearing_index, expected.smearing_index);
    }
    probe.finish();
    allocations += test::allocations_during([&] { probe.summary(into); });
    EXPECT_EQ(into.verdict, probe.summary().verdict);
    EXPECT_NE(into.verdict.find("lisp"), std::string::npos);  // 6 kbps is narrowband
    EXPECT_EQ(allocations, 0u);
}

TEST(Probe, EventsAreReadyWithin150msOfTheSibilantsEnd) {
    double worst_single_s = 0.0, worst_split_s = 0.0;
    for (const char* name : {"demo", "s_clusters", "sh_positions", "z_voiced", "zh_medial"}) {
        const auto x = speech(name);
        Probe probe;
        SibilantEventResult e;
        std::int64_t pushed = 0;
        std::vector<std::pair<SibilantEventResult, double>> seen;  // event, latency
        // 10 ms pushes, as a server's audio callback would: an event's
        // latency is the stream time when it could first be polled minus its
        // end.
        for (std::size_t pos = 0; pos < x.size(); pos += 480) {
            const std::size_t n = std::min<std::size_t>(480, x.size() - pos);
            probe.push(std::span<const float>(x).subspan(pos, n));
            pushed += std::int64_t(n);
            while (probe.poll_event(e)) seen.emplace_back(e, double(pushed) / 48000.0 - e.end_s);
        }
        ASSERT_GT(seen.size(), 0u) << name;
        for (std::size_t i = 0; i < seen.size(); ++i) {
            const auto& [event, latency_s] = seen[i];
            // Split parts are at most the detector's 10 ms gap apart.
            const bool split = i + 1 < seen.size() && seen[i + 1].first.start_s - event.end_s < 0.0105;
            if (split) {
                const double next_s = seen[i + 1].first.end_s - seen[i + 1].first.start_s;
                EXPECT_LT(latency_s, 0.150 + next_s) << name << " split event at " << event.start_s;
                worst_split_s = std::max(worst_split_s, latency_s);
            } else {
                EXPECT_LT(latency_s, 0.150) << name << " event at " << event.start_s;
                worst_single_s = std::max(worst_single_s, latency_s);
            }
        }
        EXPECT_GE(probe.status().max_event_latency_s + 0.010 + 1e-9,
                  std::max_element(seen.begin(), seen.end(), [](auto& a, auto& b) { return a.second < b.second; })->second)
            << name;
    }
    std::printf("worst latency: %.3f s (single sibilants), %.3f s (first of a split pair)\n", worst_single_s,
                worst_split_s);
}

TEST(Probe, ResetGivesTheSameResultsAsANewProbe) {
    const auto x = opus(speech("sh_positions"), 12000);
    Probe probe;
    probe.push(std::span<const float>(x).first(x.size() / 2));
    probe.reset();
    probe.push(x);
    probe.finish();
    const AnalysisResult batch = analyze_no_reference(x);
    std::vector<SibilantEventResult> events;
    SibilantEventResult e;
    while (probe.poll_event(e)) events.push_back(e);
    expect_same_events(events, batch.events, "after reset");
    expect_same_summary(probe.summary(), batch.summary, "after reset");
}

TEST(Probe, MisuseIsRefusedWithACode) {
    Probe blind;
    Probe with_reference(ProbeConfig{.mode = ProbeMode::FullReference});
    const std::vector<float> a(100, 0.0f), b(99, 0.0f);
    EXPECT_EQ(blind.push(a, a), ProbeStatusCode::WrongMode);
    EXPECT_EQ(with_reference.push(std::span<const float>(a)), ProbeStatusCode::WrongMode);
    EXPECT_EQ(with_reference.push(a, b), ProbeStatusCode::LengthMismatch);
    blind.finish();
    EXPECT_EQ(blind.push(std::span<const float>(a)), ProbeStatusCode::Finished);
    blind.reset();
    EXPECT_EQ(blind.push(std::span<const float>(a)), ProbeStatusCode::Ok);
    EXPECT_STRNE(to_string(ProbeStatusCode::LengthMismatch), "");
    test::expect_error([] { Probe p(ProbeConfig{.event_capacity = 0}); }, {"event_capacity", "0"});
    test::expect_error([] { Probe p(ProbeConfig{.analysis = AnalyzeOptions{.lisp_flag_threshold = 101}}); },
                       {"lisp_flag_threshold"});
}

TEST(Probe, PcmOnlyProbeRefusesPacketsAndAnalysesTheSame) {
    const auto x = opus(speech("demo"), 12000);
    Probe pcm_only(ProbeConfig{.accept_packets = false});
    const std::uint8_t packet[] = {0x08, 0x00, 0x00};
    EXPECT_EQ(pcm_only.push_packet(1, packet), PacketOutcome::Malformed);
    EXPECT_TRUE(pcm_only.timeline().empty());
    EXPECT_EQ(pcm_only.packet_stats().packets_received, 0);
    pcm_only.push(x);
    pcm_only.finish();
    std::vector<SibilantEventResult> events;
    SibilantEventResult e;
    while (pcm_only.poll_event(e)) events.push_back(e);
    const AnalysisResult batch = analyze_no_reference(x);
    ASSERT_FALSE(batch.events.empty());
    expect_same_events(events, batch.events, "pcm only");
    expect_same_summary(pcm_only.summary(), batch.summary, "pcm only");
}

TEST(Probe, FullEventQueueOverwritesTheOldestButSummarisesAll) {
    const auto x = opus(speech("demo"), 12000);
    Probe small(ProbeConfig{.event_capacity = 2});
    small.push(x);
    small.finish();
    const AnalysisResult batch = analyze_no_reference(x);
    ASSERT_GT(batch.events.size(), 2u);
    EXPECT_EQ(small.pending_events(), 2u);
    EXPECT_EQ(small.status().overwritten_events, std::int64_t(batch.events.size()) - 2);
    expect_same_summary(small.summary(), batch.summary, "small queue");
    SibilantEventResult e;
    ASSERT_TRUE(small.poll_event(e));
    EXPECT_EQ(e.start_s, batch.events[batch.events.size() - 2].start_s);
}

TEST(Probe, OpusPacketsInGiveTheAnalysisOfTheDecodedStreamAndATimeline) {
    const auto x = speech("demo");
    int error = 0;
    OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &error);
    ASSERT_EQ(error, OPUS_OK);
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(24000));
    OpusDecoder* dec = opus_decoder_create(48000, 1, &error);
    ASSERT_EQ(error, OPUS_OK);
    Probe probe;
    std::vector<float> decoded;
    std::vector<std::uint8_t> packet(4000);
    std::vector<float> pcm(960);
    std::uint16_t sequence = 65000;  // wraps during the stream
    for (std::size_t pos = 0; pos + 960 <= x.size(); pos += 960) {
        // Halfway through, the sender drops to wideband.
        if (pos == (x.size() / 2) / 960 * 960) opus_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_WIDEBAND));
        const int bytes = opus_encode_float(enc, x.data() + pos, 960, packet.data(), int(packet.size()));
        ASSERT_GT(bytes, 0);
        EXPECT_EQ(probe.push_packet(sequence++, std::span<const std::uint8_t>(packet.data(), std::size_t(bytes))),
                  PacketOutcome::Decoded);
        const int n = opus_decode_float(dec, packet.data(), bytes, pcm.data(), 960, 0);
        ASSERT_EQ(n, 960);
        decoded.insert(decoded.end(), pcm.begin(), pcm.end());
    }
    const std::uint8_t garbage[] = {0xff, 0xff, 0xff};
    EXPECT_EQ(probe.push_packet(sequence++, garbage), PacketOutcome::Malformed);
    probe.finish();
    opus_encoder_destroy(enc);
    opus_decoder_destroy(dec);

    const AnalysisResult batch = analyze_no_reference(decoded);
    std::vector<SibilantEventResult> events;
    SibilantEventResult e;
    while (probe.poll_event(e)) events.push_back(e);
    expect_same_events(events, batch.events, "packets");
    EXPECT_EQ(probe.packet_stats().malformed, 1);
    bool saw_wideband = false;
    for (const TocChange& c : probe.timeline())
        if (c.kind == TocChangeKind::Change && c.current.bandwidth == Bandwidth::Wideband) saw_wideband = true;
    EXPECT_TRUE(saw_wideband);
}

// Delay steps (issue #11): test speech, five sentences joined by 0.5 s of
// silence (19.6 s). A jitter buffer inserts silence into the degraded, or
// drops samples of it, in the pause after the second sentence (8.6 s).
struct StepCase {
    std::vector<float> reference;
    std::int64_t step_at = 0;  // reference sample of the step (in the pause)
    double pause_begin_s = 0.0, pause_end_s = 0.0;
};

StepCase joined_sentences() {
    StepCase c;
    const std::vector<float> pause(24000, 0.0f);
    for (const char* name : {"demo", "sh_positions", "s_clusters", "z_voiced", "zh_medial"}) {
        if (!c.reference.empty()) c.reference.insert(c.reference.end(), pause.begin(), pause.end());
        const auto x = speech(name);
        c.reference.insert(c.reference.end(), x.begin(), x.end());
        if (std::string(name) == "sh_positions") {
            c.step_at = std::int64_t(c.reference.size()) + 12000;
            c.pause_begin_s = double(c.reference.size()) / 48000.0;
            c.pause_end_s = c.pause_begin_s + 0.5;
        }
    }
    return c;
}

// The degraded: `coded` (the reference through a codec) delayed by
// `delay` samples, then from reference sample `at` on by `step` more
// (inserted silence when positive, dropped samples when negative), cut to
// the reference's length.
std::vector<float> with_step(const std::vector<float>& coded, std::int64_t delay, std::int64_t at,
                             std::int64_t step) {
    std::vector<float> y(std::size_t(delay), 0.0f);
    y.insert(y.end(), coded.begin(), coded.end());
    const auto cut = y.begin() + (at + delay);
    if (step > 0)
        y.insert(cut, std::size_t(step), 0.0f);
    else
        y.erase(cut, cut + (-step));
    y.resize(coded.size(), 0.0f);
    return y;
}

struct Polled {
    std::vector<SibilantEventResult> events;
    std::vector<double> latency_s;  // stream time when polled - the sibilant's end
    ProbeStatus status;
};

// 10 ms pushes, as a server's audio callback would.
Polled stream_10ms(std::span<const float> ref, std::span<const float> deg) {
    Probe probe(ProbeConfig{.mode = ProbeMode::FullReference});
    Polled out;
    SibilantEventResult e;
    for (std::size_t pos = 0; pos < ref.size(); pos += 480) {
        const std::size_t n = std::min<std::size_t>(480, ref.size() - pos);
        EXPECT_EQ(probe.push(ref.subspan(pos, n), deg.subspan(pos, n)), ProbeStatusCode::Ok);
        while (probe.poll_event(e)) {
            out.events.push_back(e);
            out.latency_s.push_back(double(pos + n) / 48000.0 - e.end_s);
        }
    }
    probe.finish();
    while (probe.poll_event(e)) {
        out.events.push_back(e);
        out.latency_s.push_back(double(ref.size()) / 48000.0 - e.end_s);
    }
    out.status = probe.status();
    return out;
}

// After a step of +-20 or +-120 ms, the events after it are compared at the
// new delay, with the scores of the same stream without the step within 5
// points (only the new segment's locked gain differs, by a few hundredths
// of a dB; the same bound as whole-file against incremental alignment);
// those before it are the same events with the same scores. Where in the
// pause the aligner puts the change point is its choice (silence explains
// both delays equally): an event near the pause whose frames touch the
// guard zone (10 ms + |step| either side of that point) is not compared.
TEST(Probe, FollowsADelayStepAfterTheLock) {
    const StepCase c = joined_sentences();
    const std::int64_t delay = 960;  // 20 ms, plus the codec's own
    const double step_at_s = double(c.step_at) / 48000.0;
    double worst_score_difference = 0.0, worst_latency_s = 0.0;
    int not_compared = 0, cases = 0;
    for (int bitrate_bps : {0, 24000}) {
        const std::vector<float> coded = bitrate_bps == 0 ? c.reference : opus(c.reference, bitrate_bps);
        const Polled plain = stream_10ms(c.reference, with_step(coded, delay, c.step_at, 0));
        ASSERT_TRUE(plain.status.aligned);
        ASSERT_EQ(plain.status.steps_followed, 0);
        ASSERT_GT(plain.events.size(), 10u);
        for (std::int64_t step_ms : {20, 120, -20, -120}) {
            const std::int64_t step = step_ms * 48;
            const std::string what = "bitrate " + std::to_string(bitrate_bps) + " step " + std::to_string(step_ms);
            const std::vector<float> deg = with_step(coded, delay, c.step_at, step);
            const Polled s = stream_10ms(c.reference, deg);
            ASSERT_TRUE(s.status.aligned) << what;
            EXPECT_TRUE(s.status.following) << what;
            EXPECT_EQ(s.status.steps_followed, 1) << what;
            EXPECT_NEAR(s.status.delay_ms, plain.status.delay_ms + double(step_ms), 2.0 / 48.0 + 1e-9) << what;
            // Detection runs on the reference: the same events either way.
            ASSERT_EQ(s.events.size(), plain.events.size()) << what;
            int after = 0;
            for (std::size_t i = 0; i < s.events.size(); ++i) {
                const SibilantEventResult& a = s.events[i];
                const SibilantEventResult& b = plain.events[i];
                const std::string event = what + " event " + std::to_string(i) + " at " + std::to_string(a.start_s);
                ASSERT_EQ(a.start_s, b.start_s) << event;
                ASSERT_TRUE(b.compared) << event;
                if (!a.compared) {
                    // The guard zone lies in the pause, the event's frames reach 60 ms out.
                    const double reach_s = 0.010 + std::abs(double(step_ms)) / 1000.0 + 0.06 + 0.01;
                    EXPECT_LT(a.start_s, c.pause_end_s + reach_s) << event;
                    EXPECT_GT(a.end_s, c.pause_begin_s - reach_s) << event;
                    EXPECT_NE(a.why.find("guard zone of a delay step"), std::string::npos) << event << ": " << a.why;
                    ++not_compared;
                } else if (a.end_s < step_at_s) {
                    EXPECT_EQ(a.lisp, b.lisp) << event;
                    EXPECT_EQ(a.smearing, b.smearing) << event;
                    EXPECT_EQ(a.delay_ms, b.delay_ms) << event;
                } else {
                    ++after;
                    EXPECT_NEAR(a.delay_ms, b.delay_ms + double(step_ms), 2.0 / 48.0 + 1e-9) << event;
                    EXPECT_NEAR(a.lisp, b.lisp, 5.0) << event;
                    EXPECT_NEAR(a.smearing, b.smearing, 5.0) << event;
                    worst_score_difference =
                        std::max({worst_score_difference, std::abs(a.lisp - b.lisp), std::abs(a.smearing - b.smearing)});
                }
            }
            EXPECT_GT(after, 5) << what;
            ++cases;
            // The wait for a final delay is bounded by the 8 s store (what
            // would leave it goes in), plus the detector's 150 ms.
            for (double l : s.latency_s) {
                EXPECT_LT(l, 8.15) << what;
                worst_latency_s = std::max(worst_latency_s, l);
            }
            EXPECT_GE(s.status.max_event_latency_s + 0.010 + 1e-9,
                      *std::max_element(s.latency_s.begin(), s.latency_s.end()))
                << what;
        }
    }
    std::printf("after a step: scores within %.2f points of the stream without it; %d events not compared in "
                "%d cases; worst event latency %.2f s\n",
                worst_score_difference, not_compared, cases, worst_latency_s);
}

// The same stream with a step, cut into random chunks, and the batch
// incremental analysis of it: identical events (and delays) and summary.
TEST(Probe, StepFollowingIsIndependentOfChunkingAndEqualsIncrementalBatch) {
    const StepCase c = joined_sentences();
    const std::vector<float> deg = with_step(opus(c.reference, 16000), 1776, c.step_at, -120 * 48);
    const AnalysisResult batch =
        analyze(c.reference, deg, AnalyzeOptions{.alignment = AlignmentMode::Incremental});
    EXPECT_EQ(batch.alignment.segments, 2);
    for (std::uint32_t seed = 1; seed <= 4; ++seed) {
        const Streamed s = stream_with_reference(c.reference, deg, random_chunks(c.reference.size(), 200 + seed));
        const std::string what = "seed " + std::to_string(seed);
        EXPECT_EQ(s.status.steps_followed, 1) << what;
        EXPECT_EQ(s.status.delay_ms, batch.alignment.delay_ms) << what;
        expect_same_events(s.events, batch.events, what);
        ASSERT_EQ(s.events.size(), batch.events.size());
        for (std::size_t i = 0; i < s.events.size(); ++i) EXPECT_EQ(s.events[i].delay_ms, batch.events[i].delay_ms);
        expect_same_summary(s.summary, batch.summary, what);
    }
}

// The degraded leg starts 12 s late (silent until then): the aligner can
// settle only once the degraded carries speech, after the 8 s store has let
// the start go. The analysis starts where the store began at the lock and
// says how much it skipped; the batch incremental analysis reports it (and
// warns).
TEST(Probe, AStartTheAlignerNeedsOver8sForIsSkippedAndSaid) {
    const StepCase c = joined_sentences();
    std::vector<float> ref = c.reference;
    ref.insert(ref.end(), c.reference.begin(), c.reference.end());
    std::vector<float> deg = with_step(ref, 960, 0, 0);
    const std::size_t late = 12 * 48000;
    std::fill(deg.begin(), deg.begin() + std::ptrdiff_t(late), 0.0f);
    const Polled s = stream_10ms(ref, deg);
    ASSERT_TRUE(s.status.aligned);
    // Settled on the first window with the degraded in it ([12 s, 14 s),
    // done once the degraded reached 15 s), at which the store held 8 s.
    const std::int64_t skipped = s.status.skipped_samples;
    EXPECT_GE(skipped, std::int64_t(15 - 8) * 48000);
    EXPECT_LE(skipped, std::int64_t(17 - 8) * 48000);
    EXPECT_EQ(skipped % 240, 0);  // the lock falls on an aligner step
    ASSERT_FALSE(s.events.empty());
    EXPECT_GE(s.events.front().start_s, double(skipped) / 48000.0);
    // The events from the degraded's start on are compared as usual.
    int compared_after_start = 0;
    for (const auto& e : s.events) compared_after_start += e.compared && e.start_s > 12.0;
    EXPECT_GT(compared_after_start, 20);
    const AnalysisResult batch = analyze(ref, deg, AnalyzeOptions{.alignment = AlignmentMode::Incremental});
    EXPECT_EQ(batch.alignment.skipped_s, double(skipped) / 48000.0);
    EXPECT_NE(batch.alignment.warning.find("were not analysed"), std::string::npos) << batch.alignment.warning;
    expect_same_events(batch.events, s.events, "batch incremental");
    // A stream that settles in time skips nothing.
    const Polled prompt = stream_10ms(ref, with_step(ref, 960, 0, 0));
    EXPECT_EQ(prompt.status.skipped_samples, 0);
    std::printf("degraded 12 s late: %.2f s skipped\n", double(skipped) / 48000.0);
}

// Three hours with a reference, 100 ms pushes: after creation nothing is
// allocated, however long the stream (the aligner keeps its last windows
// and running counts, not a list of every window). The joined test speech
// over and over, the degraded 20 ms behind; built chunk by chunk, as a
// server would receive it.
TEST(Probe, ThreeHoursWithAReferenceAllocateNothingAfterCreation) {
    const StepCase c = joined_sentences();
    const std::vector<float>& x = c.reference;
    const auto period = std::int64_t(x.size());
    const std::int64_t delay = 960, total = std::int64_t(3 * 3600) * 48000;
    const std::size_t chunk = 4800;
    std::vector<float> ref(chunk), deg(chunk);
    Probe probe(ProbeConfig{.mode = ProbeMode::FullReference});
    SibilantEventResult e;
    e.why.reserve(1024);
    std::int64_t polled = 0, compared = 0;
    const std::size_t allocations = test::allocations_during([&] {
        for (std::int64_t pos = 0; pos < total; pos += std::int64_t(chunk)) {
            for (std::size_t i = 0; i < chunk; ++i) {
                const std::int64_t n = pos + std::int64_t(i);
                ref[i] = x[std::size_t(n % period)];
                deg[i] = n >= delay ? 0.5f * x[std::size_t((n - delay) % period)] : 0.0f;
            }
            probe.push(std::span<const float>(ref), std::span<const float>(deg));
            while (probe.poll_event(e)) {
                ++polled;
                compared += e.compared;
            }
        }
        probe.finish();
        while (probe.poll_event(e)) {
            ++polled;
            compared += e.compared;
        }
    });
    EXPECT_EQ(allocations, 0u);
    const ProbeStatus st = probe.status();
    EXPECT_TRUE(st.aligned);
    EXPECT_TRUE(st.following);
    EXPECT_EQ(st.steps_followed, 0);
    EXPECT_NEAR(st.delay_ms, 20.0, 1e-9);
    EXPECT_EQ(st.analysed_samples, total);
    // Every repetition has the same sibilants, all compared.
    EXPECT_GT(polled, 40 * (total / period));
    EXPECT_EQ(compared, polled);
    std::printf("3 h stream: %lld events, %zu allocations after creation\n", static_cast<long long>(polled),
                allocations);
}

}  // namespace
}  // namespace sibilant

namespace sibilant {
namespace {

// The no-reference summary rule runs in the kernel: narrowband speech is a
// lisp even when it leaves nothing sibilant-like to find; silence is not.
TEST(Probe, NoReferenceNarrowbandSpeechIsLispAndSilenceIsNot) {
    for (const char* name : {"demo", "sh_positions"}) {
        const AnalysisResult r = analyze_no_reference(opus(speech(name), 6000));
        EXPECT_NE(r.summary.verdict.find("lisp"), std::string::npos) << name << ": " << r.summary.verdict;
        EXPECT_LT(r.degraded_bandwidth_hz, 5000.0) << name;
    }
    const std::vector<float> silence(48000 * 3, 0.0f);
    EXPECT_EQ(analyze_no_reference(silence).summary.verdict, "no-sibilants");
}

}  // namespace
}  // namespace sibilant
