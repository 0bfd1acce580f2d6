#include "core/topic_pattern.h"

namespace nautilus {

bool glob_match(std::string_view p, std::string_view t) {
  // Greedy match with backtracking to the most recent '*': O(|p|·|t|) worst case,
  // linear for the usual one-star patterns, and no recursion.
  std::size_t pi = 0, ti = 0;
  std::size_t star = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      star_t = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++star_t;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool is_literal_pattern(std::string_view pattern) {
  return pattern.find_first_of("*?") == std::string_view::npos;
}

Status validate_pattern(std::string_view pattern) {
  if (pattern.empty()) return Status(StatusCode::kInvalidArgument, "empty pattern");
  if (pattern.size() > 255) return Status(StatusCode::kInvalidArgument, "pattern longer than 255 characters");
  for (char c : pattern) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return Status(StatusCode::kInvalidArgument, "pattern has a space or non-printable character");
    }
  }
  return Status::ok();
}

}  // namespace nautilus
