// libFuzzer target: arbitrary bytes as an audio file through
// AudioFileReader: every container libsndfile opens, then our mix-down or
// channel pick, the NaN/infinity check and the libsoxr resampler.
//
// Input: byte 0 picks the options (bits 0-2 channel: -1 mix-down, else
// 0..6; bits 3-4 output rate: 48000, the file's own, 8000, 44100; bit 5 a
// rate scale of 1.001), bytes 1.. are the file. Blocks of 1..4096 samples
// (from byte 0 too) are read until the end, or 4 M samples.
//
// Besides ASan and UBSan it checks the reader's promises: sibilant::Error is
// the only exception; the header's facts are sane; read() fills at most
// what it was given and only with finite samples (a NaN in the file is an
// Error, not a sample).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using sibilant::fuzz::fail;
    if (size < 1) return 0;
    static constexpr int kRates[4] = {48000, 0, 8000, 44100};
    sibilant::ReadOptions options;
    options.channel = (data[0] & 7) == 0 ? -1 : (data[0] & 7) - 1;
    options.target_rate_hz = kRates[(data[0] >> 3) & 3];
    options.rate_scale = (data[0] & 32) ? 1.001 : 1.0;
    const std::size_t block = 1 + (std::size_t(data[0]) * 37 % 4096);
    const sibilant::fuzz::MemoryFile file(data + 1, size - 1);
    try {
        sibilant::AudioFileReader reader(file.path(), options);
        const sibilant::AudioInfo& info = reader.info();
        if (info.channels < 1 || info.sample_rate_hz < 1 || info.frames < 0) fail("fuzz_audio_file", "header facts");
        if (options.channel >= info.channels) fail("fuzz_audio_file", "a channel the file lacks was accepted");
        const int rate = reader.output_rate_hz();
        if (rate != (options.target_rate_hz ? options.target_rate_hz : info.sample_rate_hz))
            fail("fuzz_audio_file", "output rate");
        std::vector<float> out(block);
        for (std::size_t total = 0, n; total < (std::size_t(1) << 22) && (n = reader.read(out)) > 0; total += n) {
            if (n > out.size()) fail("fuzz_audio_file", "read more than the block");
            for (std::size_t i = 0; i < n; ++i)
                if (!std::isfinite(out[i])) fail("fuzz_audio_file", "non-finite sample handed out");
        }
    } catch (const sibilant::Error&) {
        // A bad file: the reader said so, naming it.
    }
    return 0;
}
