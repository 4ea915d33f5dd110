// The last `capacity` power spectra of a stream (dsp::Stft layout), addressed
// by their frame index in it. One ring serves both the comparer and the
// detector of a kernel (issue #11): they read the same reference frames, and
// a second copy of 0.6 s of spectra was about a seventh of a live probe.
// Allocates only at construction.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sibilant::dsp {

class SpectrumRing {
public:
    SpectrumRing(int bins, std::int64_t capacity)
        : bins_(bins),
          capacity_(std::max<std::int64_t>(capacity, 1)),
          data_(static_cast<std::size_t>(capacity_) * static_cast<std::size_t>(bins), 0.0f) {}

    /// Appends one spectrum (its first bins() values).
    void push(std::span<const float> power) noexcept {
        std::copy_n(power.data(), bins_, slot(frames_));
        ++frames_;
    }
    /// Frame `index`, which must lie in [oldest(), frames()).
    std::span<const float> frame(std::int64_t index) const noexcept {
        return {data_.data() + static_cast<std::size_t>(index % capacity_) * static_cast<std::size_t>(bins_),
                static_cast<std::size_t>(bins_)};
    }
    /// Frames pushed so far; the newest is frames() - 1.
    std::int64_t frames() const noexcept { return frames_; }
    std::int64_t oldest() const noexcept { return std::max<std::int64_t>(0, frames_ - capacity_); }
    std::int64_t capacity() const noexcept { return capacity_; }
    int bins() const noexcept { return bins_; }

private:
    float* slot(std::int64_t index) noexcept {
        return data_.data() + static_cast<std::size_t>(index % capacity_) * static_cast<std::size_t>(bins_);
    }

    int bins_;
    std::int64_t capacity_;
    std::vector<float> data_;
    std::int64_t frames_ = 0;
};

}  // namespace sibilant::dsp
