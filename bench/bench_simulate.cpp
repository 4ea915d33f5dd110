// What the Opus channel costs on top of libopus itself.
//
// Compares, on the same 60 s of 48 kHz speech, (a) a bare loop of
// opus_encode/opus_decode (16-bit API) with (b) OpusChannel::push/finish,
// both at voip 24 kbps, complexity 10, 20 ms frames, no loss. The speech is
// the project's own testdata/speech/*.flac, concatenated and repeated to 60 s.
//
//   cmake --build build --target sibilant_bench && build/bench/sibilant_bench
//
// BM_BareVsChannel runs the two alternately within each iteration (so that
// load from other processes hits both alike), times each in thread CPU time,
// and reports the fastest of each (bare_s, channel_s) and, as overhead_pct,
// the median over iterations of channel/bare - 1. Target: under 5%.
#include <benchmark/benchmark.h>
#include <opus/opus.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <time.h>

#include "bench_support.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/opus_channel.hpp"

namespace {

constexpr int kRateHz = 48000;
constexpr double kSeconds = 60.0;
constexpr int kFrameSamples = 960;   // 20 ms
constexpr int kBitrateBps = 24000;
constexpr int kComplexity = 10;
constexpr std::size_t kPushBlock = 4096;  // like a file reader's blocks

struct Speech {
    std::vector<float> samples;
    std::string source;
};

const Speech& speech() {
    static const Speech loaded = [] {
        Speech s;
        s.samples = sibilant::bench::test_speech_repeated(kSeconds, kRateHz, s.source);
        return s;
    }();
    return loaded;
}

sibilant::OpusSettings channel_settings() {
    sibilant::OpusSettings s;
    s.application = sibilant::Application::Voip;
    s.bitrate_bps = kBitrateBps;
    s.complexity = kComplexity;
    s.frame_ms = 20.0;
    return s;
}


// The bare loop: what anyone would write with libopus, with the channel's
// encoder settings, input already in 16 bits.
double run_bare(const std::vector<opus_int16>& pcm, std::vector<opus_int16>& decoded) {
    const double start = sibilant::bench::thread_cpu_seconds();
    int error = 0;
    OpusEncoder* enc = opus_encoder_create(kRateHz, 1, OPUS_APPLICATION_VOIP, &error);
    OpusDecoder* dec = opus_decoder_create(kRateHz, 1, &error);
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(kBitrateBps));
    opus_encoder_ctl(enc, OPUS_SET_VBR(1));
    opus_encoder_ctl(enc, OPUS_SET_VBR_CONSTRAINT(0));
    opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(kComplexity));
    opus_encoder_ctl(enc, OPUS_SET_LSB_DEPTH(16));
    opus_encoder_ctl(enc, OPUS_SET_EXPERT_FRAME_DURATION(OPUS_FRAMESIZE_20_MS));
    unsigned char packet[1500];
    std::size_t out_pos = 0;
    for (std::size_t pos = 0; pos + kFrameSamples <= pcm.size(); pos += kFrameSamples) {
        const int bytes = opus_encode(enc, pcm.data() + pos, kFrameSamples, packet, sizeof packet);
        const int samples = opus_decode(dec, packet, bytes, decoded.data() + out_pos, kFrameSamples, 0);
        if (samples > 0) out_pos += static_cast<std::size_t>(samples);
    }
    opus_encoder_destroy(enc);
    opus_decoder_destroy(dec);
    benchmark::DoNotOptimize(decoded.data());
    return sibilant::bench::thread_cpu_seconds() - start;
}

double run_channel(const std::vector<float>& input, std::vector<float>& out) {
    const double start = sibilant::bench::thread_cpu_seconds();
    out.clear();
    sibilant::OpusChannel channel(channel_settings(), sibilant::LossModelConfig{}, 1);
    for (std::size_t pos = 0; pos < input.size(); pos += kPushBlock) {
        const std::size_t n = std::min(kPushBlock, input.size() - pos);
        channel.push(std::span<const float>(input.data() + pos, n), out);
    }
    channel.finish(out);
    benchmark::DoNotOptimize(out.data());
    return sibilant::bench::thread_cpu_seconds() - start;
}

std::vector<opus_int16> to_int16(const std::vector<float>& x) {
    std::vector<opus_int16> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        y[i] = static_cast<opus_int16>(std::lround(std::clamp(static_cast<double>(x[i]) * 32768.0, -32768.0, 32767.0)));
    return y;
}

double g_bare_s = 0, g_channel_s = 0, g_ratio = 0;

void BM_BareVsChannel(benchmark::State& state) {
    const std::vector<float>& input = speech().samples;
    const std::vector<opus_int16> pcm = to_int16(input);
    std::vector<opus_int16> decoded(pcm.size() + kFrameSamples);
    std::vector<float> out;
    out.reserve(input.size());
    double best_bare = 1e300, best_channel = 1e300;
    std::vector<double> ratios;
    bool bare_first = true;
    for (auto _ : state) {
        double bare = 0, chan = 0;
        if (bare_first) {
            bare = run_bare(pcm, decoded);
            chan = run_channel(input, out);
        } else {
            chan = run_channel(input, out);
            bare = run_bare(pcm, decoded);
        }
        bare_first = !bare_first;
        best_bare = std::min(best_bare, bare);
        best_channel = std::min(best_channel, chan);
        ratios.push_back(chan / bare);
        state.SetIterationTime(bare + chan);
    }
    // The median of back-to-back pairs resists drifting load better than
    // comparing two minima taken at different moments.
    std::sort(ratios.begin(), ratios.end());
    g_ratio = ratios.empty() ? 0.0 : ratios[ratios.size() / 2];
    g_bare_s = best_bare;
    g_channel_s = best_channel;
    state.counters["bare_s"] = best_bare;
    state.counters["channel_s"] = best_channel;
    state.counters["overhead_pct"] = 100.0 * (g_ratio - 1.0);
    state.counters["audio_s"] = static_cast<double>(input.size()) / kRateHz;
}
BENCHMARK(BM_BareVsChannel)->UseManualTime()->Iterations(15)->Unit(benchmark::kSecond);

void BM_Bare(benchmark::State& state) {
    const std::vector<opus_int16> pcm = to_int16(speech().samples);
    std::vector<opus_int16> decoded(pcm.size() + kFrameSamples);
    for (auto _ : state) state.SetIterationTime(run_bare(pcm, decoded));
}
BENCHMARK(BM_Bare)->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);

void BM_Channel(benchmark::State& state) {
    std::vector<float> out;
    out.reserve(speech().samples.size());
    for (auto _ : state) state.SetIterationTime(run_channel(speech().samples, out));
}
BENCHMARK(BM_Channel)->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    std::printf("speech: %s\n", speech().source.c_str());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (g_ratio > 0)
        std::printf("fastest: bare %.3f s, channel %.3f s CPU for %.0f s of audio; median paired ratio "
                    "channel/bare %.4f: overhead %.2f%% (target < 5%%)\n",
                    g_bare_s, g_channel_s, kSeconds, g_ratio, 100.0 * (g_ratio - 1.0));
    return 0;
}
