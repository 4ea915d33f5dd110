// Samples that are no audio: NaN, infinity, or a magnitude of 2^20 (+120
// dBFS) or more. Such a value (a float file of garbage, a caller's
// uninitialised buffer) overflows the float sums of the resampler and the
// STFT into infinities and NaN (found by fuzz_audio_file and fuzz_analyze),
// so the file reader and the batch analyzer refuse it, naming the sample.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "sibilant/error.hpp"

namespace sibilant::dsp {

inline constexpr float kMaxSampleMagnitude = 1048576.0f;  // 2^20

/// True when every sample is audio. One branch-free pass over the exponent
/// bits (2^20 or more, all ones being NaN and infinity), which the compiler
/// vectorises: a per-sample isfinite() was 18% of a whole `sibilant analyze`.
inline bool all_audio(std::span<const float> x) noexcept {
    constexpr std::uint32_t kExponent = 0x7f800000u, kLimit = std::uint32_t(127 + 20) << 23;
    std::uint32_t bad = 0;
    for (float v : x) bad |= std::uint32_t((std::bit_cast<std::uint32_t>(v) & kExponent) >= kLimit);
    return bad == 0;
}

inline bool is_audio(float x) noexcept { return std::isfinite(x) && std::abs(x) < kMaxSampleMagnitude; }

/// What is wrong with a sample that is not audio, to follow "sample N at T":
/// " is not a finite number" or " is 2e+06, beyond +-2^20 (+120 dBFS): not audio".
inline std::string sample_fault(float x) {
    if (!std::isfinite(x)) return " is not a finite number";
    char text[80];
    std::snprintf(text, sizeof text, " is %g, beyond +-2^20 (+120 dBFS): not audio", double(x));
    return text;
}

/// Refuses a signal holding a sample that is no audio, as the file reader
/// refuses such a file: throws Error "WHERE sample N at T s is ...".
inline void require_audio(std::span<const float> x, const std::string& where, int rate_hz) {
    if (all_audio(x)) return;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (!is_audio(x[i])) {
            char at[64];
            std::snprintf(at, sizeof at, " sample %zu at %.3f s", i, double(i) / rate_hz);
            throw Error(where + at + sample_fault(x[i]));
        }
}

}  // namespace sibilant::dsp
