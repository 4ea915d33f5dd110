#include "dsp/stft.hpp"

#include <fftw3.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <numbers>
#include <string>

#include "dsp/fftw_planner.hpp"
#include "sibilant/error.hpp"

namespace sibilant::dsp {

namespace {

// Frames' worth of raw samples the input buffer holds (see Stft::start_).
constexpr std::size_t kInputFrames = 4;

}  // namespace

struct Stft::Fft {
    // fftwf_malloc alignment is what the plan was made for, so executing the
    // plan on these buffers with fftwf_execute_dft_r2c is always valid.
    std::unique_ptr<float, FftwFree> input;     // raw samples, kInputFrames * fft_size
    std::unique_ptr<float, FftwFree> windowed;  // fft_size
    std::unique_ptr<fftwf_complex, FftwFree> spectrum;  // fft_size / 2 + 1
    std::unique_ptr<float, FftwFree> power;     // fft_size / 2 + 1
    std::unique_ptr<float, FftwFree> window;    // fft_size
    std::unique_ptr<float, FftwFree> bin_gain;  // fft_size / 2 + 1
    fftwf_plan plan = nullptr;  // shared_r2c_plan(): not ours to destroy
};

namespace {


}  // namespace

void validate(const StftConfig& config) {
    if (config.fft_size < 16 || config.fft_size > 65536 || config.fft_size % 2 != 0)
        throw Error("stft: fft_size " + std::to_string(config.fft_size) + " must be even and within 16..65536");
    if (config.hop_samples < 1 || config.hop_samples > config.fft_size)
        throw Error("stft: hop_samples " + std::to_string(config.hop_samples) + " must be within 1..fft_size (" +
                    std::to_string(config.fft_size) + ")");
    if (!(config.rate_hz > 0.0) || !std::isfinite(config.rate_hz))
        throw Error("stft: rate_hz " + std::to_string(config.rate_hz) + " must be positive");
}

Stft::Stft(const StftConfig& config) : config_(config) {
    validate(config);
    const std::size_t n = static_cast<std::size_t>(config.fft_size);
    const std::size_t bin_count = n / 2 + 1;
    fft_ = std::make_unique<Fft>();
    fft_->input = fftw_array<float>(kInputFrames * n, "stft");
    fft_->windowed = fftw_array<float>(n, "stft");
    fft_->spectrum = fftw_array<fftwf_complex>(bin_count, "stft");
    fft_->power = fftw_array<float>(bin_count, "stft");
    fft_->window = fftw_array<float>(n, "stft");
    fft_->bin_gain = fftw_array<float>(bin_count, "stft");

    // Periodic Hann: symmetric about n / 2, where the frame's centre time is
    // defined; consecutive frames at a hop of n / 2 sum to a constant.
    double window_energy = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * double(i) / double(n));
        fft_->window.get()[i] = static_cast<float>(w);
        window_energy += double(fft_->window.get()[i]) * double(fft_->window.get()[i]);
    }
    for (std::size_t k = 0; k < bin_count; ++k) {
        const double fold = (k == 0 || k == n / 2) ? 1.0 : 2.0;  // one-sided spectrum
        fft_->bin_gain.get()[k] = static_cast<float>(fold / (double(n) * window_energy));
    }

    fft_->plan = shared_r2c_plan(config.fft_size);
    if (!fft_->plan) throw Error("stft: FFTW could not plan a " + std::to_string(n) + "-point transform");
    input_ = fft_->input.get();
    capacity_ = kInputFrames * n;
    power_ = fft_->power.get();
}

Stft::~Stft() = default;
Stft::Stft(Stft&&) noexcept = default;
Stft& Stft::operator=(Stft&&) noexcept = default;

void Stft::reset() noexcept {
    fill_ = 0;
    start_ = 0;
    next_frame_ = 0;
}

double Stft::frame_centre_s(std::int64_t frame_index) const noexcept {
    return (double(frame_index) * config_.hop_samples + config_.fft_size / 2) / config_.rate_hz;
}

std::int64_t Stft::frame_count(std::int64_t samples, const StftConfig& config) noexcept {
    if (config.fft_size <= 0 || config.hop_samples <= 0 || samples < config.fft_size) return 0;
    return 1 + (samples - config.fft_size) / config.hop_samples;
}

void Stft::compute_frame() noexcept {
    const std::size_t n = static_cast<std::size_t>(config_.fft_size);
    const std::size_t hop = static_cast<std::size_t>(config_.hop_samples);
    const float* window = fft_->window.get();
    float* windowed = fft_->windowed.get();
    const float* frame = input_ + start_;
    for (std::size_t i = 0; i < n; ++i) windowed[i] = frame[i] * window[i];
    fftwf_execute_dft_r2c(fft_->plan, windowed, fft_->spectrum.get());

    const fftwf_complex* spectrum = fft_->spectrum.get();
    const float* gain = fft_->bin_gain.get();
    const std::size_t bin_count = n / 2 + 1;
    for (std::size_t k = 0; k < bin_count; ++k)
        power_[k] = (spectrum[k][0] * spectrum[k][0] + spectrum[k][1] * spectrum[k][1]) * gain[k];

    // Slide on by one hop; what remains is the start of the next frame. It
    // goes back to the front of the buffer only when the next frame would
    // not fit: one move every few frames instead of one per frame.
    start_ += hop;
    fill_ = n - hop;
    if (start_ + n > capacity_) {
        std::memmove(input_, input_ + start_, fill_ * sizeof(float));
        start_ = 0;
    }
    ++next_frame_;
}

}  // namespace sibilant::dsp
