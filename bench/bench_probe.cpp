// Live probes per core (issue #4): how many concurrent real-time 48 kHz
// probes one core sustains, without and with a reference, and the memory each
// holds.
//
//   cmake --build build --target sibilant_bench_probe && build/bench/sibilant_bench_probe [PROBES] [SECONDS] [MODE]
//
// MODE: both (default), noref or ref: one mode alone, for a profiler;
// packets: the Opus packet probe against libopus alone (below).
//
// Packets (issue #11: the probe's own cost at most 50% on top of
// opus_decode): the test speech is encoded once into 20 ms packets (voip,
// 12, 24 and 64 kbps); then PROBES streams are decoded round-robin, once by
// bare libopus decoders (opus_decode_float into a buffer, nothing else) and
// once by probes (push_packet: the same decode, then the analysis), in
// alternating rounds so that machine load falls on both alike. The probe's
// own cost is (probe - bare) / bare.
//
// It creates PROBES probes (default 100), then feeds every probe SECONDS
// (default 20) of stream in 10 ms chunks, round-robin over the probes, as a
// server's audio thread would: the project's test speech through Opus
// voip 12 kbps (a lisping channel, so that events are judged), each probe
// starting at its own offset into the signal. Probes per core = stream
// seconds pushed to all probes / thread CPU seconds. Memory per probe = the
// growth of the C heap (glibc mallinfo2: in-use plus mmapped bytes) while the
// probes were created, divided by their number; FFTW plans, shared by all
// probes, are made before that. Creating them is not timed in probes per
// core; its thread CPU time per probe is printed beside.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <opus.h>

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
    double create_ms = 0.0;  // thread CPU time per probe created
    double probes_per_core = 0.0;
    double bytes_per_probe = 0.0;
    long long events = 0;
};

Result run(const sibilant::ProbeConfig& config, int probes, double seconds, const std::vector<float>& reference,
           const std::vector<float>& degraded) {
    const sibilant::ProbeMode mode = config.mode;
    { sibilant::Probe warm(config); }  // plans made, caches warm
    const std::size_t before = heap_bytes();
    const double create_start_s = sibilant::bench::thread_cpu_seconds();
    std::vector<std::unique_ptr<sibilant::Probe>> all;
    for (int i = 0; i < probes; ++i) all.push_back(std::make_unique<sibilant::Probe>(config));
    Result r;
    r.create_ms = (sibilant::bench::thread_cpu_seconds() - create_start_s) * 1000.0 / probes;
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
    // Every stream finished inside the timing: a reference probe judges its
    // events seconds after they end (it waits for the aligner's delays to be
    // final), so without this it would be timed for less of the work.
    for (auto& p : all) {
        p->finish();
        while (p->poll_event(event)) ++r.events;
    }
    const double cpu_s = sibilant::bench::thread_cpu_seconds() - start_s;
    r.probes_per_core = seconds * probes / cpu_s;
    return r;
}

// The speech encoded once into 20 ms voip packets at bitrate_bps.
std::vector<std::vector<std::uint8_t>> encode_packets(const std::vector<float>& x, int bitrate_bps) {
    int error = OPUS_OK;
    OpusEncoder* encoder = opus_encoder_create(kRateHz, 1, OPUS_APPLICATION_VOIP, &error);
    if (error != OPUS_OK) {
        std::fprintf(stderr, "opus_encoder_create: %s\n", opus_strerror(error));
        std::exit(1);
    }
    opus_encoder_ctl(encoder, OPUS_SET_BITRATE(bitrate_bps));
    std::vector<std::vector<std::uint8_t>> packets;
    std::vector<std::uint8_t> buffer(1500);
    constexpr int kFrame = 960;
    for (std::size_t pos = 0; pos + kFrame <= x.size(); pos += kFrame) {
        const int bytes = opus_encode_float(encoder, x.data() + pos, kFrame, buffer.data(), int(buffer.size()));
        if (bytes < 0) std::exit(1);
        packets.emplace_back(buffer.begin(), buffer.begin() + bytes);
    }
    opus_encoder_destroy(encoder);
    return packets;
}

// CPU seconds to decode `rounds` passes of the packets for `streams`
// streams, each stream at its own offset, with bare decoders or probes.
double decode_seconds(const std::vector<std::vector<std::uint8_t>>& packets, int streams, bool probe) {
    std::vector<OpusDecoder*> decoders;
    std::vector<std::unique_ptr<sibilant::Probe>> probes;
    for (int i = 0; i < streams; ++i) {
        if (probe) {
            probes.push_back(std::make_unique<sibilant::Probe>());
        } else {
            int error = OPUS_OK;
            decoders.push_back(opus_decoder_create(kRateHz, 1, &error));
        }
    }
    std::vector<float> pcm(5760);
    sibilant::SibilantEventResult event;
    float sink = 0.0f;
    const double start_s = sibilant::bench::thread_cpu_seconds();
    for (std::size_t n = 0; n < packets.size(); ++n) {
        for (int i = 0; i < streams; ++i) {
            const auto& p = packets[(n + std::size_t(i) * 37) % packets.size()];
            if (probe) {
                probes[std::size_t(i)]->push_packet(std::uint16_t(n), p);
                while (probes[std::size_t(i)]->poll_event(event)) sink += float(event.lisp);
            } else {
                const int got = opus_decode_float(decoders[std::size_t(i)], p.data(), opus_int32(p.size()), pcm.data(),
                                                  5760, 0);
                sink += got > 0 ? pcm[0] : 0.0f;
            }
        }
    }
    const double cpu_s = sibilant::bench::thread_cpu_seconds() - start_s;
    for (OpusDecoder* d : decoders) opus_decoder_destroy(d);
    if (sink == 12345.0f) std::printf(" ");  // keeps the work observable
    return cpu_s;
}

void compare_packets(int streams, double seconds) {
    std::string source;
    const std::vector<float> speech = sibilant::bench::test_speech_repeated(seconds, kRateHz, source);
    std::printf("Opus packet probe vs bare opus_decode_float: %d streams x %.0f s of 20 ms voip packets (%s), 3 "
                "alternating rounds each\n",
                streams, seconds, source.c_str());
    for (const int bitrate_bps : {12000, 24000, 64000}) {
        const auto packets = encode_packets(speech, bitrate_bps);
        double bare_s = 0.0, probe_s = 0.0;
        for (int round = 0; round < 3; ++round) {
            bare_s += decode_seconds(packets, streams, false);
            probe_s += decode_seconds(packets, streams, true);
        }
        const double stream_s = 3.0 * streams * double(packets.size()) * 0.020;
        std::printf("  %2d kbps: opus_decode %7.0f streams per core, probe %7.0f streams per core: the probe's own "
                    "cost %+.0f%% of the decode\n",
                    bitrate_bps / 1000, stream_s / bare_s, stream_s / probe_s, 100.0 * (probe_s - bare_s) / bare_s);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int probes = argc > 1 ? std::atoi(argv[1]) : 100;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 20.0;
    const std::string only = argc > 3 ? argv[3] : "both";
    if (probes < 1 || !(seconds > 0.0) || (only != "both" && only != "noref" && only != "ref" && only != "packets")) {
        std::fprintf(stderr, "usage: sibilant_bench_probe [PROBES >= 1] [SECONDS > 0] [both|noref|ref|packets]\n");
        return 2;
    }
    if (only == "packets") {
        compare_packets(probes, seconds);
        return 0;
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
        std::printf("  %-28s %8.0f real-time probes per core   %8.1f KiB per probe   (%lld events judged; "
                    "created in %.2f ms each)\n",
                    row.name, r.probes_per_core, r.bytes_per_probe / 1024.0, r.events, r.create_ms);
    }
    return 0;
}
