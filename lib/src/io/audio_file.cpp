// Audio file input and output with libsndfile; resampling via sibilant::Resampler.
//
// Reading: libsndfile decodes blocks of frames as floats (16-bit x arrives as
// x / 32768 exactly); each block is mixed down or reduced to one channel,
// checked for NaN/Inf and resampled. Only the block buffers and the resampler
// state live in memory, whatever the file length.
//
// Truncated files: libsndfile quietly shortens a WAV/AIFF/AU/RF64 whose header
// promises more data than the file holds, and only notes it in its log. We read
// that log (SFC_GET_LOG_INFO) when opening. FLAC and other compressed streams
// are caught while reading: the decoder fails, or the stream ends before the
// frame count from the header. An Ogg file without its final page has no known
// length (libsndfile reports SF_COUNT_MAX frames), which we also call truncated.
//
// Writing: our own float -> integer conversion (libsndfile's would scale 16-bit
// by 32767 and so not round-trip), into a temporary file beside the
// destination that commit() renames into place.
#include "sibilant/audio.hpp"

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <sndfile.h>
#include <unistd.h>

#include "dsp/sample_check.hpp"
#include "io/temp_file.hpp"
#include "sibilant/error.hpp"
#include "sibilant/resampler.hpp"

namespace sibilant {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, const std::string& cause) {
    throw Error(path + ": " + cause);
}

std::string errno_text(int error_number) {
    return std::error_code(error_number, std::generic_category()).message();
}

std::string to_lower(std::string text) {
    for (char& c : text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return text;
}

// Seconds for messages: millisecond resolution is enough for a person to find
// the place; the sample index is given alongside where exactness matters.
std::string seconds_text(double seconds) {
    char text[64];
    std::snprintf(text, sizeof text, "%.3f s", seconds);
    return text;
}

const char* container_name(int sf_format) {
    switch (sf_format & SF_FORMAT_TYPEMASK) {
        case SF_FORMAT_WAV: return "WAV";
        case SF_FORMAT_AIFF: return "AIFF";
        case SF_FORMAT_AU: return "AU";
        case SF_FORMAT_RAW: return "RAW";
        case SF_FORMAT_PAF: return "PAF";
        case SF_FORMAT_SVX: return "SVX";
        case SF_FORMAT_NIST: return "NIST";
        case SF_FORMAT_VOC: return "VOC";
        case SF_FORMAT_IRCAM: return "IRCAM";
        case SF_FORMAT_W64: return "W64";
        case SF_FORMAT_MAT4: return "MAT4";
        case SF_FORMAT_MAT5: return "MAT5";
        case SF_FORMAT_PVF: return "PVF";
        case SF_FORMAT_XI: return "XI";
        case SF_FORMAT_HTK: return "HTK";
        case SF_FORMAT_SDS: return "SDS";
        case SF_FORMAT_AVR: return "AVR";
        case SF_FORMAT_WAVEX: return "WAVEX";
        case SF_FORMAT_SD2: return "SD2";
        case SF_FORMAT_FLAC: return "FLAC";
        case SF_FORMAT_CAF: return "CAF";
        case SF_FORMAT_WVE: return "WVE";
        case SF_FORMAT_OGG: return "OGG";
        case SF_FORMAT_MPC2K: return "MPC2K";
        case SF_FORMAT_RF64: return "RF64";
        case SF_FORMAT_MPEG: return "MPEG";
        default: return "UNKNOWN";
    }
}

const char* encoding_name(int sf_format) {
    switch (sf_format & SF_FORMAT_SUBMASK) {
        case SF_FORMAT_PCM_S8: return "PCM_S8";
        case SF_FORMAT_PCM_16: return "PCM_16";
        case SF_FORMAT_PCM_24: return "PCM_24";
        case SF_FORMAT_PCM_32: return "PCM_32";
        case SF_FORMAT_PCM_U8: return "PCM_U8";
        case SF_FORMAT_FLOAT: return "FLOAT";
        case SF_FORMAT_DOUBLE: return "DOUBLE";
        case SF_FORMAT_ULAW: return "ULAW";
        case SF_FORMAT_ALAW: return "ALAW";
        case SF_FORMAT_IMA_ADPCM: return "IMA_ADPCM";
        case SF_FORMAT_MS_ADPCM: return "MS_ADPCM";
        case SF_FORMAT_GSM610: return "GSM610";
        case SF_FORMAT_VOX_ADPCM: return "VOX_ADPCM";
        case SF_FORMAT_NMS_ADPCM_16: return "NMS_ADPCM_16";
        case SF_FORMAT_NMS_ADPCM_24: return "NMS_ADPCM_24";
        case SF_FORMAT_NMS_ADPCM_32: return "NMS_ADPCM_32";
        case SF_FORMAT_G721_32: return "G721_32";
        case SF_FORMAT_G723_24: return "G723_24";
        case SF_FORMAT_G723_40: return "G723_40";
        case SF_FORMAT_DWVW_12: return "DWVW_12";
        case SF_FORMAT_DWVW_16: return "DWVW_16";
        case SF_FORMAT_DWVW_24: return "DWVW_24";
        case SF_FORMAT_DWVW_N: return "DWVW_N";
        case SF_FORMAT_DPCM_8: return "DPCM_8";
        case SF_FORMAT_DPCM_16: return "DPCM_16";
        case SF_FORMAT_VORBIS: return "VORBIS";
        case SF_FORMAT_OPUS: return "OPUS";
        case SF_FORMAT_ALAC_16: return "ALAC_16";
        case SF_FORMAT_ALAC_20: return "ALAC_20";
        case SF_FORMAT_ALAC_24: return "ALAC_24";
        case SF_FORMAT_ALAC_32: return "ALAC_32";
        case SF_FORMAT_MPEG_LAYER_I: return "MPEG_LAYER_I";
        case SF_FORMAT_MPEG_LAYER_II: return "MPEG_LAYER_II";
        case SF_FORMAT_MPEG_LAYER_III: return "MPEG_LAYER_III";
        default: return "UNKNOWN";
    }
}

SampleFormat nearest_sample_format(int sf_format) {
    switch (sf_format & SF_FORMAT_SUBMASK) {
        case SF_FORMAT_PCM_16: return SampleFormat::Pcm16;
        case SF_FORMAT_PCM_24: return SampleFormat::Pcm24;
        case SF_FORMAT_PCM_32: return SampleFormat::Pcm32;
        case SF_FORMAT_FLOAT:
        case SF_FORMAT_DOUBLE: return SampleFormat::Float32;
        default: return SampleFormat::Pcm16;  // 8-bit, lossy and everything else
    }
}

// Bytes one frame occupies on disk for plain sample encodings; 0 when the
// encoding is compressed and a byte count does not map to frames.
int bytes_per_frame(int sf_format, int channels) {
    switch (sf_format & SF_FORMAT_SUBMASK) {
        case SF_FORMAT_PCM_S8:
        case SF_FORMAT_PCM_U8:
        case SF_FORMAT_ULAW:
        case SF_FORMAT_ALAW: return channels;
        case SF_FORMAT_PCM_16: return 2 * channels;
        case SF_FORMAT_PCM_24: return 3 * channels;
        case SF_FORMAT_PCM_32:
        case SF_FORMAT_FLOAT: return 4 * channels;
        case SF_FORMAT_DOUBLE: return 8 * channels;
        default: return 0;
    }
}

// The integer (decimal or 0x hex) that follows `marker` in `line`, skipping spaces and "(".
std::optional<long long> number_after(std::string_view line, std::string_view marker) {
    const std::size_t at = line.find(marker);
    if (at == std::string_view::npos) return std::nullopt;
    const std::string rest(line.substr(at + marker.size()));
    const char* begin = rest.c_str();
    while (*begin == ' ' || *begin == '(') ++begin;
    char* end = nullptr;
    const long long value = std::strtoll(begin, &end, 0);
    if (end == begin) return std::nullopt;
    return value;
}

// Header sizes that streaming writers put in when they cannot seek back to
// fill in the real size; they mean "until the end of the file", not truncation.
bool is_unknown_size_marker(long long bytes) {
    return bytes == 0xFFFFFFFFLL || bytes == 0x7FFFFFFFLL || bytes == 0x7FFFF000LL;
}

struct Truncation {
    std::int64_t header_frames = -1;  ///< What the header claims; -1 if not known.
};

// Looks for libsndfile's notes that the header claims more data than the file
// holds. The log texts are those of libsndfile's WAV, AIFF, AU, W64 and RF64
// parsers (stable for many releases; checked with 1.2.0). A frame count stated
// in the log is preferred over one derived from byte sizes.
std::optional<Truncation> truncation_from_log(SNDFILE* file, const SF_INFO& sf_info) {
    std::string log(16384, '\0');
    sf_command(file, SFC_GET_LOG_INFO, log.data(), static_cast<int>(log.size()));
    log.resize(std::min(log.find('\0'), log.size()));

    const int frame_bytes = bytes_per_frame(sf_info.format, sf_info.channels);
    const bool is_w64 = (sf_info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_W64;
    std::optional<Truncation> found;
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
        std::string_view text(line);
        while (!text.empty() && text.front() == ' ') text.remove_prefix(1);

        // "data : 192000 (should be 95978)" and the like: sizes in bytes.
        std::string_view label = text.substr(0, text.find(':'));
        while (!label.empty() && label.back() == ' ') label.remove_suffix(1);
        const bool size_line = label == "data" || label == "SSND" || label == "Data Size" ||
                               (is_w64 && label == "riff");
        if (size_line && text.find("(should be") != std::string_view::npos) {
            const auto claimed = number_after(text, ":");
            const auto actual = number_after(text, "should be");
            if (!claimed || !actual || *actual >= *claimed || is_unknown_size_marker(*claimed)) continue;
            if (!found) found = Truncation{};
            if (frame_bytes > 0 && found->header_frames < 0)
                // Rounded up: libsndfile's frame count already dropped a partial frame.
                found->header_frames = sf_info.frames + (*claimed - *actual + frame_bytes - 1) / frame_bytes;
            continue;
        }
        // AIFF: "Frame count read from 'COMM' chunk (96000) not equal to ...";
        // RF64: "Calculated frame count 47974 does not match value from 'ds64' chunk of 96000."
        std::optional<long long> frames;
        if (text.find("Frame count read from 'COMM' chunk") != std::string_view::npos)
            frames = number_after(text, "chunk");
        else if (text.find("does not match value from 'ds64' chunk of") != std::string_view::npos)
            frames = number_after(text, "chunk of");
        if (frames && *frames > sf_info.frames) return Truncation{*frames};
    }
    return found;
}

// libsndfile's error texts read "Error : flac decoder lost sync."; keep the
// part that says what happened.
std::string libsndfile_text(std::string text) {
    if (text.starts_with("Error : ")) text.erase(0, 8);
    while (!text.empty() && (text.back() == '.' || text.back() == ' ')) text.pop_back();
    return "libsndfile: " + text;
}

std::string truncated_message(double rate_hz, std::int64_t header_frames, std::int64_t held_frames) {
    std::string text = "file is truncated: ";
    if (header_frames >= 0)
        text += "the header says " + seconds_text(double(header_frames) / rate_hz) + " (" +
                std::to_string(header_frames) + " frames) but the file holds only " +
                seconds_text(double(held_frames) / rate_hz) + " (" + std::to_string(held_frames) +
                " frames)";
    else
        text += "the header says there is more audio than the file holds";
    return text;
}

// Serialises sf_open_fd and the reading of its global error (not per thread
// in libsndfile). Opening is set-up, never on a real-time path.
std::mutex& libsndfile_open_mutex() {
    static std::mutex mutex;
    return mutex;
}

// An open libsndfile handle together with the descriptor it reads from. We
// open the descriptor ourselves so that a failure to open is reported with the
// system's reason (e.g. "Permission denied").
struct SoundFile {
    int fd = -1;
    bool fd_is_ours = true;  // false once handed to sf_open_fd, which closes it
    SNDFILE* file = nullptr;
    SF_INFO sf_info{};

    SoundFile() = default;
    SoundFile(const SoundFile&) = delete;
    SoundFile& operator=(const SoundFile&) = delete;
    ~SoundFile() {
        if (file) sf_close(file);
        if (fd >= 0 && fd_is_ours) ::close(fd);
    }
};

// Opens `path` for reading and validates what the header tells: format, rate,
// sample count, completeness. Fills `info`.
void open_for_reading(const std::string& path, SoundFile& sound, AudioInfo& info) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) fail(path, "no such file");
    if (fs::is_directory(status)) fail(path, "is a folder, not an audio file");
    // libsndfile calls an empty file unrecognised; saying it is empty points at the cause
    // (an interrupted copy, a writer that never wrote).
    if (fs::is_regular_file(status) && fs::file_size(path, ec) == 0)
        fail(path, "not a recognised audio file: the file is empty (0 bytes)");

    sound.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (sound.fd < 0) fail(path, "cannot be opened: " + errno_text(errno));

    // libsndfile owns the descriptor from here: 1.2.0 (Debian 12) closes it
    // when sf_open_fd fails even if told not to (libsndfile issue #949), so
    // closing it again ourselves would close whatever another thread opened
    // meanwhile under the same number.
    int code = SF_ERR_NO_ERROR;
    std::string detail;
    {
        // A failed open's reason is in libsndfile's one global error slot,
        // which any other thread's open overwrites: open and read it alone.
        std::lock_guard lock(libsndfile_open_mutex());
        sound.file = sf_open_fd(sound.fd, SFM_READ, &sound.sf_info, SF_TRUE);
        if (!sound.file) {
            code = sf_error(nullptr);
            detail = libsndfile_text(sf_strerror(nullptr));
        }
    }
    sound.fd_is_ours = false;  // still read (lseek, fstat) while the file is open
    if (!sound.file) {
        switch (code) {
            case SF_ERR_UNRECOGNISED_FORMAT: fail(path, "not a recognised audio file");
            case SF_ERR_MALFORMED_FILE:
                fail(path, "not a recognised audio file: the format is known but the file is "
                           "damaged or truncated (" + detail + ")");
            case SF_ERR_UNSUPPORTED_ENCODING:
                fail(path, "the audio encoding is not supported (" + detail + ")");
            default: fail(path, "cannot be read (" + detail + ")");
        }
    }

    const SF_INFO& sf = sound.sf_info;
    info.path = path;
    info.sample_rate_hz = sf.samplerate;
    info.channels = sf.channels;
    info.frames = sf.frames;
    info.container = container_name(sf.format);
    info.encoding = encoding_name(sf.format);
    info.sample_format = nearest_sample_format(sf.format);

    if (sf.samplerate < kMinInputRateHz || sf.samplerate > kMaxInputRateHz)
        fail(path, "sample rate " + std::to_string(sf.samplerate) + " Hz is outside " +
                       std::to_string(kMinInputRateHz) + ".." + std::to_string(kMaxInputRateHz) + " Hz");
    if (sf.channels < 1) fail(path, "has no audio channels");
    // libsndfile takes an Ogg stream's length from its last page; without
    // that page the stream was cut off.
    if (sf.frames == SF_COUNT_MAX) {
        if ((sf.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_OGG)
            fail(path, "file is truncated: the stream has no end, so its length is unknown");
        fail(path, "file is damaged or truncated: the length of its audio is unknown");
    }
    if (const auto truncation = truncation_from_log(sound.file, sf))
        fail(path, truncated_message(sf.samplerate, truncation->header_frames, sf.frames));
    if (sf.frames <= 0) fail(path, "contains no samples");
}

}  // namespace

// ---------------------------------------------------------------------------
// Sample format names

const char* to_string(SampleFormat format) {
    switch (format) {
        case SampleFormat::Pcm16: return "pcm16";
        case SampleFormat::Pcm24: return "pcm24";
        case SampleFormat::Pcm32: return "pcm32";
        case SampleFormat::Float32: return "float";
    }
    return "unknown";
}

SampleFormat parse_sample_format(const std::string& name) {
    for (SampleFormat format :
         {SampleFormat::Pcm16, SampleFormat::Pcm24, SampleFormat::Pcm32, SampleFormat::Float32})
        if (name == to_string(format)) return format;
    throw Error("sample format '" + name + "' is not known (use pcm16, pcm24, pcm32 or float)");
}

// ---------------------------------------------------------------------------
// Reading

AudioInfo probe_audio_file(const std::string& path) {
    SoundFile sound;
    AudioInfo info;
    open_for_reading(path, sound, info);
    return info;
}

struct AudioFileReader::Impl {
    SoundFile sound;
    AudioInfo info;
    int channel = -1;  // -1: mean of all channels
    int output_rate_hz = 0;
    // MP3 frame counts may be estimates, so a short stream is not called truncated.
    bool frame_count_is_exact = true;

    std::size_t block_frames = 0;
    std::vector<float> interleaved;  // one block as libsndfile delivers it
    std::vector<float> mono;         // the same block reduced to one channel
    std::optional<Resampler> resampler;

    std::vector<float> pending;  // output ready to hand out
    std::size_t pending_pos = 0;
    std::int64_t frames_read = 0;
    bool input_done = false;  // file read to the end and resampler flushed
    std::string error;        // once a read failed, later calls repeat the error

    [[noreturn]] void fail_here(const std::string& cause) const { fail(info.path, cause); }

    // Whether the decoder has read the file to its last byte.
    bool reached_end_of_file() const {
        struct stat file_status {};
        const off_t position = ::lseek(sound.fd, 0, SEEK_CUR);
        return position >= 0 && ::fstat(sound.fd, &file_status) == 0 && position >= file_status.st_size;
    }

    // Throws when a sample that goes into the output is not audio
    // (dsp/sample_check.hpp: NaN, infinity, +120 dBFS or more). The whole
    // block is checked in one vectorised pass; only a block that fails it is
    // searched for the sample to name (and only the channels used count).
    void check_finite(std::size_t frames) const {
        const std::size_t channels = static_cast<std::size_t>(info.channels);
        if (dsp::all_audio(std::span<const float>(interleaved.data(), frames * channels))) return;
        const std::size_t first = channel < 0 ? 0 : static_cast<std::size_t>(channel);
        const std::size_t last = channel < 0 ? channels : first + 1;
        for (std::size_t i = 0; i < frames; ++i)
            for (std::size_t c = first; c < last; ++c) {
                const float x = interleaved[i * channels + c];
                if (dsp::is_audio(x)) continue;
                const std::int64_t index = frames_read + static_cast<std::int64_t>(i);
                std::string cause = "sample " + std::to_string(index) + " at " +
                                    seconds_text(double(index) / info.sample_rate_hz) + dsp::sample_fault(x);
                if (channels > 1) cause += " (channel " + std::to_string(c) + ")";
                fail_here(cause);
            }
    }

    void to_mono(std::size_t frames) {
        const std::size_t channels = static_cast<std::size_t>(info.channels);
        if (channels == 1) {
            std::copy_n(interleaved.begin(), frames, mono.begin());
        } else if (channel >= 0) {
            for (std::size_t i = 0; i < frames; ++i)
                mono[i] = interleaved[i * channels + static_cast<std::size_t>(channel)];
        } else {
            for (std::size_t i = 0; i < frames; ++i) {
                double sum = 0.0;
                for (std::size_t c = 0; c < channels; ++c) sum += interleaved[i * channels + c];
                mono[i] = static_cast<float>(sum / double(channels));
            }
        }
    }

    // Decodes the next block into `pending`; at the end of the file, flushes
    // the resampler and sets input_done.
    void refill() {
        const sf_count_t got =
            sf_readf_float(sound.file, interleaved.data(), static_cast<sf_count_t>(block_frames));
        if (sf_error(sound.file) != SF_ERR_NO_ERROR) {
            const std::int64_t held = frames_read + std::max<sf_count_t>(got, 0);
            const std::string detail = libsndfile_text(sf_strerror(sound.file));
            // A decoder that failed after reading everything was cut short;
            // one that failed earlier met damaged data.
            if (frame_count_is_exact && held < info.frames && reached_end_of_file())
                fail_here(truncated_message(info.sample_rate_hz, info.frames, held) + " (" + detail + ")");
            fail_here("damaged audio data: decoding failed at " +
                      seconds_text(double(held) / info.sample_rate_hz) + " (" + detail + ")");
        }
        if (got > 0) {
            const std::size_t frames = static_cast<std::size_t>(got);
            check_finite(frames);
            to_mono(frames);
            frames_read += got;
            const std::span<const float> block(mono.data(), frames);
            if (resampler)
                resampler->process(block, pending);
            else
                pending.insert(pending.end(), block.begin(), block.end());
            return;
        }
        // End of the decoded data.
        if (frame_count_is_exact && frames_read < info.frames)
            fail_here(truncated_message(info.sample_rate_hz, info.frames, frames_read));
        if (resampler) resampler->flush(pending);
        input_done = true;
    }
};

AudioFileReader::AudioFileReader(const std::string& path, const ReadOptions& options)
    : impl_(std::make_unique<Impl>()) {
    Impl& r = *impl_;
    open_for_reading(path, r.sound, r.info);

    if (options.channel < -1 || options.channel >= r.info.channels) {
        // Said both ways: ReadOptions::channel counts from 0, the CLI's --channel from 1.
        std::string channel = "channel index " + std::to_string(options.channel) + " (counted from 0";
        if (options.channel >= 0) channel += "; channel " + std::to_string(options.channel + 1) + " counted from 1";
        fail(path, channel + ") does not exist: the file has " + std::to_string(r.info.channels) +
                       (r.info.channels == 1 ? " channel" : " channels") + " (index -1 mixes all)");
    }
    if (options.target_rate_hz != 0 && (options.target_rate_hz < 1000 || options.target_rate_hz > 1000000))
        fail(path, "target sample rate " + std::to_string(options.target_rate_hz) +
                       " Hz is outside 1000..1000000 Hz");

    if (!(options.rate_scale > 0.5 && options.rate_scale < 2.0))
        fail(path, "rate scale " + std::to_string(options.rate_scale) + " is outside (0.5, 2)");

    r.channel = options.channel;
    r.output_rate_hz = options.target_rate_hz == 0 ? r.info.sample_rate_hz : options.target_rate_hz;
    r.frame_count_is_exact = (r.sound.sf_info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG;
    const double input_rate_hz = r.info.sample_rate_hz * options.rate_scale;
    if (double(r.output_rate_hz) != input_rate_hz) r.resampler.emplace(input_rate_hz, r.output_rate_hz);

    // About 64k samples per block whatever the channel count, at most 4096 frames.
    r.block_frames = std::clamp<std::size_t>(65536 / static_cast<std::size_t>(r.info.channels), 16, 4096);
    r.interleaved.resize(r.block_frames * static_cast<std::size_t>(r.info.channels));
    r.mono.resize(r.block_frames);
}

AudioFileReader::~AudioFileReader() = default;
AudioFileReader::AudioFileReader(AudioFileReader&&) noexcept = default;
AudioFileReader& AudioFileReader::operator=(AudioFileReader&&) noexcept = default;

const AudioInfo& AudioFileReader::info() const {
    if (!impl_) throw Error("AudioFileReader used after being moved from");
    return impl_->info;
}

int AudioFileReader::output_rate_hz() const {
    if (!impl_) throw Error("AudioFileReader used after being moved from");
    return impl_->output_rate_hz;
}

std::size_t AudioFileReader::read(std::span<float> out) {
    if (!impl_) throw Error("AudioFileReader used after being moved from");
    Impl& r = *impl_;
    if (!r.error.empty()) throw Error(r.error);

    std::size_t written = 0;
    while (written < out.size()) {
        if (r.pending_pos < r.pending.size()) {
            const std::size_t n = std::min(out.size() - written, r.pending.size() - r.pending_pos);
            std::copy_n(r.pending.begin() + static_cast<std::ptrdiff_t>(r.pending_pos), n,
                        out.begin() + static_cast<std::ptrdiff_t>(written));
            r.pending_pos += n;
            written += n;
            continue;
        }
        // clear() keeps the capacity, so `pending` stops growing after the first blocks.
        r.pending.clear();
        r.pending_pos = 0;
        if (r.input_done) break;
        try {
            r.refill();
        } catch (const Error& e) {
            r.error = e.what();
            throw;
        }
    }
    return written;
}

std::vector<float> read_audio_file(const std::string& path, const ReadOptions& options, AudioInfo* info) {
    AudioFileReader reader(path, options);
    const AudioInfo& file_info = reader.info();
    std::vector<float> samples;
    samples.reserve(static_cast<std::size_t>(std::llround(
        double(file_info.frames) * reader.output_rate_hz() / file_info.sample_rate_hz)));
    constexpr std::size_t kChunk = 65536;
    for (;;) {
        const std::size_t old_size = samples.size();
        samples.resize(old_size + kChunk);
        const std::size_t got = reader.read(std::span<float>(samples.data() + old_size, kChunk));
        samples.resize(old_size + got);
        if (got == 0) break;
    }
    if (info) *info = file_info;
    return samples;
}

// ---------------------------------------------------------------------------
// Writing

struct AudioFileWriter::Impl {
    std::string path;
    io::TempFile temp;
    SampleFormat format = SampleFormat::Pcm16;
    SNDFILE* file = nullptr;
    bool committed = false;
    std::int64_t frames_written = 0;
    std::vector<short> pcm16;  // conversion scratch, one chunk
    std::vector<int> pcm32;

    ~Impl() { discard(); }

    // Closes everything and removes the temporary file unless it was committed.
    void discard() noexcept {
        if (file) sf_close(file);
        file = nullptr;
        io::discard_temp(temp);
    }

    [[noreturn]] void fail_here(const std::string& cause) { fail(path, cause); }

    void check_written(sf_count_t written, std::size_t wanted) {
        if (written != static_cast<sf_count_t>(wanted))
            fail_here("writing failed (" + libsndfile_text(sf_strerror(file)) + ")");
    }

    void write_chunk(std::span<const float> samples) {
        const std::size_t n = samples.size();
        switch (format) {
            case SampleFormat::Pcm16:
                // v * 32768, so that 16-bit input x / 32768 comes back as x.
                for (std::size_t i = 0; i < n; ++i)
                    pcm16[i] = static_cast<short>(
                        std::clamp(std::round(double(samples[i]) * 32768.0), -32768.0, 32767.0));
                check_written(sf_write_short(file, pcm16.data(), static_cast<sf_count_t>(n)), n);
                break;
            case SampleFormat::Pcm24:
                // Rounded to 24 bits here: libsndfile keeps the top 24 bits of
                // an int and would otherwise truncate instead of rounding.
                for (std::size_t i = 0; i < n; ++i)
                    pcm32[i] = static_cast<int>(std::clamp(std::round(double(samples[i]) * 8388608.0),
                                                           -8388608.0, 8388607.0)) * 256;
                check_written(sf_write_int(file, pcm32.data(), static_cast<sf_count_t>(n)), n);
                break;
            case SampleFormat::Pcm32:
                for (std::size_t i = 0; i < n; ++i)
                    pcm32[i] = static_cast<int>(std::clamp(std::round(double(samples[i]) * 2147483648.0),
                                                           -2147483648.0, 2147483647.0));
                check_written(sf_write_int(file, pcm32.data(), static_cast<sf_count_t>(n)), n);
                break;
            case SampleFormat::Float32:
                check_written(sf_write_float(file, samples.data(), static_cast<sf_count_t>(n)), n);
                break;
        }
    }
};


AudioFileWriter::AudioFileWriter(const std::string& path, int sample_rate_hz, SampleFormat format)
    : impl_(std::make_unique<Impl>()) {
    Impl& w = *impl_;
    w.path = path;
    w.format = format;

    const fs::path target(path);
    const std::string extension = to_lower(target.extension().string());
    int container = 0;
    if (extension == ".wav")
        container = SF_FORMAT_WAV;
    else if (extension == ".flac")
        container = SF_FORMAT_FLAC;
    else if (extension.empty())
        fail(path, "has no extension; use .wav or .flac");
    else
        fail(path, "unsupported output extension '" + target.extension().string() + "' (use .wav or .flac)");

    int encoding = 0;
    switch (format) {
        case SampleFormat::Pcm16: encoding = SF_FORMAT_PCM_16; break;
        case SampleFormat::Pcm24: encoding = SF_FORMAT_PCM_24; break;
        case SampleFormat::Pcm32: encoding = SF_FORMAT_PCM_32; break;
        case SampleFormat::Float32: encoding = SF_FORMAT_FLOAT; break;
    }
    if (container == SF_FORMAT_FLAC && format != SampleFormat::Pcm16 && format != SampleFormat::Pcm24)
        fail(path, std::string("FLAC cannot hold ") + to_string(format) + " samples (use pcm16 or pcm24)");
    if (sample_rate_hz < 1 || (container == SF_FORMAT_FLAC && sample_rate_hz > 655350))
        fail(path, "sample rate " + std::to_string(sample_rate_hz) + " Hz cannot be written");

    w.temp = io::create_temp_beside(path);

    SF_INFO sf_info{};
    sf_info.samplerate = sample_rate_hz;
    sf_info.channels = 1;
    sf_info.format = container | encoding;
    if (!sf_format_check(&sf_info)) fail(path, "this format cannot be written");  // ~Impl removes the temp
    // libsndfile gets a descriptor of its own (it may close what it is given
    // on failure, libsndfile issue #949); temp.fd stays ours for the fsync
    // and close of commit_temp().
    const int sound_fd = ::dup(w.temp.fd);
    if (sound_fd < 0) fail(path, "cannot be written: " + errno_text(errno));
    std::string detail;
    {
        std::lock_guard lock(libsndfile_open_mutex());  // see open_for_reading()
        w.file = sf_open_fd(sound_fd, SFM_WRITE, &sf_info, SF_TRUE);
        if (!w.file) detail = libsndfile_text(sf_strerror(nullptr));
    }
    if (!w.file) fail(path, "cannot be written (" + detail + ")");

    constexpr std::size_t kChunk = 4096;
    if (format == SampleFormat::Pcm16) w.pcm16.resize(kChunk);
    if (format == SampleFormat::Pcm24 || format == SampleFormat::Pcm32) w.pcm32.resize(kChunk);
}

AudioFileWriter::~AudioFileWriter() = default;
AudioFileWriter::AudioFileWriter(AudioFileWriter&&) noexcept = default;
AudioFileWriter& AudioFileWriter::operator=(AudioFileWriter&&) noexcept = default;

void AudioFileWriter::write(std::span<const float> samples) {
    if (!impl_) throw Error("AudioFileWriter used after being moved from");
    Impl& w = *impl_;
    if (!w.file) w.fail_here(w.committed ? "write() after commit()" : "write() after a failed commit()");

    // NaN/Inf have no integer value and would spoil a float file; refuse them.
    for (std::size_t i = 0; i < samples.size(); ++i)
        if (!std::isfinite(samples[i]))
            w.fail_here("sample " + std::to_string(w.frames_written + static_cast<std::int64_t>(i)) +
                        " is not a finite number");

    constexpr std::size_t kChunk = 4096;
    for (std::size_t at = 0; at < samples.size(); at += kChunk)
        w.write_chunk(samples.subspan(at, std::min(kChunk, samples.size() - at)));
    w.frames_written += static_cast<std::int64_t>(samples.size());
}

void AudioFileWriter::commit() {
    if (!impl_) throw Error("AudioFileWriter used after being moved from");
    Impl& w = *impl_;
    if (w.committed) return;
    if (!w.file) w.fail_here("commit() after a failed commit()");

    // sf_close writes the final header (and the FLAC encoder's last frames).
    const int close_error = sf_close(w.file);
    w.file = nullptr;
    if (close_error != SF_ERR_NO_ERROR)
        w.fail_here("finishing the file failed (" + libsndfile_text(sf_error_number(close_error)) + ")");
    io::commit_temp(w.temp, w.path);
    w.committed = true;
}

void write_audio_file(const std::string& path, std::span<const float> samples, int sample_rate_hz,
                      SampleFormat format) {
    AudioFileWriter writer(path, sample_rate_hz, format);
    writer.write(samples);
    writer.commit();
}

}  // namespace sibilant
