// sibilant_eval_click_delay: the true delay of an audio chain, measured on a
// click train, so that the aligner's delay on speech through the same chain
// can be checked against something it did not compute (eval/codec_matrix.sh,
// tests/cli/test_codec_matrix.sh).
//
//   sibilant_eval_click_delay make OUT.wav
//       writes the click train: 12 s at 48 kHz, 16-bit, one click every
//       0.3-0.5 s (irregular, so that no other lag lines the train up again).
//       Each click is one impulse band-limited to 3 kHz (so that narrowband
//       codecs keep it), 2 ms long. (A burst of pulses at a pitch period
//       was tried first: the waveform search then locked on the neighbouring
//       pulse, one period off, through Speex.)
//   sibilant_eval_click_delay measure CLICKS.wav DECODED.wav
//       prints "delay_ms <d> method <waveform|envelope> peak <p>": the lag
//       (degraded lags = positive, as the aligner reports it) of the decoded
//       train against the original, both read at 48 kHz as sibilant analyze
//       reads them. First the 2 ms energy envelopes are cross-correlated over
//       +-1 s; then the waveforms within +-2 ms of that lag. The waveform
//       lag is taken when its normalised peak reaches 0.5 (waveform codecs);
//       a vocoder keeps the envelope only, and the envelope lag (0.02 ms grid,
//       the centre of the codec's smeared click) is the truth there.
#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <numbers>
#include <string>
#include <vector>

#include "sibilant/audio.hpp"

namespace {

constexpr int kRate = 48000;

std::vector<float> click_train() {
    std::vector<float> x(std::size_t(12 * kRate), 0.0f);
    // Irregular spacing from a fixed linear congruential sequence: deterministic.
    std::uint32_t state = 12345u;
    double t = 0.25;
    const int half = kRate / 1000;  // 1 ms either side of each click
    while (t < 11.5) {
        const std::int64_t at = std::llround(t * kRate);
        for (int i = -half; i <= half; ++i) {
            // One 3 kHz-band-limited impulse under a Hann window: no periodic
            // structure, so no lag but the true one lines a click up with itself.
            const double window = 0.5 + 0.5 * std::cos(std::numbers::pi * i / (half + 1));
            const double arg = 2.0 * 3000.0 / kRate * i;
            const double v = i == 0 ? 1.0 : std::sin(std::numbers::pi * arg) / (std::numbers::pi * arg);
            x[std::size_t(at + i)] += static_cast<float>(0.8 * window * v);
        }
        state = state * 1664525u + 1013904223u;
        t += 0.3 + 0.2 * double(state >> 8) / double(1u << 24);
    }
    return x;
}

// r[lag] for lag in [-max_lag, max_lag]: sum_n a[n] * b[n + lag], by FFT.
std::vector<double> cross_correlate(const std::vector<float>& a, const std::vector<float>& b, int max_lag) {
    std::size_t n = 1;
    while (n < std::max(a.size(), b.size()) + std::size_t(max_lag) + 1) n *= 2;
    std::vector<float> fa(n, 0.0f), fb(n, 0.0f), out(n);
    std::copy(a.begin(), a.end(), fa.begin());
    std::copy(b.begin(), b.end(), fb.begin());
    std::vector<std::complex<float>> sa(n / 2 + 1), sb(n / 2 + 1);
    // Single use, one thread: FFTW_ESTIMATE plans without measuring.
    fftwf_plan pa = fftwf_plan_dft_r2c_1d(int(n), fa.data(), reinterpret_cast<fftwf_complex*>(sa.data()), FFTW_ESTIMATE);
    fftwf_plan pb = fftwf_plan_dft_r2c_1d(int(n), fb.data(), reinterpret_cast<fftwf_complex*>(sb.data()), FFTW_ESTIMATE);
    fftwf_execute(pa);
    fftwf_execute(pb);
    for (std::size_t i = 0; i < sa.size(); ++i) sa[i] = std::conj(sa[i]) * sb[i];
    fftwf_plan pi = fftwf_plan_dft_c2r_1d(int(n), reinterpret_cast<fftwf_complex*>(sa.data()), out.data(), FFTW_ESTIMATE);
    fftwf_execute(pi);
    fftwf_destroy_plan(pa);
    fftwf_destroy_plan(pb);
    fftwf_destroy_plan(pi);
    std::vector<double> r(std::size_t(2 * max_lag + 1));
    for (int lag = -max_lag; lag <= max_lag; ++lag)
        r[std::size_t(lag + max_lag)] = double(out[std::size_t((lag + std::int64_t(n)) % std::int64_t(n))]) / double(n);
    return r;
}

std::vector<float> envelope(const std::vector<float>& x) {
    const int width = 2 * kRate / 1000;
    std::vector<float> e(x.size(), 0.0f);
    double sum = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sum += double(x[i]) * x[i];
        if (i >= std::size_t(width)) sum -= double(x[i - std::size_t(width)]) * x[i - std::size_t(width)];
        // Centred box: the envelope of sample i covers [i - width/2, i + width/2).
        const std::size_t at = i >= std::size_t(width / 2) ? i - std::size_t(width / 2) : 0;
        e[at] = static_cast<float>(std::max(sum, 0.0));
    }
    return e;
}

double energy(const std::vector<float>& x) {
    double s = 0.0;
    for (float v : x) s += double(v) * v;
    return s;
}

int measure(const std::string& clicks_path, const std::string& decoded_path) {
    const std::vector<float> a = sibilant::read_audio_file(clicks_path);
    const std::vector<float> b = sibilant::read_audio_file(decoded_path);
    const int max_lag = kRate;
    const std::vector<double> re = cross_correlate(envelope(a), envelope(b), max_lag);
    const auto envelope_peak = std::max_element(re.begin(), re.end());
    const int envelope_lag = int(envelope_peak - re.begin()) - max_lag;
    const std::vector<double> rw = cross_correlate(a, b, max_lag);
    const int radius = 2 * kRate / 1000;
    int best = envelope_lag;
    double best_value = -1.0;
    for (int lag = std::max(-max_lag, envelope_lag - radius); lag <= std::min(max_lag, envelope_lag + radius); ++lag)
        if (rw[std::size_t(lag + max_lag)] > best_value) {
            best_value = rw[std::size_t(lag + max_lag)];
            best = lag;
        }
    const double norm = std::sqrt(energy(a) * energy(b));
    const double peak = norm > 0.0 ? best_value / norm : 0.0;
    const bool waveform = peak >= 0.5;
    const int lag = waveform ? best : envelope_lag;
    std::printf("delay_ms %.3f method %s peak %.3f\n", 1000.0 * lag / kRate, waveform ? "waveform" : "envelope", peak);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "make" && argc == 3) {
            sibilant::write_audio_file(argv[2], click_train(), kRate, sibilant::SampleFormat::Pcm16);
            return 0;
        }
        if (mode == "measure" && argc == 4) return measure(argv[2], argv[3]);
        std::fprintf(stderr,
                     "usage: sibilant_eval_click_delay make OUT.wav\n"
                     "       sibilant_eval_click_delay measure CLICKS.wav DECODED.wav\n");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sibilant_eval_click_delay: %s\n", e.what());
        return 1;
    }
}
