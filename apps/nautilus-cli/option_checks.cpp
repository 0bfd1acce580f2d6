#include "option_checks.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace nautilus::cli {
namespace {

// The whole text as a finite number, or nullopt.
std::optional<double> parse_number(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string range_text(double lo, double hi) { return "between " + readable_number(lo) + " and " + readable_number(hi); }

}  // namespace

std::string readable_number(double v) {
  char buf[64];
  if (std::fabs(v) < 1e15 && v == std::floor(v)) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.6g", v);
  }
  return buf;
}

CLI::Validator number_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        auto v = parse_number(text);
        if (!v) return "'" + text + "' is not a number";
        if (*v < lo || *v > hi) return "'" + text + "' is out of range: must be " + range_text(lo, hi);
        return {};
      },
      "NUMBER in [" + readable_number(lo) + ", " + readable_number(hi) + "]");
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto v = parse_number(text);
        if (!v) return "'" + text + "' is not a number";
        if (*v <= 0) return "'" + text + "' must be greater than 0";
        return {};
      },
      "NUMBER > 0");
}

CLI::Validator whole_number_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        auto v = parse_number(text);
        if (!v) return "'" + text + "' is not a number";
        std::size_t digits_from = !text.empty() && text[0] == '-' ? 1 : 0;
        bool whole = text.size() > digits_from && text.find_first_not_of("0123456789", digits_from) == std::string::npos;
        if (!whole) return "'" + text + "' is not a whole number";
        if (*v < lo || *v > hi) return "'" + text + "' is out of range: must be " + range_text(lo, hi);
        return {};
      },
      "INTEGER in [" + readable_number(lo) + ", " + readable_number(hi) + "]");
}

std::string readable_parse_error(const std::string& what) {
  static const std::string kCouldNot = "Could not convert: ";
  if (what.starts_with(kCouldNot)) {  // "Could not convert: --count = xyz"
    auto eq = what.find(" = ", kCouldNot.size());
    if (eq != std::string::npos) {
      return what.substr(kCouldNot.size(), eq - kCouldNot.size()) + ": '" + what.substr(eq + 3) + "' is not a number";
    }
  }
  static const std::string kHead = "The value ";
  static const std::string kMiddle = " is not an allowed value for ";
  if (!what.starts_with(kHead)) return what;
  auto mid = what.rfind(kMiddle);
  if (mid == std::string::npos || mid < kHead.size()) return what;
  std::string value = what.substr(kHead.size(), mid - kHead.size());
  std::string option = what.substr(mid + kMiddle.size());
  return option + ": '" + value + "' is not a number";
}

}  // namespace nautilus::cli
