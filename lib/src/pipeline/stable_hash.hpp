// Stable hashing and seed mixing: fixed arithmetic, so the same numbers on
// every platform and compiler (std::hash and <random> distributions are not).
#pragma once

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

}  // namespace sibilant
