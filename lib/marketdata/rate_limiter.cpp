#include "marketdata/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace nautilus::md {
namespace {
constexpr std::int64_t kUnitsPerCall = 1'000'000'000'000'000;  // 1e9 ns x 1e6 (micro-calls)
}

RateLimiter::RateLimiter(RateLimit limit) : limit_(limit) {
  if (limit_.unlimited() || !std::isfinite(limit_.per_second)) {
    limit_.per_second = 0;
    return;
  }
  micro_rate_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(std::min(limit_.per_second, 1e9) * 1e6)));
  burst_ = static_cast<std::int64_t>(std::max(1.0, std::floor(std::min(limit_.burst, 1e9))));
}

RateLimiter::Wide RateLimiter::units(std::int64_t now_ns) const {
  return static_cast<Wide>(now_ns - origin_ns_) * micro_rate_;
}

bool RateLimiter::try_acquire(std::int64_t now_ns) {
  if (limit_.unlimited()) return true;
  std::lock_guard lock(mu_);
  if (!started_) {
    started_ = true;
    origin_ns_ = now_ns;
  }
  const Wide now = units(now_ns);
  const Wide tolerance = static_cast<Wide>(burst_ - 1) * kUnitsPerCall;
  const Wide tat = std::max(tat_, now);
  if (tat - tolerance > now) return false;
  tat_ = tat + kUnitsPerCall;
  return true;
}

std::int64_t RateLimiter::wait_ns(std::int64_t now_ns) const {
  if (limit_.unlimited()) return 0;
  std::lock_guard lock(mu_);
  if (!started_) return 0;
  const Wide now = units(now_ns);
  const Wide tolerance = static_cast<Wide>(burst_ - 1) * kUnitsPerCall;
  const Wide wait = std::max(tat_, now) - tolerance - now;
  if (wait <= 0) return 0;
  return static_cast<std::int64_t>((wait + micro_rate_ - 1) / micro_rate_);  // round up to whole ns
}

std::int64_t RateLimiter::available(std::int64_t now_ns) const {
  if (limit_.unlimited()) return -1;
  std::lock_guard lock(mu_);
  if (!started_) return burst_;
  const Wide now = units(now_ns);
  const Wide owed = std::max(tat_, now) - now;  // units still to drain
  const Wide used = (owed + kUnitsPerCall - 1) / kUnitsPerCall;
  return std::max<std::int64_t>(0, burst_ - static_cast<std::int64_t>(used));
}

}  // namespace nautilus::md
