// The last `capacity` samples of a stream, addressed by their index in it.
// Allocates only at construction. The storage starts unwritten (not
// zero-filled): every reader below takes only samples in [oldest(), count()),
// which were written, or gives zeros itself (copy_held), and filling a ring
// of seconds with zeros first touched every page of it (first-touch page
// faults are dear: a short analysis spent most of its set-up on them). A
// live probe that wants them taken before its real-time pushes calls touch().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace sibilant::dsp {

class SampleRing {
public:
    explicit SampleRing(std::size_t capacity)
        : size_(std::max<std::size_t>(capacity, 1)), data_(new float[size_]) {}

    void push(std::span<const float> x) noexcept {
        // In at most two contiguous copies (a modulo per sample costs more
        // than the STFT's windowing).
        const std::size_t size = size_;
        if (x.size() > size) {
            count_ += std::int64_t(x.size() - size);
            x = x.last(size);
        }
        const auto at = static_cast<std::size_t>(count_ % std::int64_t(size));
        const std::size_t first = std::min(x.size(), size - at);
        std::copy_n(x.begin(), first, data_.get() + at);
        std::copy(x.begin() + std::ptrdiff_t(first), x.end(), data_.get());
        count_ += std::int64_t(x.size());
    }
    /// Samples pushed so far.
    std::int64_t count() const noexcept { return count_; }
    /// Index of the oldest sample still held.
    std::int64_t oldest() const noexcept { return std::max<std::int64_t>(0, count_ - std::int64_t(size_)); }
    std::size_t capacity() const noexcept { return size_; }
    /// Sample `index`, which must lie in [oldest(), count()).
    float at(std::int64_t index) const noexcept {
        return data_[static_cast<std::size_t>(index % std::int64_t(size_))];
    }
    /// Samples [first, first + out.size()), all within [oldest(), count()).
    void copy(std::int64_t first, std::span<float> out) const noexcept {
        // As at() sample by sample, but in at most two contiguous runs.
        const std::size_t size = size_;
        for (std::size_t done = 0; done < out.size();) {
            const auto at = static_cast<std::size_t>((first + std::int64_t(done)) % std::int64_t(size));
            const std::size_t run = std::min(out.size() - done, size - at);
            std::copy_n(data_.get() + at, run, out.begin() + std::ptrdiff_t(done));
            done += run;
        }
    }
    /// Samples [first, first + out.size()) of the stream, whether held or
    /// not: zeros for those before oldest() or from count() on (before the
    /// stream began, already gone, or not yet pushed).
    void copy_held(std::int64_t first, std::span<float> out) const noexcept {
        const std::int64_t end = first + std::int64_t(out.size());
        const std::int64_t lo = std::clamp(oldest(), first, end);
        const std::int64_t hi = std::clamp(count_, lo, end);
        std::fill(out.begin(), out.end(), 0.0f);
        copy(lo, out.subspan(std::size_t(lo - first), std::size_t(hi - lo)));
    }
    void clear() noexcept { count_ = 0; }
    /// Writes every slot once (zeros; what is held does not change), so that
    /// its pages are faulted in now: a live probe calls it at creation, so
    /// that its real-time pushes do not take first-touch page faults.
    void touch() noexcept { std::fill_n(data_.get(), size_, 0.0f); }

private:
    std::size_t size_;
    std::unique_ptr<float[]> data_;
    std::int64_t count_ = 0;
};

}  // namespace sibilant::dsp
