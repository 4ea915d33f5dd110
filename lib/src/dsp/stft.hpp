// Incremental short-time power spectrum (internal; FFTW stays out of the
// public headers).
//
// Choice of window and hop (issue #3), for sibilants at 48 kHz:
// - 512-point periodic Hann window (10.7 ms, 93.75 Hz bins). Sibilants last
//   50-250 ms and their noise band is kilohertz wide, so fine frequency
//   resolution buys nothing, while a short window keeps onsets and offsets
//   sharp (the energy of a Hann window lies within about +-3 ms of its
//   centre) and keeps a /t/ burst apart from the /s/ next to it. 93.75 Hz
//   bins still separate the 2.5-4.5 kHz /sh/ peak from a 4-10 kHz /s/ peak.
// - 240-sample hop (5 ms, 200 frames/s, 53% overlap): every sample lies
//   within 2.5 ms of some frame's centre (window weight >= 0.55), and event
//   edges fall on a 5 ms grid, well inside the +-10 ms the detector is asked
//   for. A hop of half the window (256) would not save much time.
// - Cost, measured on this project's machine (Xeon with AVX-512, one core,
//   Release build, FFTW 3.3.10 float, best of 15-30 runs while two other
//   compilations shared the two cores): 60 s of 48 kHz audio (11,998 frames)
//   takes about 11 ms for the STFT alone, 17 ms with the per-frame features
//   of dsp/sibilant_detector.hpp and 19 ms with the whole sibilant detector,
//   i.e. about 3,000x real time per signal, inside the 25 ms per signal that
//   the full-reference budget (both signals in under 60 ms) allows. FFTW
//   itself is about 60% of the STFT.
// - FFTW_ESTIMATE, not FFTW_MEASURE: MEASURE found a plan about 1.5x faster
//   at this size (STFT about 10 ms instead of 11-16 ms per 60 s), but it
//   spends 100-135 ms planning in every process, more than a whole 60 s
//   analysis of both signals; and the plan it picks depends on timings taken
//   at run time, so the last bits of the spectra, hence in rare borderline
//   cases the detected events, could differ from one run to the next.
//   ESTIMATE plans in under 2 ms and always picks the same plan.
// - The plan is dsp::shared_r2c_plan(fft_size): made once per size and
//   process under the library-wide FFTW planner lock (dsp/fftw_planner.hpp),
//   shared by every Stft of that size; executing it needs no lock.

// Framing: frame k covers input samples [k * hop, k * hop + fft_size). Its
// centre, where the periodic Hann window peaks (window index fft_size / 2),
// is sample k * hop + fft_size / 2, so
//     centre_s(k) = (k * hop_samples + fft_size / 2) / rate_hz,
// 5.33 ms + k * 5 ms with the defaults. Only complete frames are emitted: a
// signal of n samples gives 0 frames if n < fft_size, else
// 1 + (n - fft_size) / hop (integer division). No padding at either end, so
// the first 5.3 ms and the last partial hop are not centred by any frame.
//
// Power scaling: bin k holds c_k * |X_k|^2 / (fft_size * sum(w^2)), c_k = 2
// except at DC and Nyquist where it is 1, so that the bins sum exactly to the
// window-weighted mean square of the frame (Parseval, up to float rounding):
// a full-scale sine gives 0.5 in total (-3 dB), whatever the window length.
//
// Streaming: push() takes audio in chunks of any size and calls back once per
// completed frame; it never allocates. The frame samples and the arithmetic
// done on them do not depend on how the input was chunked, so batch and
// streaming results are bit-identical.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace sibilant::dsp {

struct StftConfig {
    int fft_size = 512;     ///< Window length in samples; even, 16..65536.
    int hop_samples = 240;  ///< 1..fft_size.
    double rate_hz = 48000.0;
};

/// Throws sibilant::Error naming the first invalid setting.
void validate(const StftConfig& config);

/// One frame's power spectrum, valid only during the callback.
struct StftFrame {
    std::int64_t index = 0;         ///< 0-based frame number.
    double centre_s = 0.0;          ///< See "Framing" above.
    std::span<const float> power;   ///< fft_size / 2 + 1 bins, bin k at k * bin_hz.
};

class Stft {
public:
    /// Throws sibilant::Error for an invalid config.
    explicit Stft(const StftConfig& config = {});
    ~Stft();
    Stft(Stft&&) noexcept;  ///< The moved-from object must not be used again.
    Stft& operator=(Stft&&) noexcept;
    Stft(const Stft&) = delete;
    Stft& operator=(const Stft&) = delete;

    /// Feeds samples; calls on_frame(const StftFrame&) for each frame that
    /// the new samples complete. No allocation.
    template <class OnFrame>
    void push(std::span<const float> samples, OnFrame&& on_frame);

    /// Back to the state after construction (frame numbering restarts at 0).
    void reset() noexcept;

    const StftConfig& config() const noexcept { return config_; }
    int bins() const noexcept { return config_.fft_size / 2 + 1; }
    double bin_hz() const noexcept { return config_.rate_hz / config_.fft_size; }
    double frame_centre_s(std::int64_t frame_index) const noexcept;
    std::int64_t frames_emitted() const noexcept { return next_frame_; }

    /// Frames a signal of `samples` samples yields (see "Framing").
    static std::int64_t frame_count(std::int64_t samples, const StftConfig& config = {}) noexcept;

private:
    // Windows the full input buffer, transforms it into power_ and slides the
    // buffer on by one hop.
    void compute_frame() noexcept;

    struct Fft;  // FFTW plan and aligned buffers
    StftConfig config_;
    std::unique_ptr<Fft> fft_;
    // The current frame is input_[start_, start_ + fft_size), fill_ of its
    // samples valid. The buffer holds several frames (capacity_), so that
    // sliding on by a hop is usually just start_ += hop; the kept samples
    // are moved back to the front only when the buffer runs out.
    float* input_ = nullptr;
    std::size_t start_ = 0;
    std::size_t capacity_ = 0;
    float* power_ = nullptr;  // bins()
    std::size_t fill_ = 0;
    std::int64_t next_frame_ = 0;
};

template <class OnFrame>
void Stft::push(std::span<const float> samples, OnFrame&& on_frame) {
    const std::size_t frame_size = static_cast<std::size_t>(config_.fft_size);
    std::size_t pos = 0;
    while (pos < samples.size()) {
        const std::size_t take = std::min(samples.size() - pos, frame_size - fill_);
        std::copy_n(samples.data() + pos, take, input_ + start_ + fill_);
        fill_ += take;
        pos += take;
        if (fill_ == frame_size) {
            const std::int64_t index = next_frame_;
            compute_frame();
            on_frame(StftFrame{index, frame_centre_s(index),
                               std::span<const float>(power_, static_cast<std::size_t>(bins()))});
        }
    }
}

}  // namespace sibilant::dsp
