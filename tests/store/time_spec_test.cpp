#include <catch2/catch.hpp>

#include <ctime>

#include "store/time_spec.h"

using namespace nautilus::store;

namespace {

// Second implementation for the check: timegm(3) of the broken-down UTC time.
std::int64_t utc_ns(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000;
}

}  // namespace

TEST_CASE("time spec: absolute, relative and raw nanoseconds", "[store][time]") {
  const std::int64_t now = utc_ns(2026, 12, 1, 12, 0, 0);
  struct Case {
    const char* text;
    std::optional<std::int64_t> want;
  };
  std::vector<Case> cases = {
      {"2026-12-01", utc_ns(2026, 12, 1)},
      {"2024-02-29T23:59:59Z", utc_ns(2024, 2, 29, 23, 59, 59)},
      {"2026-12-01T10:30", utc_ns(2026, 12, 1, 10, 30)},
      {"2026-12-01 10:30:05", utc_ns(2026, 12, 1, 10, 30, 5)},
      {"2026-12-01T10:30:05.25Z", utc_ns(2026, 12, 1, 10, 30, 5) + 250'000'000},
      {"2026-12-01T10:30:00+02:00", utc_ns(2026, 12, 1, 8, 30)},
      {"2026-12-01T10:30:00-05:30", utc_ns(2026, 12, 1, 16, 0)},
      {"1h", now - 3'600'000'000'000},
      {"90s", now - 90'000'000'000},
      {"15m", now - 900'000'000'000},
      {"2d", now - 2 * 86'400'000'000'000},
      {"1w", now - 7 * 86'400'000'000'000},
      {"now", now},
      {"1764590400000000000", 1'764'590'400'000'000'000},
      {"2026-02-30", std::nullopt},
      {"2026-12-01T25:00", std::nullopt},
      {"2026-12-01T10:30:00Q", std::nullopt},
      {"0h", std::nullopt},
      {"-1h", std::nullopt},
      {"1y", std::nullopt},
      {"yesterday", std::nullopt},
      {"", std::nullopt},
      {"12345", std::nullopt},  // too short to be nanoseconds: a typo, not 1970
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK(parse_time_spec(c.text, now) == c.want);
  }
}
