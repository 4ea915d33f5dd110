// Audio file reading and writing: formats, exactness, channel handling,
// resampling, block-wise streaming of long files and every bad-input case.
//
// Input files are mostly made with libsndfile directly rather than with
// sibilant's writer, so the reader is checked against an independent source.
#include "sibilant/audio.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <sndfile.h>

#include "sibilant/error.hpp"
#include "sibilant/resampler.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using sibilant::AudioFileReader;
using sibilant::AudioFileWriter;
using sibilant::AudioInfo;
using sibilant::Error;
using sibilant::ReadOptions;
using sibilant::SampleFormat;
using sibilant::test::TempDir;

// --- Making input files with libsndfile ------------------------------------

// Writes interleaved float frames. For integer formats libsndfile scales by
// 32767 etc.; use write_int16_file when exact integer values matter.
void write_sf_file(const fs::path& path, int sf_format, int rate_hz, int channels,
                   const std::vector<float>& interleaved) {
    SF_INFO info{};
    info.samplerate = rate_hz;
    info.channels = channels;
    info.format = sf_format;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    ASSERT_NE(file, nullptr) << path << ": " << sf_strerror(nullptr);
    const sf_count_t frames = static_cast<sf_count_t>(interleaved.size()) / channels;
    EXPECT_EQ(sf_writef_float(file, interleaved.data(), frames), frames);
    sf_close(file);
}

void write_int16_file(const fs::path& path, int sf_format, int rate_hz,
                      const std::vector<std::int16_t>& samples) {
    SF_INFO info{};
    info.samplerate = rate_hz;
    info.channels = 1;
    info.format = sf_format;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    ASSERT_NE(file, nullptr) << path << ": " << sf_strerror(nullptr);
    const sf_count_t n = static_cast<sf_count_t>(samples.size());
    EXPECT_EQ(sf_write_short(file, samples.data(), n), n);
    sf_close(file);
}

std::vector<std::int16_t> read_int16_file(const fs::path& path) {
    SF_INFO info{};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    EXPECT_NE(file, nullptr) << path << ": " << sf_strerror(nullptr);
    if (!file) return {};
    EXPECT_EQ(info.channels, 1);
    std::vector<std::int16_t> samples(static_cast<std::size_t>(info.frames));
    EXPECT_EQ(sf_read_short(file, samples.data(), info.frames), info.frames);
    sf_close(file);
    return samples;
}

std::vector<std::int32_t> read_int32_file(const fs::path& path) {
    SF_INFO info{};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    EXPECT_NE(file, nullptr) << path << ": " << sf_strerror(nullptr);
    if (!file) return {};
    std::vector<std::int32_t> samples(static_cast<std::size_t>(info.frames));
    EXPECT_EQ(sf_read_int(file, samples.data(), info.frames), info.frames);
    sf_close(file);
    return samples;
}

// Every int16 value once, then random ones: covers -32768 and 32767.
std::vector<std::int16_t> all_int16_values() {
    std::vector<std::int16_t> x;
    for (int v = -32768; v <= 32767; ++v) x.push_back(static_cast<std::int16_t>(v));
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> pick(-32768, 32767);
    for (int i = 0; i < 20000; ++i) x.push_back(static_cast<std::int16_t>(pick(rng)));
    return x;
}

std::vector<float> interleave(const std::vector<std::vector<float>>& channels) {
    std::vector<float> out;
    for (std::size_t i = 0; i < channels[0].size(); ++i)
        for (const auto& c : channels) out.push_back(c[i]);
    return out;
}

// --- Checking errors and folders -------------------------------------------

// Runs `action`, expecting sibilant::Error; returns its message.
template <class Action>
std::string error_of(Action&& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected sibilant::Error, got another exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected sibilant::Error, nothing was thrown";
    return {};
}

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// Names of everything in `folder`, hidden files included, sorted.
std::vector<std::string> names_in(const fs::path& folder) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Peak resident memory of this process in kB, or -1 where /proc is missing.
long peak_rss_kb() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmHWM:") {
            long kb = -1;
            status >> kb;
            return kb;
        }
    }
    return -1;
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
    const std::size_t n = std::min(a.size(), b.size());
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ab += double(a[i]) * b[i];
        aa += double(a[i]) * a[i];
        bb += double(b[i]) * b[i];
    }
    return ab / std::sqrt(aa * bb);
}

}  // namespace

// ---------------------------------------------------------------------------
// Sample format names

TEST(AudioIo, SampleFormatNamesRoundTrip) {
    for (SampleFormat f : {SampleFormat::Pcm16, SampleFormat::Pcm24, SampleFormat::Pcm32, SampleFormat::Float32})
        EXPECT_EQ(sibilant::parse_sample_format(sibilant::to_string(f)), f);
    EXPECT_STREQ(sibilant::to_string(SampleFormat::Float32), "float");
    EXPECT_TRUE(contains(error_of([] { sibilant::parse_sample_format("pcm8"); }), "'pcm8'"));
}

// ---------------------------------------------------------------------------
// Probing and format mapping

TEST(AudioIo, ProbeReportsHeader) {
    TempDir dir;
    const fs::path path = dir / "tone.wav";
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2,
                  interleave({sibilant::test::sine(440, 0.5, 44100), sibilant::test::sine(660, 0.5, 44100)}));
    const AudioInfo info = sibilant::probe_audio_file(path.string());
    EXPECT_EQ(info.path, path.string());
    EXPECT_EQ(info.sample_rate_hz, 44100);
    EXPECT_EQ(info.channels, 2);
    EXPECT_EQ(info.frames, 22050);
    EXPECT_DOUBLE_EQ(info.duration_s(), 0.5);
    EXPECT_EQ(info.container, "WAV");
    EXPECT_EQ(info.encoding, "PCM_16");
    EXPECT_EQ(info.sample_format, SampleFormat::Pcm16);
}

TEST(AudioIo, InputFormatsMapToNearestSampleFormat) {
    struct Case {
        const char* name;
        int sf_format;
        const char* container;
        const char* encoding;
        SampleFormat expected;
    };
    const Case cases[] = {
        {"a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, "WAV", "PCM_16", SampleFormat::Pcm16},
        {"b.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, "WAV", "PCM_24", SampleFormat::Pcm24},
        {"c.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, "WAV", "PCM_32", SampleFormat::Pcm32},
        {"d.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, "WAV", "FLOAT", SampleFormat::Float32},
        {"e.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, "WAV", "DOUBLE", SampleFormat::Float32},
        {"f.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, "WAV", "PCM_U8", SampleFormat::Pcm16},
        {"g.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, "FLAC", "PCM_16", SampleFormat::Pcm16},
        {"h.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, "FLAC", "PCM_24", SampleFormat::Pcm24},
        {"i.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_S8, "FLAC", "PCM_S8", SampleFormat::Pcm16},
        {"j.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, "OGG", "VORBIS", SampleFormat::Pcm16},
        {"k.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, "OGG", "OPUS", SampleFormat::Pcm16},
        {"l.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, "AIFF", "PCM_16", SampleFormat::Pcm16},
        {"m.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, "MPEG", "MPEG_LAYER_III", SampleFormat::Pcm16},
    };
    TempDir dir;
    const std::vector<float> tone = sibilant::test::sine(440, 0.2, 48000);
    for (const Case& c : cases) {
        const fs::path path = dir / c.name;
        write_sf_file(path, c.sf_format, 48000, 1, tone);
        const AudioInfo info = sibilant::probe_audio_file(path.string());
        EXPECT_EQ(info.container, c.container) << c.name;
        EXPECT_EQ(info.encoding, c.encoding) << c.name;
        EXPECT_EQ(info.sample_format, c.expected) << c.name;
        // And each one decodes to about the tone that went in.
        const std::vector<float> back = sibilant::read_audio_file(path.string());
        EXPECT_NEAR(double(back.size()), double(tone.size()), 1.0) << c.name;
        EXPECT_GT(correlation(back, tone), 0.95) << c.name;
    }
}

// ---------------------------------------------------------------------------
// Exactness

TEST(AudioIo, SixteenBitSamplesReadAsValueOver32768) {
    TempDir dir;
    const std::vector<std::int16_t> ints = all_int16_values();
    for (const char* name : {"x.wav", "x.flac"}) {
        const fs::path path = dir / name;
        write_int16_file(path, (std::string(name) == "x.wav" ? SF_FORMAT_WAV : SF_FORMAT_FLAC) | SF_FORMAT_PCM_16,
                         48000, ints);
        // Same rate as the default target: no resampling, so exact.
        const std::vector<float> x = sibilant::read_audio_file(path.string());
        ASSERT_EQ(x.size(), ints.size());
        for (std::size_t i = 0; i < x.size(); ++i)
            ASSERT_EQ(x[i], float(ints[i]) / 32768.0f) << name << " sample " << i;
    }
}

TEST(AudioIo, SixteenBitFileRoundTripsBitExactly) {
    TempDir dir;
    const std::vector<std::int16_t> ints = all_int16_values();
    const fs::path in_path = dir / "in.wav";
    write_int16_file(in_path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, ints);

    const std::vector<float> x = sibilant::read_audio_file(in_path.string(), ReadOptions{-1, 0});
    for (const char* name : {"out.wav", "out.flac"}) {
        const fs::path out_path = dir / name;
        sibilant::write_audio_file(out_path.string(), x, 22050, SampleFormat::Pcm16);
        EXPECT_EQ(read_int16_file(out_path), ints) << name;
        EXPECT_EQ(sibilant::probe_audio_file(out_path.string()).sample_rate_hz, 22050);
    }
}

TEST(AudioIo, TwentyFourBitFileRoundTripsBitExactly) {
    TempDir dir;
    std::vector<std::int32_t> ints;  // 24-bit values in the top bits, as sf_read_int gives them
    std::mt19937 rng(3);
    std::uniform_int_distribution<std::int32_t> pick(-8388608, 8388607);
    for (std::int32_t v : {-8388608, 8388607, 0, 1, -1}) ints.push_back(v * 256);
    for (int i = 0; i < 50000; ++i) ints.push_back(pick(rng) * 256);
    const fs::path in_path = dir / "in.wav";
    {
        SF_INFO info{};
        info.samplerate = 48000;
        info.channels = 1;
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_24;
        SNDFILE* file = sf_open(in_path.c_str(), SFM_WRITE, &info);
        ASSERT_NE(file, nullptr);
        sf_write_int(file, ints.data(), static_cast<sf_count_t>(ints.size()));
        sf_close(file);
    }
    AudioInfo info;
    const std::vector<float> x = sibilant::read_audio_file(in_path.string(), {}, &info);
    EXPECT_EQ(info.sample_format, SampleFormat::Pcm24);
    for (const char* name : {"out.wav", "out.flac"}) {
        const fs::path out_path = dir / name;
        sibilant::write_audio_file(out_path.string(), x, 48000, SampleFormat::Pcm24);
        EXPECT_EQ(read_int32_file(out_path), ints) << name;
    }
}

TEST(AudioIo, Pcm32AndFloatWriteCloseToInput) {
    TempDir dir;
    const std::vector<float> x = sibilant::test::white_noise(0.5, 48000, 11, 0.9);
    for (SampleFormat format : {SampleFormat::Pcm32, SampleFormat::Float32}) {
        const fs::path path = dir / (std::string("out_") + sibilant::to_string(format) + ".wav");
        sibilant::write_audio_file(path.string(), x, 48000, format);
        EXPECT_EQ(sibilant::probe_audio_file(path.string()).sample_format, format);
        const std::vector<float> back = sibilant::read_audio_file(path.string());
        ASSERT_EQ(back.size(), x.size());
        double max_error = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i)
            max_error = std::max(max_error, double(std::fabs(back[i] - x[i])));
        if (format == SampleFormat::Float32)
            EXPECT_EQ(max_error, 0.0);
        else
            EXPECT_LT(max_error, 1e-7);
    }
}

TEST(AudioIo, SixteenBitOutputIsScaledBy32768AndClamped) {
    TempDir dir;
    const fs::path path = dir / "clamp.wav";
    const std::vector<float> x = {1.0f, -1.0f, 1.5f, -1.5f, 0.5f, 1.0f / 32768.0f, 0.4f / 32768.0f,
                                  0.6f / 32768.0f, -0.6f / 32768.0f};
    sibilant::write_audio_file(path.string(), x, 16000, SampleFormat::Pcm16);
    const std::vector<std::int16_t> expected = {32767, -32768, 32767, -32768, 16384, 1, 0, 1, -1};
    EXPECT_EQ(read_int16_file(path), expected);
}

// ---------------------------------------------------------------------------
// Channels

TEST(AudioIo, StereoIsMixedDownOrOneChannelPicked) {
    TempDir dir;
    const fs::path path = dir / "stereo.wav";
    const std::vector<float> left = sibilant::test::sine(440, 0.3, 48000, 0.4);
    const std::vector<float> right = sibilant::test::white_noise(0.3, 48000, 2, 0.5);
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 2, interleave({left, right}));

    const std::vector<float> mixed = sibilant::read_audio_file(path.string());
    ASSERT_EQ(mixed.size(), left.size());
    for (std::size_t i = 0; i < mixed.size(); ++i)
        ASSERT_FLOAT_EQ(mixed[i], 0.5f * (left[i] + right[i])) << i;

    EXPECT_EQ(sibilant::read_audio_file(path.string(), ReadOptions{0, 48000}), left);
    EXPECT_EQ(sibilant::read_audio_file(path.string(), ReadOptions{1, 48000}), right);
}

TEST(AudioIo, ManyChannelsWork) {
    TempDir dir;
    for (int channels : {3, 6, 8}) {
        std::vector<std::vector<float>> content;
        for (int c = 0; c < channels; ++c)
            content.push_back(sibilant::test::white_noise(0.2, 16000, 100 + static_cast<unsigned>(c), 0.3));
        const fs::path path = dir / (std::string("multi") + std::to_string(channels) + ".wav");
        write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, channels, interleave(content));

        const std::vector<float> mixed = sibilant::read_audio_file(path.string(), ReadOptions{-1, 0});
        ASSERT_EQ(mixed.size(), content[0].size());
        for (std::size_t i = 0; i < mixed.size(); ++i) {
            double sum = 0;
            for (const auto& c : content) sum += c[i];
            ASSERT_NEAR(mixed[i], sum / channels, 1e-6) << channels << " channels, sample " << i;
        }
        EXPECT_EQ(sibilant::read_audio_file(path.string(), ReadOptions{channels - 1, 0}), content.back());
        EXPECT_EQ(sibilant::read_audio_file(path.string(), ReadOptions{2, 0}), content[2]);
    }
}

// ---------------------------------------------------------------------------
// Rates and resampling

TEST(AudioIo, ReaderResamplesToTargetRate) {
    TempDir dir;
    const fs::path path = dir / "cd.wav";
    const std::vector<float> x = sibilant::test::speech_like(1.5, 44100);
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 1, x);

    AudioFileReader reader(path.string());
    EXPECT_EQ(reader.output_rate_hz(), 48000);
    EXPECT_EQ(reader.info().sample_rate_hz, 44100);
    std::vector<float> got;
    std::vector<float> block(333);
    while (const std::size_t n = reader.read(block)) got.insert(got.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(n));
    // Block-wise reading gives what one resample() call gives.
    EXPECT_EQ(got, sibilant::resample(x, 44100, 48000));
    EXPECT_EQ(reader.read(block), 0u);  // stays at the end

    AudioFileReader keep(path.string(), ReadOptions{-1, 0});
    EXPECT_EQ(keep.output_rate_hz(), 44100);
}

TEST(AudioIo, AcceptsRatesFrom8To192kHz) {
    TempDir dir;
    for (int rate_hz : {8000, 11025, 22050, 96000, 192000}) {
        const fs::path path = dir / (std::string("r") + std::to_string(rate_hz) + ".wav");
        const std::vector<float> x = sibilant::test::sine(1000, 0.25, rate_hz);
        write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate_hz, 1, x);
        const std::vector<float> y = sibilant::read_audio_file(path.string());
        EXPECT_EQ(y.size(), static_cast<std::size_t>(std::llround(double(x.size()) * 48000 / rate_hz))) << rate_hz;
        const std::vector<float> middle(y.begin() + 1000, y.end() - 1000);
        EXPECT_NEAR(sibilant::test::rms(middle), 0.5 / std::sqrt(2.0), 0.005) << rate_hz;
    }
}

// ---------------------------------------------------------------------------
// Long files: bounded memory, blocks in and out

TEST(AudioIo, StreamsTenMinuteFileInSmallBlocks) {
    TempDir dir;
    const fs::path path = dir / "long.wav";
    const int rate_hz = 44100;
    const std::int64_t total_frames = std::int64_t{10} * 60 * rate_hz;
    {
        // Written block by block; the whole signal never exists in memory.
        AudioFileWriter writer(path.string(), rate_hz, SampleFormat::Pcm16);
        const std::vector<float> second = sibilant::test::sine(441, 1.0, rate_hz, 0.5);
        for (std::int64_t written = 0; written < total_frames; written += rate_hz) writer.write(second);
        writer.commit();
    }
    const AudioInfo info = sibilant::probe_audio_file(path.string());
    ASSERT_EQ(info.frames, total_frames);

    const long peak_before_kb = peak_rss_kb();
    AudioFileReader reader(path.string());  // to 48 kHz
    std::vector<float> block(1000);
    std::int64_t total_out = 0;
    float peak = 0.0f;
    while (const std::size_t n = reader.read(block)) {
        total_out += static_cast<std::int64_t>(n);
        for (std::size_t i = 0; i < n; ++i) peak = std::max(peak, std::fabs(block[i]));
    }
    EXPECT_EQ(total_out, std::int64_t{10} * 60 * 48000);
    EXPECT_NEAR(peak, 0.5f, 0.01f);
    // The decoded file would take 115 MB as floats; the reader must need far
    // less. (Peak RSS only grows, so this is a bound, not a measurement.)
    const long peak_after_kb = peak_rss_kb();
    if (peak_before_kb > 0 && peak_after_kb > 0) {
        EXPECT_LT(peak_after_kb - peak_before_kb, 20 * 1024);
    }
}

// ---------------------------------------------------------------------------
// Lossy input

TEST(AudioIo, ReadsOggVorbis) {
    TempDir dir;
    const fs::path path = dir / "speech.ogg";
    const std::vector<float> x = sibilant::test::speech_like(2.0, 48000);
    write_sf_file(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 1, x);

    AudioInfo info;
    const std::vector<float> y = sibilant::read_audio_file(path.string(), {}, &info);
    EXPECT_EQ(info.container, "OGG");
    EXPECT_EQ(info.encoding, "VORBIS");
    EXPECT_NEAR(double(y.size()), double(x.size()), 1024.0);  // at most a codec block off
    EXPECT_GT(correlation(x, y), 0.9);
}

// ---------------------------------------------------------------------------
// Writer: container choice, temporary file, commit

TEST(AudioIo, WriterChoosesContainerByExtensionIgnoringCase) {
    TempDir dir;
    const std::vector<float> x = sibilant::test::sine(500, 0.1, 48000);
    for (const char* name : {"A.WAV", "b.Wav", "c.FLAC", "d.flac"}) {
        const fs::path path = dir / name;
        sibilant::write_audio_file(path.string(), x, 48000, SampleFormat::Pcm16);
        const std::string lower_name = [&] {
            std::string s = name;
            for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            return s;
        }();
        EXPECT_EQ(sibilant::probe_audio_file(path.string()).container,
                  lower_name.ends_with(".wav") ? "WAV" : "FLAC") << name;
    }
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"A.WAV", "b.Wav", "c.FLAC", "d.flac"}));
}

TEST(AudioIo, WriterUsesTemporaryFileUntilCommit) {
    TempDir dir;
    const fs::path path = dir / "out.wav";
    AudioFileWriter writer(path.string(), 48000, SampleFormat::Pcm16);
    writer.write(sibilant::test::sine(500, 0.1, 48000));
    const std::vector<std::string> during = names_in(dir.path());
    ASSERT_EQ(during.size(), 1u);
    EXPECT_TRUE(during[0].starts_with(".out.wav.") && during[0].ends_with(".tmp")) << during[0];
    writer.commit();
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.wav"});
    EXPECT_EQ(sibilant::probe_audio_file(path.string()).frames, 4800);
}

TEST(AudioIo, WriterWithoutCommitLeavesDestinationUntouched) {
    TempDir dir;
    const fs::path path = dir / "keep.wav";
    sibilant::write_audio_file(path.string(), sibilant::test::sine(300, 0.1, 48000), 48000, SampleFormat::Pcm16);
    const std::vector<std::uint8_t> before = sibilant::test::read_bytes(path);
    {
        AudioFileWriter writer(path.string(), 48000, SampleFormat::Float32);
        writer.write(sibilant::test::white_noise(0.2, 48000, 4));
    }  // no commit
    EXPECT_EQ(sibilant::test::read_bytes(path), before);
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"keep.wav"});

    // Nor does a new file appear when nothing existed.
    { AudioFileWriter writer((dir / "new.flac").string(), 48000, SampleFormat::Pcm24); }
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"keep.wav"});
}

TEST(AudioIo, CommitReplacesExistingFile) {
    TempDir dir;
    const fs::path path = dir / "replace.wav";
    sibilant::write_audio_file(path.string(), std::vector<float>(100, 0.1f), 48000, SampleFormat::Pcm16);
    sibilant::write_audio_file(path.string(), std::vector<float>(300, 0.2f), 48000, SampleFormat::Pcm16);
    EXPECT_EQ(sibilant::probe_audio_file(path.string()).frames, 300);
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"replace.wav"});
}

TEST(AudioIo, WriterFailuresLeaveNoFiles) {
    TempDir dir;
    const std::vector<float> x(100, 0.1f);
    const std::string missing_folder = (dir / "no_such_folder" / "out.wav").string();
    std::string msg = error_of([&] { sibilant::write_audio_file(missing_folder, x, 48000, SampleFormat::Pcm16); });
    EXPECT_TRUE(contains(msg, missing_folder));
    EXPECT_TRUE(contains(msg, "folder does not exist"));

    const std::string mp3 = (dir / "out.mp3").string();
    msg = error_of([&] { sibilant::write_audio_file(mp3, x, 48000, SampleFormat::Pcm16); });
    EXPECT_TRUE(contains(msg, mp3));
    EXPECT_TRUE(contains(msg, "unsupported output extension '.mp3'"));

    const std::string no_extension = (dir / "out").string();
    EXPECT_TRUE(contains(error_of([&] { AudioFileWriter w(no_extension, 48000, SampleFormat::Pcm16); }),
                         "no extension"));

    for (SampleFormat format : {SampleFormat::Pcm32, SampleFormat::Float32}) {
        const std::string flac = (dir / "out.flac").string();
        msg = error_of([&] { AudioFileWriter w(flac, 48000, format); });
        EXPECT_TRUE(contains(msg, flac));
        EXPECT_TRUE(contains(msg, "FLAC cannot hold"));
    }

    // A NaN on the way out is refused; the half-written file disappears.
    const std::string nan_out = (dir / "nan.wav").string();
    msg = error_of([&] {
        std::vector<float> bad(100, 0.1f);
        bad[42] = std::numeric_limits<float>::quiet_NaN();
        sibilant::write_audio_file(nan_out, bad, 48000, SampleFormat::Pcm16);
    });
    EXPECT_TRUE(contains(msg, "sample 42 is not a finite number"));

    EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(AudioIo, MovedWriterStillCommits) {
    TempDir dir;
    const fs::path path = dir / "moved.wav";
    AudioFileWriter first(path.string(), 48000, SampleFormat::Pcm16);
    AudioFileWriter second = std::move(first);
    second.write(std::vector<float>(10, 0.0f));
    second.commit();
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"moved.wav"});
}

// ---------------------------------------------------------------------------
// Bad input files: each error names the file and the cause

TEST(AudioIo, MissingFile) {
    TempDir dir;
    const std::string path = (dir / "nothing.wav").string();
    const std::string msg = error_of([&] { sibilant::read_audio_file(path); });
    EXPECT_TRUE(contains(msg, path + ": no such file"));
    EXPECT_TRUE(contains(error_of([&] { sibilant::probe_audio_file(path); }), "no such file"));
}

TEST(AudioIo, TextFileNamedWav) {
    TempDir dir;
    const fs::path path = dir / "notes.wav";
    std::ofstream(path) << "These are my notes, not audio.\nSecond line.\n";
    const std::string msg = error_of([&] { AudioFileReader r(path.string()); });
    EXPECT_TRUE(contains(msg, path.string() + ": not a recognised audio file"));

    const fs::path empty = dir / "zero_bytes.wav";
    std::ofstream{empty};
    EXPECT_TRUE(contains(error_of([&] { sibilant::probe_audio_file(empty.string()); }),
                         empty.string() + ": not a recognised audio file: the file is empty (0 bytes)"));
}

TEST(AudioIo, FolderInsteadOfFile) {
    TempDir dir;
    EXPECT_TRUE(contains(error_of([&] { sibilant::probe_audio_file(dir.path().string()); }), "is a folder"));
}

TEST(AudioIo, TruncatedWav) {
    TempDir dir;
    const fs::path path = dir / "cut.wav";
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, sibilant::test::white_noise(2.0, 48000, 1));
    fs::resize_file(path, fs::file_size(path) / 2);
    for (int target_rate_hz : {0, 48000, 16000}) {
        const std::string msg =
            error_of([&] { sibilant::read_audio_file(path.string(), ReadOptions{-1, target_rate_hz}); });
        EXPECT_TRUE(contains(msg, path.string() + ": file is truncated"));
        EXPECT_TRUE(contains(msg, "the header says 2.000 s (96000 frames)")) << msg;
    }
    EXPECT_TRUE(contains(error_of([&] { sibilant::probe_audio_file(path.string()); }), "truncated"));
}

TEST(AudioIo, TruncatedWavWithStereoFloatAndAiff) {
    TempDir dir;
    const std::vector<float> x = sibilant::test::white_noise(1.0, 48000, 1);
    const struct {
        const char* name;
        int format;
        int channels;
    } cases[] = {{"f.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2},
                 {"x.wav", SF_FORMAT_WAVEX | SF_FORMAT_PCM_24, 1},
                 {"a.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 1},
                 {"a.au", SF_FORMAT_AU | SF_FORMAT_PCM_16, 1},
                 {"a.rf64", SF_FORMAT_RF64 | SF_FORMAT_PCM_16, 1},
                 {"a.w64", SF_FORMAT_W64 | SF_FORMAT_PCM_16, 1}};
    for (const auto& c : cases) {
        const fs::path path = dir / c.name;
        std::vector<float> frames;
        for (float v : x)
            for (int ch = 0; ch < c.channels; ++ch) frames.push_back(v);
        write_sf_file(path, c.format, 48000, c.channels, frames);
        EXPECT_NO_THROW(sibilant::probe_audio_file(path.string())) << c.name;
        fs::resize_file(path, fs::file_size(path) * 2 / 3);
        EXPECT_TRUE(contains(error_of([&] { sibilant::read_audio_file(path.string()); }), "file is truncated"))
            << c.name;
    }
}

TEST(AudioIo, TruncatedFlacFailsWhileReading) {
    TempDir dir;
    const fs::path path = dir / "cut.flac";
    // Noise barely compresses, so cutting the file cuts into the audio.
    write_sf_file(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 1, sibilant::test::white_noise(2.0, 48000, 1));
    fs::resize_file(path, fs::file_size(path) / 2);

    // The header (STREAMINFO) is intact, so opening works ...
    AudioFileReader reader(path.string());
    EXPECT_EQ(reader.info().frames, 96000);
    // ... and the stream ends early.
    std::vector<float> block(4096);
    const std::string msg = error_of([&] {
        while (reader.read(block) > 0) {
        }
    });
    EXPECT_TRUE(contains(msg, path.string() + ": file is truncated"));
    // Later calls repeat the error rather than pretending the file ended.
    EXPECT_THROW(reader.read(block), Error);
}

TEST(AudioIo, CorruptFlacReportsReadError) {
    TempDir dir;
    const fs::path path = dir / "corrupt.flac";
    write_sf_file(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 1, sibilant::test::white_noise(2.0, 48000, 1));
    {
        // Overwrite a stretch in the middle with garbage.
        std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(static_cast<std::streamoff>(fs::file_size(path) / 2));
        for (int i = 0; i < 20000; ++i) file.put(static_cast<char>((i * 37) & 0xFF));
    }
    // Opening works; the error comes mid-stream, from sf_error() after a read.
    AudioFileReader reader(path.string());
    std::vector<float> block(4096);
    std::size_t total = 0;
    const std::string msg = error_of([&] {
        while (const std::size_t n = reader.read(block)) total += n;
    });
    EXPECT_GT(total, 0u);
    EXPECT_TRUE(contains(msg, path.string() + ": damaged audio data: decoding failed at "));
}

TEST(AudioIo, TruncatedOgg) {
    TempDir dir;
    const fs::path path = dir / "cut.ogg";
    write_sf_file(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 1, sibilant::test::white_noise(2.0, 48000, 1));
    fs::resize_file(path, fs::file_size(path) / 2);
    EXPECT_TRUE(contains(error_of([&] { sibilant::read_audio_file(path.string()); }),
                         path.string() + ": file is truncated"));
}

TEST(AudioIo, EmptyWav) {
    TempDir dir;
    const fs::path path = dir / "empty.wav";
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, {});
    EXPECT_TRUE(contains(error_of([&] { sibilant::read_audio_file(path.string()); }),
                         path.string() + ": contains no samples"));
    EXPECT_TRUE(contains(error_of([&] { sibilant::probe_audio_file(path.string()); }), "contains no samples"));
}

TEST(AudioIo, NonFiniteSamples) {
    TempDir dir;
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
        for (int format : {SF_FORMAT_FLOAT, SF_FORMAT_DOUBLE}) {
            const fs::path path = dir / "nan.wav";
            std::vector<float> x = sibilant::test::sine(440, 2.0, 44100);
            x[44100] = bad;  // 1 s in
            write_sf_file(path, SF_FORMAT_WAV | format, 44100, 1, x);
            // Reported at the file's own rate, before any resampling.
            const std::string msg = error_of([&] { sibilant::read_audio_file(path.string()); });
            EXPECT_TRUE(contains(msg, path.string() + ": sample 44100 at 1.000 s is not a finite number"));
        }
    }
}

// The reader checks each block in one vectorised pass before it looks for
// the sample to name: a bad sample at either end of a block (or of the
// file, an odd length) must be found like one in the middle.
TEST(AudioIo, NonFiniteSamplesAtTheEdgesOfBlocksAndFile) {
    TempDir dir;
    const std::size_t length = 3 * 4096 + 7;
    for (std::size_t at : {std::size_t(0), std::size_t(4095), std::size_t(4096), length - 1}) {
        const fs::path path = dir / "edge.wav";
        std::vector<float> x = sibilant::test::sine(440, double(length) / 48000.0, 48000);
        ASSERT_EQ(x.size(), length);
        x[at] = std::numeric_limits<float>::quiet_NaN();
        write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 1, x);
        const std::string msg = error_of([&] { sibilant::read_audio_file(path.string()); });
        EXPECT_TRUE(contains(msg, path.string() + ": sample " + std::to_string(at) + " at ")) << msg;
        EXPECT_TRUE(contains(msg, "is not a finite number")) << msg;
    }
}

// A finite float far beyond full scale is no audio either, and would
// overflow the resampler's and the STFT's float sums into infinities and
// NaN: found by fuzz_audio_file (a float WAV at 48032 Hz holding 2.3e38,
// whose resampled output was NaN). Refused at 2^20 (+120 dBFS), named like
// a NaN; loud but plausible float audio still reads.
TEST(AudioIo, SamplesFarBeyondFullScaleAreRefused) {
    TempDir dir;
    const fs::path path = dir / "huge.wav";
    for (int rate_hz : {48000, 48032}) {
        for (float huge : {1048576.0f, -2.3e38f}) {
            std::vector<float> x = sibilant::test::sine(440, 0.1, rate_hz);
            x[100] = huge;
            write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate_hz, 1, x);
            const std::string msg = error_of([&] { sibilant::read_audio_file(path.string()); });
            EXPECT_TRUE(contains(msg, path.string() + ": sample 100 at 0.002 s is ")) << msg;
            EXPECT_TRUE(contains(msg, "beyond +-2^20 (+120 dBFS): not audio")) << msg;
        }
        std::vector<float> loud = sibilant::test::sine(440, 0.1, rate_hz, 1000.0);  // +60 dBFS
        loud[100] = 1048575.0f;
        write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate_hz, 1, loud);
        const std::vector<float> y = sibilant::read_audio_file(path.string());
        EXPECT_FALSE(y.empty());
        for (float v : y) ASSERT_TRUE(std::isfinite(v));
    }
}

TEST(AudioIo, NonFiniteSampleInUnusedChannelIsIgnored) {
    TempDir dir;
    const fs::path path = dir / "nan_right.wav";
    std::vector<float> left = sibilant::test::sine(440, 0.1, 48000);
    std::vector<float> right = left;
    right[100] = std::numeric_limits<float>::quiet_NaN();
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 2, interleave({left, right}));
    EXPECT_EQ(sibilant::read_audio_file(path.string(), ReadOptions{0, 48000}), left);
    EXPECT_TRUE(contains(error_of([&] { sibilant::read_audio_file(path.string()); }),
                         "sample 100 at 0.002 s is not a finite number (channel 1)"));
}

TEST(AudioIo, UnsupportedSampleRates) {
    TempDir dir;
    for (int rate_hz : {4000, 384000}) {
        const fs::path path = dir / (std::string("rate") + std::to_string(rate_hz) + ".wav");
        write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate_hz, 1, sibilant::test::sine(100, 0.1, rate_hz));
        const std::string expected =
            path.string() + ": sample rate " + std::to_string(rate_hz) + " Hz is outside 8000..192000 Hz";
        EXPECT_TRUE(contains(error_of([&] { sibilant::read_audio_file(path.string()); }), expected));
        EXPECT_TRUE(contains(error_of([&] { sibilant::probe_audio_file(path.string()); }), expected));
    }
}

TEST(AudioIo, ChannelOutOfRange) {
    TempDir dir;
    const fs::path path = dir / "stereo.wav";
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, std::vector<float>(200, 0.1f));
    for (int channel : {2, 5, -2}) {
        const std::string msg = error_of([&] { AudioFileReader r(path.string(), ReadOptions{channel, 48000}); });
        EXPECT_TRUE(contains(msg, path.string() + ": channel index " + std::to_string(channel) + " (counted from 0"));
        EXPECT_TRUE(contains(msg, "does not exist"));
        if (channel >= 0) {
            EXPECT_TRUE(contains(msg, "channel " + std::to_string(channel + 1) + " counted from 1"));
        }
        EXPECT_TRUE(contains(msg, "2 channel"));
    }
}

TEST(AudioIo, BadTargetRate) {
    TempDir dir;
    const fs::path path = dir / "ok.wav";
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, std::vector<float>(200, 0.1f));
    EXPECT_TRUE(contains(error_of([&] { AudioFileReader r(path.string(), ReadOptions{-1, -5}); }),
                         "target sample rate -5 Hz"));
}

TEST(AudioIo, MovedReaderKeepsReading) {
    TempDir dir;
    const fs::path path = dir / "m.wav";
    const std::vector<float> x = sibilant::test::white_noise(0.1, 48000, 9);
    write_sf_file(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 1, x);
    AudioFileReader first(path.string());
    std::vector<float> block(100);
    ASSERT_EQ(first.read(block), 100u);
    AudioFileReader second = std::move(first);
    std::vector<float> rest(x.size());
    EXPECT_EQ(second.read(rest), x.size() - 100);
    EXPECT_EQ(rest[0], x[100]);
}
