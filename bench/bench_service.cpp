// The probe service's datagram path on one core (issue #9): RTP datagrams per
// second through sibilant::RtpMonitor (RTP parsing, the per-SSRC stream
// table, each stream's Opus decoding and no-reference probe) with N real
// streams, N = 1, 100, 1000, and with pure garbage and a hostile mix.
//
//   cmake --build build --target sibilant_bench_service && build/bench/sibilant_bench_service
//
// The real streams carry the project's test speech through libopus at
// 32 kbit/s (20 ms packets), each stream starting at its own offset, pushed
// round-robin as a reader thread would receive them. Counters:
// datagrams_per_s is items per CPU second of this thread; realtime_streams
// is datagrams_per_s / 50 (a 20 ms stream sends 50 datagrams a second).
// The socket-to-metrics figure of the whole service is bench/service_capacity.sh.
#include <benchmark/benchmark.h>
#include <opus/opus.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "sibilant/rtp_monitor.hpp"

namespace {

constexpr int kRateHz = 48000;
constexpr int kFrame = 960;  // 20 ms

const std::vector<std::vector<std::uint8_t>>& speech_packets() {
    static const std::vector<std::vector<std::uint8_t>> packets = [] {
        std::string source;
        const std::vector<float> pcm = sibilant::bench::test_speech_repeated(30.0, kRateHz, source);
        int err = 0;
        OpusEncoder* enc = opus_encoder_create(kRateHz, 1, OPUS_APPLICATION_VOIP, &err);
        if (err != OPUS_OK) {
            std::fprintf(stderr, "opus_encoder_create: %s\n", opus_strerror(err));
            std::exit(1);
        }
        opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
        std::vector<std::vector<std::uint8_t>> out;
        std::uint8_t buffer[1500];
        for (std::size_t at = 0; at + kFrame <= pcm.size(); at += kFrame) {
            const int n = opus_encode_float(enc, &pcm[at], kFrame, buffer, sizeof buffer);
            if (n < 0) std::exit(1);
            out.emplace_back(buffer, buffer + n);
        }
        opus_encoder_destroy(enc);
        return out;
    }();
    return packets;
}

// One RTP datagram (12-byte header, PT 111) in `out`, reusing its storage.
void make_rtp(std::vector<std::uint8_t>& out, std::uint32_t ssrc, std::uint16_t sequence,
              const std::vector<std::uint8_t>& payload) {
    out.resize(12 + payload.size());
    const std::uint32_t timestamp = std::uint32_t(sequence) * kFrame;
    const std::uint8_t header[12] = {0x80, 111, std::uint8_t(sequence >> 8), std::uint8_t(sequence),
                                     std::uint8_t(timestamp >> 24), std::uint8_t(timestamp >> 16),
                                     std::uint8_t(timestamp >> 8), std::uint8_t(timestamp),
                                     std::uint8_t(ssrc >> 24), std::uint8_t(ssrc >> 16),
                                     std::uint8_t(ssrc >> 8), std::uint8_t(ssrc)};
    std::copy(header, header + 12, out.begin());
    std::copy(payload.begin(), payload.end(), out.begin() + 12);
}

void BM_RealStreams(benchmark::State& state) {
    const int streams = int(state.range(0));
    const auto& packets = speech_packets();
    sibilant::RtpMonitorConfig config;
    config.max_streams = streams;
    config.idle_s = 3600;
    sibilant::RtpMonitor monitor(config);
    sibilant::RemoteEndpoint from;
    from.address = {127, 0, 0, 1};
    from.port = 40000;
    std::vector<std::uint8_t> datagram;
    datagram.reserve(1600);
    // Round r sends packet (r + offset) of each stream; streams start the
    // clip at different places so that their events do not fall together.
    std::int64_t round = 0, pushed = 0;
    const auto push_round = [&] {
        for (int s = 0; s < streams; ++s) {
            const std::size_t offset = std::size_t(s) * 37 % packets.size();
            make_rtp(datagram, 0x10000000u + std::uint32_t(s), std::uint16_t(round),
                     packets[(std::size_t(round) + offset) % packets.size()]);
            benchmark::DoNotOptimize(monitor.push(datagram, from, double(round) * 0.02));
        }
        ++round;
        pushed += streams;
    };
    push_round();  // creates the streams: set-up, not measured
    pushed = 0;
    const double start_s = sibilant::bench::thread_cpu_seconds();
    for (auto _ : state) push_round();
    const double cpu_s = sibilant::bench::thread_cpu_seconds() - start_s;
    state.SetItemsProcessed(pushed);
    state.counters["datagrams_per_s"] = double(pushed) / cpu_s;
    state.counters["realtime_streams"] = double(pushed) / cpu_s / 50.0;
    state.counters["accepted_pct"] =
        100.0 * double(monitor.counters().outcomes[int(sibilant::DatagramOutcome::Accepted)]) /
        double(monitor.counters().datagrams);
}
// Each iteration is one 20 ms round of every stream; enough rounds that the
// probes judge many events (10 s of stream at least).
BENCHMARK(BM_RealStreams)->Arg(1)->Iterations(3000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RealStreams)->Arg(100)->Iterations(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RealStreams)->Arg(1000)->Iterations(500)->Unit(benchmark::kMillisecond);

// Garbage: random bytes of random length; and the hostile mix of
// tests/service/rtp_flood.cpp (fake SSRCs past the cap, wrong versions,
// RTCP, non-Opus payloads), with 100 running streams' worth of table.
std::vector<std::vector<std::uint8_t>> hostile(bool garbage_only) {
    std::mt19937_64 random(7);
    std::vector<std::vector<std::uint8_t>> out;
    const auto& packets = speech_packets();
    for (int i = 0; i < 4096; ++i) {
        std::vector<std::uint8_t> d;
        const int kind = garbage_only ? 0 : i % 5;
        if (kind == 0) {
            d.resize(1 + random() % 1400);
            for (auto& b : d) b = std::uint8_t(random());
        } else if (kind == 1) {
            make_rtp(d, 0xf100d000u + std::uint32_t(i), std::uint16_t(i), packets[std::size_t(i) % packets.size()]);
        } else if (kind == 2) {
            make_rtp(d, 0xbad00000u, std::uint16_t(i), packets[0]);
            d[0] = 0x40;  // version 1
        } else if (kind == 3) {
            d = {0x80, 200, 0, 6, 0xc0, 0xc0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        } else {
            make_rtp(d, 0x0e000000u + std::uint32_t(i), std::uint16_t(i), {0x03, 0x00});
        }
        out.push_back(std::move(d));
    }
    return out;
}

void run_hostile(benchmark::State& state, bool garbage_only) {
    const auto datagrams = hostile(garbage_only);
    sibilant::RtpMonitorConfig config;
    config.max_streams = 100;
    sibilant::RtpMonitor monitor(config);
    // Fill the table so fake SSRCs meet the cap, as in an attack on a busy server.
    const auto& packets = speech_packets();
    std::vector<std::uint8_t> d;
    sibilant::RemoteEndpoint from;
    from.address = {127, 0, 0, 1};
    for (int s = 0; s < 100; ++s) {
        make_rtp(d, 0x20000000u + std::uint32_t(s), 0, packets[0]);
        monitor.push(d, from, 0);
    }
    std::int64_t pushed = 0;
    const double start_s = sibilant::bench::thread_cpu_seconds();
    for (auto _ : state) {
        for (const auto& g : datagrams) benchmark::DoNotOptimize(monitor.push(g, from, 1.0));
        pushed += std::int64_t(datagrams.size());
    }
    const double cpu_s = sibilant::bench::thread_cpu_seconds() - start_s;
    state.SetItemsProcessed(pushed);
    state.counters["datagrams_per_s"] = double(pushed) / cpu_s;
    state.counters["accepted"] = double(monitor.counters().outcomes[int(sibilant::DatagramOutcome::Accepted)] - 100);
}
void BM_Garbage(benchmark::State& state) { run_hostile(state, true); }
void BM_HostileMix(benchmark::State& state) { run_hostile(state, false); }
BENCHMARK(BM_Garbage)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HostileMix)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
