// RtpMonitor (sibilant/rtp_monitor.hpp): RTP datagrams to per-SSRC probes.
// A stream's events equal those of a Probe fed the same packets; every kind
// of bad datagram is counted under its own outcome; the stream cap refuses
// floods without allocating or displacing running streams; idle streams end
// with their pending events first.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "sibilant/audio.hpp"
#include "sibilant/rtp_monitor.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

const std::vector<std::vector<std::uint8_t>>& demo_packets() { return test::demo_opus_packets(8000); }

RemoteEndpoint endpoint(std::uint8_t last_byte, std::uint16_t port) {
    RemoteEndpoint e;
    e.address = {127, 0, 0, last_byte};
    e.port = port;
    return e;
}

std::vector<std::uint8_t> rtp(std::uint32_t ssrc, std::uint16_t sequence, const std::vector<std::uint8_t>& payload,
                              int payload_type = 111) {
    return test::rtp_packet({.payload_type = payload_type,
                             .sequence = sequence,
                             .timestamp = std::uint32_t(sequence) * 960u,
                             .ssrc = ssrc},
                            payload);
}

// What the sinks saw, by SSRC.
struct Seen {
    std::map<std::uint32_t, std::vector<SibilantEventResult>> events;
    std::map<std::uint32_t, StreamEnd> ended;
    std::map<std::uint32_t, std::size_t> events_at_end;
    std::map<std::uint32_t, std::int64_t> pcm_frames;
    int started = 0;

    RtpMonitorSinks sinks() {
        RtpMonitorSinks s;
        s.context = this;
        s.stream_started = [](void* c, const RtpStream&) { ++static_cast<Seen*>(c)->started; };
        s.event = [](void* c, const RtpStream& stream, const SibilantEventResult& e, double) {
            static_cast<Seen*>(c)->events[stream.ssrc()].push_back(e);
        };
        s.pcm = [](void* c, const RtpStream& stream, const PcmBlock& block) {
            static_cast<Seen*>(c)->pcm_frames[stream.ssrc()] += block.frames;
        };
        s.stream_ended = [](void* c, const RtpStream& stream, StreamEnd why) {
            auto* seen = static_cast<Seen*>(c);
            seen->ended[stream.ssrc()] = why;
            seen->events_at_end[stream.ssrc()] = seen->events[stream.ssrc()].size();
        };
        return s;
    }
};

std::vector<SibilantEventResult> probe_directly(const std::vector<std::vector<std::uint8_t>>& packets) {
    Probe probe;
    std::vector<SibilantEventResult> events;
    std::uint16_t sequence = 0;
    for (const auto& p : packets) {
        probe.push_packet(sequence++, p);
        while (const auto* e = probe.peek_event()) {
            events.push_back(*e);
            probe.drop_event();
        }
    }
    probe.finish();
    while (const auto* e = probe.peek_event()) {
        events.push_back(*e);
        probe.drop_event();
    }
    return events;
}

void expect_same_events(const std::vector<SibilantEventResult>& a, const std::vector<SibilantEventResult>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].start_s, b[i].start_s) << i;
        EXPECT_EQ(a[i].end_s, b[i].end_s) << i;
        EXPECT_EQ(a[i].lisp, b[i].lisp) << i;
        EXPECT_EQ(a[i].smearing, b[i].smearing) << i;
        EXPECT_EQ(a[i].why, b[i].why) << i;
    }
}

TEST(RtpMonitor, InterleavedStreamsEachGetTheEventsOfTheirOwnProbe) {
    const auto& packets = demo_packets();
    const auto expected = probe_directly(packets);
    ASSERT_GT(expected.size(), 3u);

    Seen seen;
    RtpMonitor monitor(RtpMonitorConfig{}, seen.sinks());
    // Two senders, interleaved, the second with its sequence numbers about to
    // wrap: the probe's packet path keys by sequence, wrap included.
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const double t = 0.02 * double(i);
        EXPECT_EQ(monitor.push(rtp(0xA, std::uint16_t(i), packets[i]), endpoint(1, 4000), t), DatagramOutcome::Accepted);
        EXPECT_EQ(monitor.push(rtp(0xB, std::uint16_t(65500 + i), packets[i]), endpoint(2, 4000), t),
                  DatagramOutcome::Accepted);
    }
    EXPECT_EQ(monitor.active_streams(), 2u);
    const RtpStream* a = monitor.find(0xA);
    ASSERT_NE(a, nullptr);
    EXPECT_STREQ(a->remote_text(), "127.0.0.1:4000");
    EXPECT_EQ(a->payload_type(), 111);
    EXPECT_EQ(a->probe().packet_stats().packets_lost, 0);
    monitor.finish(100.0);
    EXPECT_EQ(monitor.active_streams(), 0u);
    expect_same_events(seen.events[0xA], expected);
    expect_same_events(seen.events[0xB], expected);
    EXPECT_EQ(seen.started, 2);
    EXPECT_EQ(seen.ended[0xA], StreamEnd::Finished);
    EXPECT_EQ(seen.pcm_frames[0xA], std::int64_t(packets.size()) * 960);
    EXPECT_EQ(monitor.counters().events, std::int64_t(2 * expected.size()));
    EXPECT_EQ(monitor.counters().outcomes[int(DatagramOutcome::Accepted)], std::int64_t(2 * packets.size()));
}

TEST(RtpMonitor, ReorderedAndDuplicatedPacketsAreTheProbesToSortOut) {
    const auto& packets = demo_packets();
    Seen seen;
    RtpMonitor monitor(RtpMonitorConfig{}, seen.sinks());
    // Swap every 10th pair, send every 7th twice, drop every 50th.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < packets.size(); ++i) order.push_back(i);
    for (std::size_t i = 0; i + 1 < order.size(); i += 10) std::swap(order[i], order[i + 1]);
    double t = 0;
    for (std::size_t i : order) {
        if (i % 50 == 49) continue;
        monitor.push(rtp(7, std::uint16_t(i), packets[i]), endpoint(1, 1), t += 0.02);
        if (i % 7 == 0) monitor.push(rtp(7, std::uint16_t(i), packets[i]), endpoint(1, 1), t);
    }
    const OpusPacketStats& stats = monitor.find(7)->probe().packet_stats();
    EXPECT_GT(stats.duplicate, 0);
    EXPECT_GT(stats.packets_lost, 0);
    EXPECT_GT(stats.concealed_s, 0.0);
    monitor.finish(t);
    EXPECT_FALSE(seen.events[7].empty());
}

TEST(RtpMonitor, EveryBadDatagramIsCountedUnderItsReason) {
    const auto& packets = demo_packets();
    RtpMonitor monitor(RtpMonitorConfig{.opus_payload_types = {111, 96}});
    const auto from = endpoint(1, 5000);
    EXPECT_EQ(monitor.push(rtp(1, 0, packets[0]), from, 0), DatagramOutcome::Accepted);
    EXPECT_EQ(monitor.push(rtp(1, 1, packets[1], 96), from, 0), DatagramOutcome::Accepted);
    EXPECT_EQ(monitor.push(rtp(1, 2, packets[2], 0), from, 0), DatagramOutcome::PayloadType);
    auto v1 = rtp(1, 3, packets[3]);
    v1[0] = std::uint8_t((v1[0] & 0x3f) | 0x40);
    EXPECT_EQ(monitor.push(v1, from, 0), DatagramOutcome::WrongVersion);
    const std::vector<std::uint8_t> rtcp = {0x81, 201, 0, 7, 0, 0, 0, 1};
    EXPECT_EQ(monitor.push(rtcp, from, 0), DatagramOutcome::Rtcp);
    const auto whole = rtp(1, 4, packets[4]);
    EXPECT_EQ(monitor.push(std::span(whole).first(7), from, 0), DatagramOutcome::Truncated);
    auto bad_padding = test::rtp_packet({.ssrc = 1, .padding_bytes = 2}, packets[5]);
    bad_padding.back() = 200;
    EXPECT_EQ(monitor.push(bad_padding, from, 0), DatagramOutcome::BadPadding);
    EXPECT_EQ(monitor.push(rtp(1, 6, std::vector<std::uint8_t>(65000, 0x78)), from, 0), DatagramOutcome::Oversize);
    EXPECT_EQ(monitor.push(rtp(1, 7, packets[7]), endpoint(9, 5000), 0), DatagramOutcome::SourceMismatch);
    EXPECT_EQ(monitor.push(rtp(1, 7, packets[7]), endpoint(1, 5001), 0), DatagramOutcome::SourceMismatch);
    // An unknown SSRC whose payload is not Opus makes no stream ...
    EXPECT_EQ(monitor.push(rtp(2, 0, {}), from, 0), DatagramOutcome::NotOpus);
    EXPECT_EQ(monitor.push(rtp(2, 0, {0x7b}), from, 0), DatagramOutcome::NotOpus);  // code 3 without its count byte
    EXPECT_EQ(monitor.active_streams(), 1u);
    // ... but a known stream's malformed packet is the probe's to count.
    EXPECT_EQ(monitor.push(rtp(1, 8, {0x7b}), from, 0), DatagramOutcome::Accepted);
    EXPECT_EQ(monitor.find(1)->probe().packet_stats().malformed, 1);

    const auto& c = monitor.counters();
    EXPECT_EQ(c.datagrams, 13);
    std::int64_t sum = 0;
    for (auto n : c.outcomes) sum += n;
    EXPECT_EQ(sum, c.datagrams);
    EXPECT_EQ(c.outcomes[int(DatagramOutcome::SourceMismatch)], 2);
    EXPECT_EQ(c.outcomes[int(DatagramOutcome::NotOpus)], 2);
    for (int i = 0; i < kDatagramOutcomeCount; ++i) EXPECT_STRNE(to_string(DatagramOutcome(i)), "unknown");
}

TEST(RtpMonitor, AFloodOfNewSsrcsAtTheCapIsRefusedWithoutAllocatingOrDisplacingStreams) {
    const auto& packets = demo_packets();
    // Only a counting sink: the test's own event recording would allocate.
    int started = 0;
    RtpMonitorSinks sinks;
    sinks.context = &started;
    sinks.stream_started = [](void* c, const RtpStream&) { ++*static_cast<int*>(c); };
    RtpMonitor monitor(RtpMonitorConfig{.max_streams = 2}, sinks);
    monitor.push(rtp(1, 0, packets[0]), endpoint(1, 1), 0);
    monitor.push(rtp(2, 0, packets[0]), endpoint(1, 2), 0);
    std::vector<std::vector<std::uint8_t>> flood;
    for (std::uint32_t ssrc = 1000; ssrc < 3000; ++ssrc) flood.push_back(rtp(ssrc, 0, packets[1]));
    std::vector<std::vector<std::uint8_t>> running;
    for (std::uint16_t i = 1; i < 20; ++i) running.push_back(rtp(1, i, packets[i]));
    for (std::uint16_t i = 1; i < 20; ++i) running.push_back(rtp(2, i, packets[i]));
    std::size_t refused = 0;
    const std::size_t allocations = test::allocations_during([&] {
        for (int round = 0; round < 3; ++round)
            for (const auto& d : flood) refused += monitor.push(d, endpoint(3, 3), 1.0) == DatagramOutcome::StreamCap;
        // The running streams go on, still without allocating.
        for (std::size_t i = 0; i < 19; ++i) {
            monitor.push(running[i], endpoint(1, 1), 1.0);
            monitor.push(running[19 + i], endpoint(1, 2), 1.0);
        }
    });
    EXPECT_EQ(allocations, 0u);
    EXPECT_EQ(refused, 3 * flood.size());
    EXPECT_EQ(monitor.active_streams(), 2u);
    EXPECT_EQ(started, 2);
    // Each refused SSRC counts once, not once per packet.
    EXPECT_EQ(monitor.counters().streams_refused, std::int64_t(flood.size()));
    EXPECT_EQ(monitor.find(1)->probe().packet_stats().packets_received, 20);
}

TEST(RtpMonitor, IdleStreamsEndWithTheirPendingEventsAndMayComeBackAsNewStreams) {
    const auto& packets = demo_packets();
    Seen seen;
    RtpMonitor monitor(RtpMonitorConfig{.idle_s = 2.0}, seen.sinks());
    for (std::size_t i = 0; i < packets.size(); ++i) monitor.push(rtp(5, std::uint16_t(i), packets[i]), endpoint(1, 1), 10.0);
    const std::int64_t first_serial = monitor.find(5)->serial();
    EXPECT_EQ(monitor.expire_idle(11.9), 0);
    EXPECT_EQ(monitor.active_streams(), 1u);
    EXPECT_EQ(monitor.expire_idle(12.1), 1);
    EXPECT_EQ(monitor.active_streams(), 0u);
    EXPECT_EQ(seen.ended[5], StreamEnd::Idle);
    // Every event, including those only finish() judges, came before the end.
    const auto expected = probe_directly(packets);
    EXPECT_EQ(seen.events_at_end[5], expected.size());
    expect_same_events(seen.events[5], expected);
    // The SSRC again is a new stream, from any address.
    EXPECT_EQ(monitor.push(rtp(5, 0, packets[0]), endpoint(7, 7), 20.0), DatagramOutcome::Accepted);
    EXPECT_GT(monitor.find(5)->serial(), first_serial);
    EXPECT_EQ(monitor.counters().streams_created, 2);
    EXPECT_EQ(monitor.counters().streams_ended, 1);
}

TEST(RtpMonitor, PacketsOfARunningStreamAllocateNothing) {
    const auto& packets = demo_packets();
    RtpMonitor monitor(RtpMonitorConfig{});
    monitor.push(rtp(9, 0, packets[0]), endpoint(1, 1), 0);
    std::vector<std::vector<std::uint8_t>> datagrams;
    for (std::size_t i = 1; i < packets.size(); ++i) datagrams.push_back(rtp(9, std::uint16_t(i), packets[i]));
    const std::size_t allocations = test::allocations_during([&] {
        for (const auto& d : datagrams) monitor.push(d, endpoint(1, 1), 0.5);
        monitor.expire_idle(1.0);
        const WindowIndices w = monitor.find(9)->window();
        EXPECT_GT(w.sibilants, 0);
    });
    EXPECT_EQ(allocations, 0u);
    EXPECT_GT(monitor.counters().events, 0);
}

TEST(RtpMonitor, AWindowAsLongAsTheStreamGivesTheSummarysIndices) {
    const auto& packets = demo_packets();
    RtpMonitor wide(RtpMonitorConfig{.window_s = 3600});
    RtpMonitor narrow(RtpMonitorConfig{.window_s = 1});
    for (std::size_t i = 0; i < packets.size(); ++i) {
        wide.push(rtp(1, std::uint16_t(i), packets[i]), endpoint(1, 1), 0);
        narrow.push(rtp(1, std::uint16_t(i), packets[i]), endpoint(1, 1), 0);
    }
    const RtpStream& stream = *wide.find(1);
    AnalysisSummary summary = stream.probe().summary();
    const WindowIndices all = stream.window();
    EXPECT_EQ(all.sibilants, summary.sibilants);
    EXPECT_EQ(all.compared, summary.compared);
    EXPECT_NEAR(all.lisp_index, summary.lisp_index, 1e-9);
    EXPECT_NEAR(all.smearing_index, summary.smearing_index, 1e-9);
    const WindowIndices last_second = narrow.find(1)->window();
    EXPECT_LT(last_second.sibilants, all.sibilants);
}

TEST(RtpMonitor, BadConfigNamesTheSetting) {
    test::expect_error([] { RtpMonitor m(RtpMonitorConfig{.opus_payload_types = {}}); }, {"payload type"});
    test::expect_error([] { RtpMonitor m(RtpMonitorConfig{.opus_payload_types = {128}}); }, {"128"});
    test::expect_error([] { RtpMonitor m(RtpMonitorConfig{.max_streams = 0}); }, {"max streams", "0"});
    test::expect_error([] { RtpMonitor m(RtpMonitorConfig{.idle_s = 0}); }, {"idle"});
    test::expect_error([] { RtpMonitor m(RtpMonitorConfig{.window_s = 0.5}); }, {"window"});
    test::expect_error(
        [] { RtpMonitor m(RtpMonitorConfig{.probe = ProbeConfig{.mode = ProbeMode::FullReference}}); },
        {"NoReference"});
}

}  // namespace
}  // namespace sibilant
