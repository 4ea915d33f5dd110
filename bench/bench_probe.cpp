// Live probes per core (issue #4): how many concurrent real-time 48 kHz
// probes one core sustains, without and with a reference, and the memory each
// holds.
//
//   cmake --build build --target sibilant_bench_probe && build/bench/sibilant_bench_probe [PROBES] [SECONDS] [MODE]
//
// MODE: both (default), noref or ref: one mode alone, for a profiler.
//
// It creates PROBES probes (default 100), then feeds every probe SECONDS
// (default 20) of stream in 10 ms chunks, round-robin over the probes, as a
// server's audio thread would: the project's test speech through Opus
// voip 12 kbps (a lisping channel, so that events are judged), each probe
// starting at its own offset into the signal. Probes per core = stream
// seconds pushed to all probes / thread CPU seconds. Memory per probe = the
// growth of the C heap (glibc mallinfo2: in-use plus mmapped bytes) while the
// probes were created, divided by their number; FFTW plans, shared by all
// probes, are made before that.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "sibilant/opus_channel.hpp"
#include "sibilant/probe.hpp"

namespace {

constexpr int kRateHz = 48000;
constexpr std::size_t kChunk = 480;  // 10 ms

std::size_t heap_bytes() {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

struct Result {
    double probes_per_core = 0.0;
    double bytes_per_probe = 0.0;
    long long events = 0;
};

Result run(const sibilant::ProbeConfig& config, int probes, double seconds, const std::vector<float>& reference,
           const std::vector<float>& degraded) {
    const sibilant::ProbeMode mode = config.mode;
    { sibilant::Probe warm(config); }  // plans made, caches warm
    const std::size_t before = heap_bytes();
    std::vector<std::unique_ptr<sibilant::Probe>> all;
    for (int i = 0; i < probes; ++i) all.push_back(std::make_unique<sibilant::Probe>(config));
    Result r;
    r.bytes_per_probe = double(heap_bytes() - before) / probes;

    const auto total = std::size_t(seconds * kRateHz);
    const std::size_t length = degraded.size();
    sibilant::SibilantEventResult event;
    const double start_s = sibilant::bench::thread_cpu_seconds();
    for (std::size_t pos = 0; pos < total; pos += kChunk) {
        for (int i = 0; i < probes; ++i) {
            // Each probe at its own place in the signal (wrapping at a chunk
            // boundary of the signal, which is a multiple of the chunk).
            const std::size_t at = (pos + std::size_t(i) * 7 * kChunk) % length;
            const auto d = std::span<const float>(degraded).subspan(at, kChunk);
            if (mode == sibilant::ProbeMode::NoReference)
                all[std::size_t(i)]->push(d);
            else
                all[std::size_t(i)]->push(std::span<const float>(reference).subspan(at, kChunk), d);
            while (all[std::size_t(i)]->poll_event(event)) ++r.events;
        }
    }
    const double cpu_s = sibilant::bench::thread_cpu_seconds() - start_s;
    r.probes_per_core = seconds * probes / cpu_s;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    const int probes = argc > 1 ? std::atoi(argv[1]) : 100;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 20.0;
    const std::string only = argc > 3 ? argv[3] : "both";
    if (probes < 1 || !(seconds > 0.0) || (only != "both" && only != "noref" && only != "ref")) {
        std::fprintf(stderr, "usage: sibilant_bench_probe [PROBES >= 1] [SECONDS > 0] [both|noref|ref]\n");
        return 2;
    }
    std::string source;
    std::vector<float> reference = sibilant::bench::test_speech_repeated(60.0, kRateHz, source);
    reference.resize(reference.size() / kChunk * kChunk);
    sibilant::OpusSettings opus;
    opus.bitrate_bps = 12000;
    std::vector<float> degraded = sibilant::run_opus_channel(reference, opus, sibilant::LossModelConfig{}, 1);

    std::printf("live probes: %d probes x %.0f s of 48 kHz mono each, 10 ms pushes, one thread (%s through Opus "
                "voip 12 kbps)\n",
                probes, seconds, source.c_str());
    // PCM pushes in every row; "+ Opus decoder" is the default config, able
    // to take packets too (push_packet), which holds a libopus decoder.
    struct Row {
        const char* name;
        sibilant::ProbeConfig config;
    };
    const Row rows[] = {
        {"no reference", {.mode = sibilant::ProbeMode::NoReference, .accept_packets = false}},
        {"no reference + Opus decoder", {.mode = sibilant::ProbeMode::NoReference}},
        {"with reference", {.mode = sibilant::ProbeMode::FullReference}},
    };
    for (const Row& row : rows) {
        if (only != "both" && (only == "ref") != (row.config.mode == sibilant::ProbeMode::FullReference)) continue;
        const Result r = run(row.config, probes, seconds, reference, degraded);
        std::printf("  %-28s %8.0f real-time probes per core   %8.1f KiB per probe   (%lld events judged)\n", row.name,
                    r.probes_per_core, r.bytes_per_probe / 1024.0, r.events);
    }
    return 0;
}
