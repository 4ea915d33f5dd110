// Degradation conditions shared by the corpus evaluations (eval/corpus_eval.cpp,
// eval/blind_norms.cpp): every condition is made in memory from a 48 kHz mono
// signal, the same way for every program, so that their tables agree.
//
//   identity   the signal itself
//   delayed    delayed by 37 ms and 6 dB quieter
//   opusN      libopus voip, complexity 10, N kbps VBR, 20 ms frames, no loss,
//              seed 1 (sibilant's OpusChannel)
//   lp4k/lp8k  a zero-phase FFT brick-wall low-pass at 4/8 kHz (the gain
//              falls from 1 to 0 over the 100 Hz below the cut-off with a
//              raised cosine, so the ringing stays short)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <mutex>
#include <numbers>
#include <string>
#include <vector>

#include <fftw3.h>

#include "dsp/fftw_planner.hpp"
#include "sibilant/audio.hpp"
#include "sibilant/error.hpp"
#include "sibilant/opus_channel.hpp"

namespace sibilant::eval {

inline constexpr int kRateHz = sibilant::kInternalRateHz;

/// Zero-phase low-pass of the whole signal in one FFT (see the file comment).
inline std::vector<float> low_pass(const std::vector<float>& x, double cutoff_hz) {
    // Padding to a 4096 multiple keeps FFTW on fast sizes and leaves room for
    // the (short) ringing at the end.
    const std::size_t n = (x.size() / 4096 + 2) * 4096;
    const std::size_t bins = n / 2 + 1;
    float* time = fftwf_alloc_real(n);
    fftwf_complex* freq = fftwf_alloc_complex(bins);
    fftwf_plan forward, backward;
    {
        std::lock_guard lock(sibilant::dsp::fftw_planner_mutex());
        forward = fftwf_plan_dft_r2c_1d(static_cast<int>(n), time, freq, FFTW_ESTIMATE);
        backward = fftwf_plan_dft_c2r_1d(static_cast<int>(n), freq, time, FFTW_ESTIMATE);
    }
    std::fill(time, time + n, 0.0f);
    std::copy(x.begin(), x.end(), time);
    fftwf_execute(forward);
    constexpr double kTaperHz = 100.0;
    for (std::size_t k = 0; k < bins; ++k) {
        const double f = static_cast<double>(k) * kRateHz / static_cast<double>(n);
        double g = 1.0;
        if (f >= cutoff_hz) g = 0.0;
        else if (f > cutoff_hz - kTaperHz) g = 0.5 + 0.5 * std::cos(std::numbers::pi * (f - (cutoff_hz - kTaperHz)) / kTaperHz);
        const auto scale = static_cast<float>(g / static_cast<double>(n));
        freq[k][0] *= scale;
        freq[k][1] *= scale;
    }
    fftwf_execute(backward);
    std::vector<float> y(time, time + x.size());
    {
        std::lock_guard lock(sibilant::dsp::fftw_planner_mutex());
        fftwf_destroy_plan(forward);
        fftwf_destroy_plan(backward);
    }
    fftwf_free(time);
    fftwf_free(freq);
    return y;
}

/// libopus voip, complexity 10, `kbps` VBR, 20 ms, no loss, seed 1.
inline std::vector<float> opus_voip(const std::vector<float>& x, int kbps) {
    sibilant::OpusSettings settings;
    settings.application = sibilant::Application::Voip;
    settings.complexity = 10;
    settings.bitrate_bps = kbps * 1000;
    return sibilant::run_opus_channel(x, settings, sibilant::LossModelConfig{}, 1);
}

/// The named condition of `x` (names in the file comment). Throws Error for
/// an unknown name.
inline std::vector<float> make_condition(const std::string& name, const std::vector<float>& x) {
    if (name == "identity") return x;
    if (name == "delayed") {
        const auto delay = static_cast<std::size_t>(std::lround(0.037 * kRateHz));
        std::vector<float> y(delay, 0.0f);
        const auto gain = static_cast<float>(std::pow(10.0, -6.0 / 20.0));
        for (float v : x) y.push_back(v * gain);
        return y;
    }
    if (name == "lp4k") return low_pass(x, 4000.0);
    if (name == "lp8k") return low_pass(x, 8000.0);
    if (name.rfind("opus", 0) == 0) return opus_voip(x, std::stoi(name.substr(4)));
    throw sibilant::Error("unknown condition " + name);
}

}  // namespace sibilant::eval
