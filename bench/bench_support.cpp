#include "bench_support.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "sibilant/audio.hpp"

namespace sibilant::bench {

namespace {
std::filesystem::path speech_dir() { return std::filesystem::path(SIBILANT_TESTDATA_DIR) / "speech"; }
}  // namespace

std::vector<std::vector<float>> load_test_speech_clips(int rate_hz) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(speech_dir(), ec))
        if (entry.path().extension() == ".flac") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<std::vector<float>> clips;
    ReadOptions read;
    read.target_rate_hz = rate_hz;
    for (const auto& file : files) {
        try {
            clips.push_back(read_audio_file(file.string(), read));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "skipping %s: %s\n", file.string().c_str(), e.what());
        }
    }
    if (clips.empty()) {
        std::fprintf(stderr, "no readable testdata/speech/*.flac in %s\n", speech_dir().string().c_str());
        std::exit(1);
    }
    return clips;
}

std::vector<float> test_speech_repeated(double seconds, int rate_hz, std::string& source) {
    const auto clips = load_test_speech_clips(rate_hz);
    std::vector<float> joined;
    for (const auto& clip : clips) joined.insert(joined.end(), clip.begin(), clip.end());
    const auto total = static_cast<std::size_t>(seconds * rate_hz);
    std::vector<float> out;
    out.reserve(total);
    while (out.size() < total) {
        const std::size_t n = std::min(joined.size(), total - out.size());
        out.insert(out.end(), joined.begin(), joined.begin() + static_cast<long>(n));
    }
    source = std::to_string(clips.size()) + " file(s) from " + speech_dir().string() + " (" +
             std::to_string(static_cast<double>(joined.size()) / rate_hz) + " s), repeated to " +
             std::to_string(static_cast<int>(seconds)) + " s";
    return out;
}

double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace sibilant::bench
