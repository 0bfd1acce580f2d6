#include "store/time_spec.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

namespace nautilus::store {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<std::int64_t> parse_iso(std::string_view s) {
  using namespace std::chrono;
  int y, mo, d;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  std::int64_t ns = static_cast<std::int64_t>(sys_days{ymd}.time_since_epoch().count()) * 86'400'000'000'000;
  if (s.size() == 10) return ns;
  if (s[10] != 'T' && s[10] != ' ') return std::nullopt;
  int h, mi, sec = 0;
  if (!digits(s, 11, 2, h) || s.size() < 16 || s[13] != ':' || !digits(s, 14, 2, mi) || h > 23 || mi > 59) {
    return std::nullopt;
  }
  std::size_t pos = 16;
  std::int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, sec) || sec > 60) return std::nullopt;
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {
      std::int64_t scale = 100'000'000;
      ++pos;
      std::size_t start = pos;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        frac_ns += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
  }
  std::int64_t offset_s = 0;
  if (pos < s.size()) {
    if (s.substr(pos) == "Z") {
      pos = s.size();
    } else if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 && s[pos + 3] == ':') {
      int oh, om;
      if (!digits(s, pos + 1, 2, oh) || !digits(s, pos + 4, 2, om)) return std::nullopt;
      offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
      pos = s.size();
    } else {
      return std::nullopt;
    }
  }
  return ns + ((h * 3600 + mi * 60 + sec) - offset_s) * 1'000'000'000 + frac_ns;
}

}  // namespace

std::optional<std::int64_t> parse_duration_ns(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  std::int64_t unit;
  switch (text.back()) {
    case 's': unit = 1'000'000'000; break;
    case 'm': unit = 60'000'000'000; break;
    case 'h': unit = 3'600'000'000'000; break;
    case 'd': unit = 86'400'000'000'000; break;
    case 'w': unit = 7 * 86'400'000'000'000; break;
    default: return std::nullopt;
  }
  std::int64_t n = 0;
  auto body = text.substr(0, text.size() - 1);
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), n);
  if (ec != std::errc() || p != body.data() + body.size() || n <= 0 || n > 100'000) return std::nullopt;
  return n * unit;
}

std::optional<std::int64_t> parse_time_spec(std::string_view text, std::int64_t now_ns) {
  if (text == "now") return now_ns;
  if (auto d = parse_duration_ns(text)) return now_ns - *d;
  if (text.size() > 10 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t ns = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
    if (ec == std::errc() && p == text.data() + text.size()) return ns;
    return std::nullopt;
  }
  return parse_iso(text);
}

}  // namespace nautilus::store
