// Checks for numeric command-line options whose messages a person can read:
// "'abc' is not a number", "must be between 1 and 64", never CLI11's default
// range text (which prints DBL_MAX as a 309-digit bound). Each is a CLI11
// Validator, so the message comes out as "--count: ..." with exit code 2.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace nautilus::cli {

// A finite number in [lo, hi].
CLI::Validator number_in(double lo, double hi);
// A finite number above 0.
CLI::Validator positive_number();
// A whole number in [lo, hi] (no sign for lo >= 0, no fraction, no exponent).
CLI::Validator whole_number_in(double lo, double hi);

// "10000000" for 1e7, "0.001", "1.5": a bound as a person would write it.
std::string readable_number(double v);

// Rewrites a CLI11 ConversionError text ("The value abc is not an allowed
// value for --count", "Could not convert: --count = abc") as
// "--count: 'abc' is not a number"; other texts are
// returned unchanged.
std::string readable_parse_error(const std::string& what);

}  // namespace nautilus::cli
