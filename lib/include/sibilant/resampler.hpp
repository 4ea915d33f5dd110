// Streaming sample-rate conversion (libsoxr, high quality), mono float.
//
// The converter's own delay is removed: after flush(), the output holds
// round(input_count * out_rate / in_rate) samples aligned with the input.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace sibilant {

class Resampler {
public:
    /// Rates in Hz, each in [1000, 1000000]. Throws Error otherwise.
    Resampler(double in_rate_hz, double out_rate_hz);
    ~Resampler();
    Resampler(Resampler&&) noexcept;
    Resampler& operator=(Resampler&&) noexcept;

    /// Converts `in` and appends what is ready to `out`.
    void process(std::span<const float> in, std::vector<float>& out);
    /// Ends the stream: appends the remaining samples to `out`.
    void flush(std::vector<float>& out);

    double in_rate_hz() const;
    double out_rate_hz() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Converts a whole buffer.
std::vector<float> resample(std::span<const float> in, double in_rate_hz, double out_rate_hz);

}  // namespace sibilant
