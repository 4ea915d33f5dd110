#include "test_support.hpp"

#include "sibilant/audio.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <numbers>
#include <random>
#include <stdexcept>

#include <opus/opus.h>

namespace sibilant::test {

namespace fs = std::filesystem;

fs::path testdata_dir() { return fs::path(SIBILANT_TESTDATA_DIR); }

std::vector<float> testdata_speech(const std::string& file) {
    return read_audio_file((testdata_dir() / "speech" / file).string());
}

fs::path shared_dir() {
    fs::path dir(SIBILANT_SHARED_DIR);
    std::error_code ec;
    return fs::is_directory(dir / "corpus", ec) ? dir : fs::path();
}

fs::path cli_path() { return fs::path(SIBILANT_CLI_PATH); }

TempDir::TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sibilant-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::vector<float> sine(double frequency_hz, double seconds, int rate_hz, double amplitude) {
    std::vector<float> x(static_cast<std::size_t>(seconds * rate_hz));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>(amplitude * std::sin(2.0 * std::numbers::pi * frequency_hz * double(i) / rate_hz));
    return x;
}

std::vector<float> white_noise(double seconds, int rate_hz, std::uint64_t seed, double amplitude) {
    std::mt19937_64 rng(seed);
    std::vector<float> x(static_cast<std::size_t>(seconds * rate_hz));
    for (auto& v : x) {
        double u = double(rng() >> 11) * 0x1.0p-53;  // [0, 1)
        v = static_cast<float>(amplitude * (2.0 * u - 1.0));
    }
    return x;
}

// Two-pole resonator (bandwidth bw_hz), applied in place.
void resonate(std::vector<double>& x, double centre_hz, double bw_hz, int rate_hz) {
    const double r = std::exp(-std::numbers::pi * bw_hz / rate_hz);
    const double a1 = -2.0 * r * std::cos(2.0 * std::numbers::pi * centre_hz / rate_hz);
    const double a2 = r * r;
    double y1 = 0, y2 = 0;
    for (auto& v : x) {
        const double y = (1.0 - r) * v - a1 * y1 - a2 * y2;
        y2 = y1;
        y1 = y;
        v = y;
    }
}

std::vector<float> speech_like(double seconds, int rate_hz, std::uint64_t seed) {
    const std::size_t n = static_cast<std::size_t>(seconds * rate_hz);
    std::vector<double> voiced(n, 0.0);
    const std::size_t period = static_cast<std::size_t>(rate_hz / 150.0);
    for (std::size_t i = 0; i < n; i += period) voiced[i] = 1.0;
    std::vector<double> f1 = voiced, f2 = voiced;
    resonate(f1, 700, 100, rate_hz);
    resonate(f2, 1200, 120, rate_hz);

    std::vector<float> noise = white_noise(seconds, rate_hz, seed, 1.0);
    std::vector<double> fric(noise.begin(), noise.end());
    resonate(fric, 6500, 2500, rate_hz);

    std::vector<float> out(n);
    const std::size_t cycle = static_cast<std::size_t>(0.5 * rate_hz);
    const std::size_t fric_len = static_cast<std::size_t>(0.15 * rate_hz);
    for (std::size_t i = 0; i < n; ++i) {
        const bool in_fricative = (i % cycle) >= cycle - fric_len;
        const double v = in_fricative ? 0.8 * fric[i] : 0.6 * (f1[i] + f2[i]);
        out[i] = static_cast<float>(std::clamp(v, -0.99, 0.99));
    }
    return out;
}

int best_lag(const std::vector<float>& x, const std::vector<float>& y, int max_lag) {
    int best = 0;
    double best_value = -1e300;
    const long n = static_cast<long>(std::min(x.size(), y.size()));
    for (int lag = -max_lag; lag <= max_lag; ++lag) {
        double sum = 0;
        const long begin = std::max(0L, -static_cast<long>(lag));
        const long end = std::min(n, n - lag);
        for (long i = begin; i < end; ++i)
            sum += static_cast<double>(x[static_cast<std::size_t>(i)]) * y[static_cast<std::size_t>(i + lag)];
        if (sum > best_value) {
            best_value = sum;
            best = lag;
        }
    }
    return best;
}

double rms(const std::vector<float>& x) {
    if (x.empty()) return 0.0;
    double s = 0;
    for (float v : x) s += double(v) * v;
    return std::sqrt(s / double(x.size()));
}

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::vector<std::uint8_t>> opus_packets(const std::vector<float>& signal_48k, int bitrate_bps) {
    constexpr int kFrame = 960;
    int err = 0;
    OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
    if (err != OPUS_OK) throw std::runtime_error("opus_encoder_create failed");
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(bitrate_bps));
    std::vector<std::vector<std::uint8_t>> packets;
    std::vector<float> frame(kFrame);
    std::uint8_t buffer[1500];
    for (std::size_t pos = 0; pos < signal_48k.size(); pos += kFrame) {
        std::fill(frame.begin(), frame.end(), 0.0f);
        const std::size_t n = std::min<std::size_t>(kFrame, signal_48k.size() - pos);
        std::copy_n(signal_48k.begin() + static_cast<std::ptrdiff_t>(pos), n, frame.begin());
        const int bytes = opus_encode_float(enc, frame.data(), kFrame, buffer, sizeof buffer);
        if (bytes < 0) {
            opus_encoder_destroy(enc);
            throw std::runtime_error("opus_encode_float failed");
        }
        packets.emplace_back(buffer, buffer + bytes);
    }
    opus_encoder_destroy(enc);
    return packets;
}

const std::vector<std::vector<std::uint8_t>>& demo_opus_packets(int bitrate_bps) {
    static std::mutex mutex;
    static std::map<int, std::vector<std::vector<std::uint8_t>>> made;
    std::lock_guard lock(mutex);
    auto found = made.find(bitrate_bps);
    if (found == made.end())
        found = made.emplace(bitrate_bps, opus_packets(read_audio_file((testdata_dir() / "speech" / "demo.flac").string()),
                                                       bitrate_bps)).first;
    return found->second;
}

std::vector<std::uint8_t> rtp_packet(const RtpFields& f, const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> p;
    const bool extension = f.extension_words >= 0;
    p.push_back(std::uint8_t(0x80 | (f.padding_bytes > 0 ? 0x20 : 0) | (extension ? 0x10 : 0) | f.csrc_count));
    p.push_back(std::uint8_t((f.marker ? 0x80 : 0) | f.payload_type));
    auto put16 = [&](std::uint32_t v) {
        p.push_back(std::uint8_t(v >> 8));
        p.push_back(std::uint8_t(v));
    };
    auto put32 = [&](std::uint32_t v) {
        put16(v >> 16);
        put16(v & 0xffff);
    };
    put16(f.sequence);
    put32(f.timestamp);
    put32(f.ssrc);
    for (int i = 0; i < f.csrc_count; ++i) put32(0xc0000000u + std::uint32_t(i));
    if (extension) {
        put16(0xBEDE);
        put16(std::uint32_t(f.extension_words));
        for (int i = 0; i < f.extension_words; ++i) put32(0xa5a5a5a5u);
    }
    p.insert(p.end(), payload.begin(), payload.end());
    for (int i = 1; i < f.padding_bytes; ++i) p.push_back(0);
    if (f.padding_bytes > 0) p.push_back(std::uint8_t(f.padding_bytes));
    return p;
}

void expect_same_events(const std::vector<SibilantEventResult>& a, const std::vector<SibilantEventResult>& b,
                        const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].start_s, b[i].start_s) << what << " event " << i;
        EXPECT_EQ(a[i].end_s, b[i].end_s) << what << " event " << i;
        EXPECT_EQ(a[i].cls, b[i].cls) << what << " event " << i;
        EXPECT_EQ(a[i].lisp, b[i].lisp) << what << " event " << i;
        EXPECT_EQ(a[i].smearing, b[i].smearing) << what << " event " << i;
        EXPECT_EQ(a[i].dropout, b[i].dropout) << what << " event " << i;
        EXPECT_EQ(a[i].flagged, b[i].flagged) << what << " event " << i;
        EXPECT_EQ(a[i].compared, b[i].compared) << what << " event " << i;
        EXPECT_EQ(a[i].why, b[i].why) << what << " event " << i;
    }
}

void expect_same_summary(const AnalysisSummary& a, const AnalysisSummary& b, const std::string& what) {
    EXPECT_EQ(a.sibilants, b.sibilants) << what;
    EXPECT_EQ(a.flagged, b.flagged) << what;
    EXPECT_EQ(a.compared, b.compared) << what;
    EXPECT_EQ(a.dropouts, b.dropouts) << what;
    EXPECT_EQ(a.lisp_index, b.lisp_index) << what;
    EXPECT_EQ(a.smearing_index, b.smearing_index) << what;
    EXPECT_EQ(a.verdict, b.verdict) << what;
}

}  // namespace sibilant::test
