// Audio file input and output (libsndfile + libsoxr behind the scenes).
//
// Reading is block-wise so that an hour-long file needs bounded memory: a
// reader hands out mono float samples at the requested rate (48 kHz by
// default), mixing channels down or picking one. Writing goes to a temporary
// file beside the destination and is renamed into place only by commit(), so a
// failure never leaves a half-written output file.
//
// Sample values are floats at full scale +-1.0. 16-bit input samples x arrive
// exactly as x / 32768, and 16-bit output is written as round(v * 32768)
// clamped to [-32768, 32767], so 16-bit audio passes through unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sibilant {

/// The rate at which all of sibilant's processing runs.
inline constexpr int kInternalRateHz = 48000;
/// Sample rates accepted on input, inclusive.
inline constexpr int kMinInputRateHz = 8000;
inline constexpr int kMaxInputRateHz = 192000;

/// Sample formats sibilant writes. On input, formats are mapped to the nearest
/// of these: 8-bit and lossy sources (Vorbis, Opus, MP3) count as Pcm16.
enum class SampleFormat { Pcm16, Pcm24, Pcm32, Float32 };

/// "pcm16", "pcm24", "pcm32", "float".
const char* to_string(SampleFormat format);
/// Parses the names above; throws Error naming the bad value.
SampleFormat parse_sample_format(const std::string& name);

struct AudioInfo {
    std::string path;
    int sample_rate_hz = 0;
    int channels = 0;
    std::int64_t frames = 0;          ///< Per channel, as the file header states.
    std::string container;            ///< e.g. "WAV", "FLAC", "OGG".
    std::string encoding;             ///< e.g. "PCM_16", "FLOAT", "VORBIS".
    SampleFormat sample_format = SampleFormat::Pcm16;  ///< Nearest writable format.
    double duration_s() const {
        return sample_rate_hz > 0 ? double(frames) / sample_rate_hz : 0.0;
    }
};

/// Reads only the header. Throws Error (missing, unreadable, not audio,
/// unsupported rate, zero samples).
AudioInfo probe_audio_file(const std::string& path);

struct ReadOptions {
    /// -1 mixes all channels down (mean); 0..channels-1 picks one channel.
    int channel = -1;
    /// Output rate of the reader; 0 keeps the file's own rate.
    int target_rate_hz = kInternalRateHz;
    /// The file's samples are taken to be at its sample rate times this
    /// (then resampled to target_rate_hz): > 1 shortens the output. Undoes a
    /// recording clock that ran slow (clock-drift compensation, issue #10).
    /// (0.5, 2); 1 leaves the file's timing alone.
    double rate_scale = 1.0;
};

/// Streams a file as mono float blocks at ReadOptions::target_rate_hz.
/// Memory is bounded by the block size, whatever the file length.
class AudioFileReader {
public:
    /// Opens and validates the header. Throws Error naming `path` and the cause:
    /// missing file, unreadable or unrecognised format, zero samples, sample
    /// rate outside [kMinInputRateHz, kMaxInputRateHz], channel out of range.
    AudioFileReader(const std::string& path, const ReadOptions& options = {});
    ~AudioFileReader();
    AudioFileReader(AudioFileReader&&) noexcept;
    AudioFileReader& operator=(AudioFileReader&&) noexcept;

    const AudioInfo& info() const;
    int output_rate_hz() const;

    /// Fills `out` with up to out.size() samples; returns how many were
    /// written, 0 only at the end of the file (after the resampler is flushed).
    /// Throws Error naming the file and the position in seconds when a sample
    /// is NaN or infinite, or when the file ends before its header says (truncated).
    std::size_t read(std::span<float> out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Reads a whole file into memory (convenience for short files and tests).
std::vector<float> read_audio_file(const std::string& path, const ReadOptions& options = {},
                                   AudioInfo* info = nullptr);

/// Writes mono audio. The container follows the extension of `path`: ".wav"
/// or ".flac" (case-insensitive). FLAC cannot hold Pcm32 or Float32.
class AudioFileWriter {
public:
    /// Creates a temporary file beside `path`. Throws Error naming `path` when
    /// the folder is missing or not writable, the extension is unsupported, or
    /// the format does not fit the container.
    AudioFileWriter(const std::string& path, int sample_rate_hz, SampleFormat format);
    /// Without commit(), the temporary file is removed and `path` is untouched.
    ~AudioFileWriter();
    AudioFileWriter(AudioFileWriter&&) noexcept;
    AudioFileWriter& operator=(AudioFileWriter&&) noexcept;

    void write(std::span<const float> samples);
    /// Finishes the file and renames it to `path`. Throws Error on failure.
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Writes a whole buffer (write + commit).
void write_audio_file(const std::string& path, std::span<const float> samples,
                      int sample_rate_hz, SampleFormat format);

}  // namespace sibilant
