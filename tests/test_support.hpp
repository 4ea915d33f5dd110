// Shared helpers for the unit tests: paths, temporary folders and synthetic
// signals with known properties.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sibilant/analyze.hpp"
#include "sibilant/error.hpp"

namespace sibilant::test {

/// testdata/ of this checkout.
std::filesystem::path testdata_dir();
/// testdata/speech/FILE (e.g. "demo.flac") read at 48 kHz.
std::vector<float> testdata_speech(const std::string& file);
/// ../shared (corpus and opus_demo vectors) or empty if it is not there.
/// Tests that need it call GTEST_SKIP() when this is empty.
std::filesystem::path shared_dir();
/// The built `sibilant` command-line tool.
std::filesystem::path cli_path();

/// A fresh, empty folder removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// Sine tone, amplitude `amplitude`, `seconds` long.
std::vector<float> sine(double frequency_hz, double seconds, int rate_hz, double amplitude = 0.5);
/// White noise in [-amplitude, amplitude], reproducible from `seed`.
std::vector<float> white_noise(double seconds, int rate_hz, std::uint64_t seed, double amplitude = 0.3);
/// Two-pole resonator (centre and bandwidth in Hz) applied to `x` in place:
/// the building block of the synthetic vowels and fricatives.
void resonate(std::vector<double>& x, double centre_hz, double bw_hz, int rate_hz);
/// Speech-like test signal: a 150 Hz pulse train through a few vowel-like
/// resonances, with noise bursts band-passed to 4-10 kHz (an /s/-like
/// fricative) every 0.5 s. Deterministic.
std::vector<float> speech_like(double seconds, int rate_hz, std::uint64_t seed = 1);

/// Lag (samples, within +-max_lag) at which y best matches x: y[i + lag] ~ x[i]
/// (the peak of their cross-correlation).
int best_lag(const std::vector<float>& x, const std::vector<float>& y, int max_lag);

/// Runs `f`, expecting sibilant::Error whose message contains every one of `parts`.
template <typename F>
void expect_error(F&& f, std::initializer_list<const char*> parts) {
    try {
        f();
        ADD_FAILURE() << "expected sibilant::Error";
    } catch (const sibilant::Error& e) {
        const std::string message = e.what();
        for (const char* part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
    }
}

/// Root-mean-square of a signal.
double rms(const std::vector<float>& x);
/// Reads a whole file as raw bytes.
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path);
/// Opus packets of a 48 kHz mono signal (libopus, VOIP, 20 ms frames, the
/// last frame zero-padded): what an RTP sender would put in its payloads.
std::vector<std::vector<std::uint8_t>> opus_packets(const std::vector<float>& signal_48k, int bitrate_bps);
/// opus_packets() of testdata/speech/demo.flac at 48 kHz, made once per
/// bitrate and kept for the test process.
const std::vector<std::vector<std::uint8_t>>& demo_opus_packets(int bitrate_bps);

/// An RTP packet (RFC 3550): version 2, the given header fields, optional
/// CSRCs, a header extension of `extension_words` 32-bit words and
/// `padding_bytes` of padding (0: none).
struct RtpFields {
    int payload_type = 111;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0x11223344;
    bool marker = false;
    int csrc_count = 0;
    int extension_words = -1;  ///< -1: no extension; 0..: extension with that many words.
    int padding_bytes = 0;
};
std::vector<std::uint8_t> rtp_packet(const RtpFields& fields, const std::vector<std::uint8_t>& payload);

/// operator new calls that `work` makes on the calling thread (the counting
/// global operator new lives in test_stft.cpp).
std::size_t allocations_during(const std::function<void()>& work);

/// Runs `work` with the first `allowed` allocations on the calling thread
/// succeeding and every later one failing, as memory running out would:
/// operator new throws std::bad_alloc, the nothrow forms and FFTW's
/// fftwf_malloc return null (test_stft.cpp).
void with_allocations_failing_after(std::size_t allowed, const std::function<void()>& work);

/// Expects the same events (times, class, scores, flags, why) and the same
/// summary, exactly; `what` names the case in failure messages.
void expect_same_events(const std::vector<SibilantEventResult>& a, const std::vector<SibilantEventResult>& b,
                        const std::string& what);
void expect_same_summary(const AnalysisSummary& a, const AnalysisSummary& b, const std::string& what);

}  // namespace sibilant::test
