// simulate_file: the file-level job (read -> 48 kHz -> Opus channel -> write).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "sibilant/simulate.hpp"
#include "test_support.hpp"

namespace sibilant {
namespace {

using test::TempDir;


TEST(Simulate, KeepsRateLengthAndFormatOf16BitInput) {
    TempDir dir;
    const auto in = (dir / "in.wav").string();
    const auto out = (dir / "out.wav").string();
    write_audio_file(in, test::speech_like(2.3, 44100), 44100, SampleFormat::Pcm16);

    SimulateOptions options;
    options.opus.bitrate_bps = 32000;
    std::int64_t observed_packets = 0;
    options.on_packet = [&](const PacketRecord&) { ++observed_packets; };
    const SimulateReport report = simulate_file(in, out, options);

    const AudioInfo info = probe_audio_file(out);
    EXPECT_EQ(info.sample_rate_hz, 44100);
    EXPECT_EQ(info.frames, report.input.frames);
    EXPECT_EQ(info.sample_format, SampleFormat::Pcm16);
    EXPECT_EQ(report.requested.input_depth_bits, 16);
    EXPECT_EQ(report.effective.bitrate_bps, 32000);
    EXPECT_EQ(observed_packets, report.channel.packets);
    // 2.3 s in 20 ms packets, plus the look-ahead's padding packet.
    EXPECT_GE(report.channel.packets, 115);
    EXPECT_LE(report.channel.packets, 117);
}

TEST(Simulate, OutputIsAlignedWithInputThroughResampling) {
    TempDir dir;
    const auto in = (dir / "in.flac").string();
    const auto out = (dir / "out.flac").string();
    const auto speech = test::speech_like(3.0, 44100, 5);
    write_audio_file(in, speech, 44100, SampleFormat::Pcm24);
    SimulateOptions options;
    options.opus.bitrate_bps = 64000;
    const SimulateReport report = simulate_file(in, out, options);
    EXPECT_EQ(report.requested.input_depth_bits, 24);  // deeper than 16 bits: float API
    const auto decoded = read_audio_file(out, {.channel = -1, .target_rate_hz = 0});
    ASSERT_EQ(decoded.size(), speech.size());
    EXPECT_EQ(test::best_lag(speech, decoded, 800), 0);
}

TEST(Simulate, Writes48kHzWhenAsked) {
    TempDir dir;
    const auto in = (dir / "in.wav").string();
    const auto out = (dir / "out.wav").string();
    write_audio_file(in, test::speech_like(1.0, 16000), 16000, SampleFormat::Pcm16);
    SimulateOptions options;
    options.output_rate_hz = kInternalRateHz;
    options.output_format = SampleFormat::Float32;
    simulate_file(in, out, options);
    const AudioInfo info = probe_audio_file(out);
    EXPECT_EQ(info.sample_rate_hz, 48000);
    EXPECT_EQ(info.frames, 48000);
    EXPECT_EQ(info.sample_format, SampleFormat::Float32);
}

TEST(Simulate, RejectsOtherOutputRates) {
    TempDir dir;
    const auto in = (dir / "in.wav").string();
    write_audio_file(in, test::speech_like(0.5, 48000), 48000, SampleFormat::Pcm16);
    SimulateOptions options;
    options.output_rate_hz = 22050;
    EXPECT_THROW(simulate_file(in, (dir / "out.wav").string(), options), Error);
    EXPECT_FALSE(std::filesystem::exists(dir / "out.wav"));
}

TEST(Simulate, SameSeedSameOutputDifferentSeedDifferentLosses) {
    TempDir dir;
    const auto in = (dir / "in.wav").string();
    write_audio_file(in, test::speech_like(2.0, 48000), 48000, SampleFormat::Pcm16);
    SimulateOptions options;
    options.loss.kind = LossKind::Bernoulli;
    options.loss.loss_probability = 0.2;
    options.seed = 11;
    const auto r1 = simulate_file(in, (dir / "a.wav").string(), options);
    const auto r2 = simulate_file(in, (dir / "b.wav").string(), options);
    options.seed = 12;
    simulate_file(in, (dir / "c.wav").string(), options);
    EXPECT_GT(r1.channel.loss.lost, 0);
    EXPECT_EQ(r1.channel.loss.lost, r2.channel.loss.lost);
    EXPECT_EQ(test::read_bytes(dir / "a.wav"), test::read_bytes(dir / "b.wav"));
    EXPECT_NE(test::read_bytes(dir / "a.wav"), test::read_bytes(dir / "c.wav"));
}

TEST(Simulate, RejectsAChannelTheFileDoesNotHave) {
    // Mixing and picking channels is covered by the audio I/O tests.
    TempDir dir;
    const auto in = (dir / "mono.wav").string();
    write_audio_file(in, test::speech_like(1.0, 48000), 48000, SampleFormat::Pcm16);
    SimulateOptions options;
    options.read.channel = 1;  // the file has only channel 0
    EXPECT_THROW(simulate_file(in, (dir / "out.wav").string(), options), Error);
    EXPECT_FALSE(std::filesystem::exists(dir / "out.wav"));
}

TEST(Simulate, TruncatedInputLeavesNoOutput) {
    TempDir dir;
    const auto in = (dir / "in.wav").string();
    write_audio_file(in, test::speech_like(2.0, 48000), 48000, SampleFormat::Pcm16);
    std::filesystem::resize_file(in, std::filesystem::file_size(in) / 2);
    const auto out = (dir / "out.wav").string();
    EXPECT_THROW(simulate_file(in, out, {}), Error);
    EXPECT_FALSE(std::filesystem::exists(out));
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
}

TEST(Simulate, ReportRendersAsJsonAndText) {
    TempDir dir;
    const auto in = (dir / "in.wav").string();
    write_audio_file(in, test::speech_like(1.0, 48000), 48000, SampleFormat::Pcm16);
    SimulateOptions options;
    options.opus.bitrate_bps = 12000;
    const auto report = simulate_file(in, (dir / "out.wav").string(), options);
    const std::string json = to_json(report);
    EXPECT_NE(json.find("\"effective\""), std::string::npos);
    EXPECT_NE(json.find("\"bitrate_bps\": 12000"), std::string::npos);
    const std::string text = to_text(report);
    EXPECT_NE(text.find("12000 bps"), std::string::npos);
    EXPECT_NE(text.find(in), std::string::npos);
}

// The samples path runs the same channel as the file path: on a 48 kHz 16-bit
// file (no resampling either side) with loss, the decoded float samples
// round to exactly the 16-bit samples simulate_file() writes, with the same
// packets, losses and stats.
TEST(Simulate, SamplesInMemoryGiveWhatTheFileGives) {
    TempDir dir;
    const auto in = (dir / "in.wav").string();
    const auto out = (dir / "out.wav").string();
    write_audio_file(in, test::speech_like(2.0, 48000, 3), 48000, SampleFormat::Pcm16);
    SimulateOptions options;
    options.opus.bitrate_bps = 16000;
    options.loss = parse_loss_spec("ge:0.05,0.3");
    options.seed = 7;
    const SimulateReport from_file = simulate_file(in, out, options);
    const auto written = read_audio_file(out, {.channel = -1, .target_rate_hz = 0});

    const auto input = read_audio_file(in, {.channel = -1, .target_rate_hz = 0});
    std::vector<float> decoded;
    const SimulateReport from_samples = simulate_samples(input, 48000, SampleFormat::Pcm16, decoded, options);
    ASSERT_EQ(decoded.size(), written.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < decoded.size(); ++i) {
        const float rounded = std::clamp(std::round(decoded[i] * 32768.0f), -32768.0f, 32767.0f) / 32768.0f;
        differing += rounded != written[i];
    }
    EXPECT_EQ(differing, 0u);
    EXPECT_GT(from_samples.channel.loss.lost, 0);
    EXPECT_EQ(from_samples.channel.loss.lost, from_file.channel.loss.lost);
    EXPECT_EQ(from_samples.channel.bytes, from_file.channel.bytes);
    EXPECT_EQ(from_samples.output_frames, from_file.output_frames);
    EXPECT_EQ(from_samples.input.container, "memory");
}

TEST(Simulate, SamplesInMemoryAreCheckedAndKeepTheirRateAndLength) {
    std::vector<float> decoded;
    const auto speech = test::speech_like(1.5, 22050, 4);
    const auto report = simulate_samples(speech, 22050, SampleFormat::Float32, decoded, {});
    EXPECT_EQ(decoded.size(), speech.size());
    EXPECT_EQ(report.output_rate_hz, 22050);
    EXPECT_EQ(report.requested.input_depth_bits, 24);
    EXPECT_EQ(test::best_lag(speech, decoded, 400), 0);

    test::expect_error([&] { simulate_samples(speech, 4000, SampleFormat::Pcm16, decoded, {}); },
                       {"simulate: input sample rate 4000 Hz"});
    test::expect_error([&] { simulate_samples({}, 48000, SampleFormat::Pcm16, decoded, {}); }, {"no samples"});
    auto bad = speech;
    bad[100] = std::nanf("");
    test::expect_error([&] { simulate_samples(bad, 22050, SampleFormat::Pcm16, decoded, {}); },
                       {"simulate: input sample 100", "not a finite number"});
}

}  // namespace
}  // namespace sibilant
