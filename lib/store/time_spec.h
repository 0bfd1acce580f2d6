// Times as people type them for history queries (`--from`, `--since`, and the
// API's ?from=): nanoseconds since the epoch ("1764590400000000000"), an ISO
// 8601 UTC date or time ("2026-12-01", "2026-12-01T10:00:00Z", fractions and
// a "+hh:mm" offset allowed), or a duration back from now ("90s", "15m",
// "1h", "2d", "1w"; "now" is 0 back). Nothing else is accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace nautilus::store {

std::optional<std::int64_t> parse_time_spec(std::string_view text, std::int64_t now_ns);
// "15m" -> 900e9; nullopt unless a positive number and one of s m h d w.
std::optional<std::int64_t> parse_duration_ns(std::string_view text);

}  // namespace nautilus::store
