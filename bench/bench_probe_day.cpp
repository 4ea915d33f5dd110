// A probe fed a day of audio (issue #12, long runs): one live probe per input
// kind, each fed HOURS (default 24) of stream as fast as it goes, with the
// resident memory of the process (VmRSS) and the probe's running summary
// sampled at every simulated hour.
//
//   cmake --build build --target sibilant_bench_probe_day && build/bench/sibilant_bench_probe_day [HOURS] [MODE]
//
// MODE: all (default), noref, ref or packets. The stream: a minute of the
// project's test speech, through Opus voip 12 kbps (a lisping channel, so
// that events are judged), over and over:
//  - noref:   the decoded samples, 10 ms pushes;
//  - ref:     the speech and its decoded copy, 10 ms pushes;
//  - packets: the minute's 20 ms Opus packets, their RTP-style 16-bit
//             sequence numbers running on (and wrapping) across repeats.
// Events are polled as a server would, after every push.
//
// Exits 1 when resident memory grows by more than 1 MiB from the end of the
// first hour to the end of the last (nothing may grow with stream length), a
// summary figure is not finite, or the running lisp or smearing index moves
// by more than 1 point in an hour after the second (the same minute over and
// over must give a settled index).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "sibilant/opus_channel.hpp"
#include "sibilant/probe.hpp"

namespace {

constexpr int kRateHz = 48000;
constexpr std::size_t kChunk = 480;  // 10 ms

double resident_mib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;  // kB
    return -1.0;
}

struct Stream {
    std::vector<float> reference, degraded;  // a whole number of chunks
    sibilant::OpusPackets packets;
};

// Feeds one hour of stream; `hour` counts from 0.
void feed_hour(sibilant::Probe& probe, const std::string& mode, const Stream& s, long long hour,
               long long& events) {
    sibilant::SibilantEventResult event;
    event.why.reserve(1024);
    if (mode == "packets") {
        const auto per_hour = static_cast<long long>(3600.0 / 0.020);
        for (long long n = hour * per_hour; n < (hour + 1) * per_hour; ++n) {
            const std::size_t k = static_cast<std::size_t>(n) % s.packets.count();
            probe.push_packet(static_cast<std::uint16_t>(n), s.packets.packet(k));
            while (probe.poll_event(event)) ++events;
        }
        return;
    }
    const std::size_t length = s.degraded.size();
    const auto per_hour = static_cast<std::size_t>(3600) * kRateHz;
    for (std::size_t pos = 0; pos < per_hour; pos += kChunk) {
        const std::size_t at = (static_cast<std::size_t>(hour) * per_hour + pos) % length;
        const auto d = std::span<const float>(s.degraded).subspan(at, kChunk);
        if (mode == "ref")
            probe.push(std::span<const float>(s.reference).subspan(at, kChunk), d);
        else
            probe.push(d);
        while (probe.poll_event(event)) ++events;
    }
}

bool run(const std::string& mode, int hours, const Stream& s) {
    sibilant::ProbeConfig config;
    if (mode == "ref") config.mode = sibilant::ProbeMode::FullReference;
    sibilant::Probe probe(config);
    sibilant::AnalysisSummary summary;
    summary.verdict.reserve(64);
    long long events = 0;
    double first_hour_mib = 0.0, previous_lisp = 0.0, previous_smearing = 0.0, worst_move = 0.0;
    bool ok = true;
    std::printf("\n%s probe, %d h:\n  hour  RSS MiB  events  lisp index  smearing index  verdict   CPU s\n",
                mode.c_str(), hours);
    const double start_s = sibilant::bench::thread_cpu_seconds();
    for (int hour = 0; hour < hours; ++hour) {
        feed_hour(probe, mode, s, hour, events);
        probe.summary(summary);
        const double rss = resident_mib();
        if (hour == 0) first_hour_mib = rss;
        std::printf("  %4d  %7.1f  %6lld  %10.2f  %14.2f  %-8s %6.1f\n", hour + 1, rss, events, summary.lisp_index,
                    summary.smearing_index, summary.verdict.c_str(), sibilant::bench::thread_cpu_seconds() - start_s);
        if (!std::isfinite(summary.lisp_index) || !std::isfinite(summary.smearing_index)) {
            std::printf("  FAIL: a summary index is not finite\n");
            ok = false;
        }
        if (hour >= 2) {
            const double move = std::max(std::abs(summary.lisp_index - previous_lisp),
                                         std::abs(summary.smearing_index - previous_smearing));
            worst_move = std::max(worst_move, move);
        }
        previous_lisp = summary.lisp_index;
        previous_smearing = summary.smearing_index;
    }
    probe.finish();
    const double growth = resident_mib() - first_hour_mib;
    std::printf("  RSS growth from hour 1 to the end: %+.2f MiB; largest hourly move of an index after hour 2: %.3f "
                "points; %.0fx real time\n",
                growth, worst_move, hours * 3600.0 / (sibilant::bench::thread_cpu_seconds() - start_s));
    if (growth > 1.0) {
        std::printf("  FAIL: memory grew by more than 1 MiB\n");
        ok = false;
    }
    if (worst_move > 1.0) {
        std::printf("  FAIL: an index moved by more than 1 point in an hour\n");
        ok = false;
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    const int hours = argc > 1 ? std::atoi(argv[1]) : 24;
    const std::string only = argc > 2 ? argv[2] : "all";
    if (hours < 1 || (only != "all" && only != "noref" && only != "ref" && only != "packets")) {
        std::fprintf(stderr, "usage: sibilant_bench_probe_day [HOURS >= 1] [all|noref|ref|packets]\n");
        return 2;
    }
    std::string source;
    Stream s;
    s.reference = sibilant::bench::test_speech_repeated(60.0, kRateHz, source);
    s.reference.resize(s.reference.size() / kChunk * kChunk);
    sibilant::OpusSettings opus;
    opus.bitrate_bps = 12000;
    s.degraded = sibilant::run_opus_channel(s.reference, opus, sibilant::LossModelConfig{}, 1);
    s.packets = sibilant::encode_opus(s.reference, opus);
    std::printf("a day of stream: %s, 60 s looped, Opus voip 12 kbps; RSS at start %.1f MiB\n", source.c_str(),
                resident_mib());
    bool ok = true;
    for (const char* mode : {"noref", "ref", "packets"})
        if (only == "all" || only == mode) ok = run(mode, hours, s) && ok;
    return ok ? 0 : 1;
}
