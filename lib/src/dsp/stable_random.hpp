// Stable hashing, seed mixing and random numbers: fixed arithmetic, so the
// same numbers on every platform and compiler (std::hash and <random>
// distributions are not). Used by the loss models, the sweep's seeds and the
// bootstrap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sibilant {

/// 64-bit FNV-1a of the bytes of `text`.
inline std::uint64_t fnv1a64(std::string_view text) {
    std::uint64_t hash = 0xCBF29CE484222325ULL;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001B3ULL;
    }
    return hash;
}

/// One step of splitmix64 (Steele, Lea & Flood 2014) from state `x`: adds the
/// golden-ratio increment and scrambles. Used to mix seeds: nearby inputs give
/// unrelated outputs.
inline std::uint64_t splitmix64(std::uint64_t x) {
    std::uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// The splitmix64 generator: every seed, including 0, gives a full-period
/// sequence.
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept {
        const std::uint64_t z = splitmix64(state_);
        state_ += 0x9E3779B97F4A7C15ULL;
        return z;
    }
    /// Uniform in [0, 1), 53 bits.
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// An index in [0, n), n <= 2^32. Not std::uniform_int_distribution: its
    /// algorithm differs between standard libraries.
    std::size_t index(std::size_t n) noexcept { return static_cast<std::size_t>(((next() >> 32) * n) >> 32); }

private:
    std::uint64_t state_;
};

}  // namespace sibilant
