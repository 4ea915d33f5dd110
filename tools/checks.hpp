// Checks of numeric flag values, shared by the sub-commands. CLI11's own
// (2.1) let a few bad values through or word them badly: CLI::Range passes
// "nan" (every comparison with NaN is false), CLI::PositiveNumber answers
// "--channel 0" with "not in range 0.000000 to 17976931348623157..." (the
// largest double in full), and an unsigned option takes "-1" as 2^64 - 1.
// A failed check is a usage error (exit code 2) that names the flag.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

namespace sibilant::cli {

namespace detail {

// "%g" without the trailing zeros of std::to_string: 0.001, 100, 86400.
inline std::string number_text(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

}  // namespace detail

/// A finite number in [min_value, max_value]; "nan", "inf" and non-numbers are refused.
inline CLI::Validator number_in(double min_value, double max_value) {
    const std::string range = detail::number_text(min_value) + ".." + detail::number_text(max_value);
    return CLI::Validator(
        [min_value, max_value, range](const std::string& text) -> std::string {
            char* end = nullptr;
            const double value = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || !std::isfinite(value) || value < min_value || value > max_value)
                return "must be a number in " + range + ", not '" + text + "'";
            return "";
        },
        "NUMBER in " + range);
}

/// A whole number of at least `min_value` (digits only: no sign, no fraction),
/// up to 2^64 - 1; the option's own type may hold less, which CLI11 then says.
inline CLI::Validator whole_number_from(std::uint64_t min_value) {
    const std::string what = "a whole number, " + std::to_string(min_value) + " or more";
    return CLI::Validator(
        [min_value, what](const std::string& text) -> std::string {
            const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
            errno = 0;
            const unsigned long long value = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
            if (!digits || errno == ERANGE || value < min_value) return "must be " + what + ", not '" + text + "'";
            return "";
        },
        "INTEGER >= " + std::to_string(min_value));
}

}  // namespace sibilant::cli
