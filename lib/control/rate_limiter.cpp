#include "control/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace nautilus::control {
namespace {
// Past this many buckets the full ones are forgotten (a full bucket is the
// same as a new one), so the map stays bounded by the active principals.
constexpr std::size_t kMaxBuckets = 4096;
}  // namespace

RateLimits default_rate_limits() {
  RateLimits l{};
  l[static_cast<std::size_t>(RouteClass::kPublic)] = {0, 0};
  l[static_cast<std::size_t>(RouteClass::kRead)] = {200, 400};
  l[static_cast<std::size_t>(RouteClass::kSubscribe)] = {20, 40};
  l[static_cast<std::size_t>(RouteClass::kPublish)] = {1000, 2000};
  l[static_cast<std::size_t>(RouteClass::kOperate)] = {50, 100};
  l[static_cast<std::size_t>(RouteClass::kAdmin)] = {10, 20};
  return l;
}

RateLimiter::RateLimiter(Clock& clock, RateLimits limits) : clock_(clock), limits_(limits) {
  for (auto& l : limits_) {
    if (l.per_second > 0) l.burst = std::max(1.0, l.burst);
  }
}

RateDecision RateLimiter::take(const std::string& principal, RouteClass c) {
  const RateLimit& limit = limits_[static_cast<std::size_t>(c)];
  if (limit.per_second <= 0) return {};
  std::int64_t now = clock_.now_ns();
  std::lock_guard lock(mu_);
  if (buckets_.size() > kMaxBuckets) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      const RateLimit& l = limits_[static_cast<std::size_t>(it->first.second)];
      double refill = static_cast<double>(now - it->second.updated_ns) / 1e9 * l.per_second;
      it = it->second.tokens + refill >= l.burst ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, fresh] = buckets_.try_emplace({principal, c});
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = limit.burst;
  } else if (now > b.updated_ns) {
    b.tokens = std::min(limit.burst, b.tokens + static_cast<double>(now - b.updated_ns) / 1e9 * limit.per_second);
  }
  b.updated_ns = std::max(b.updated_ns, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  ++refused_[static_cast<std::size_t>(c)];
  double wait_s = (1.0 - b.tokens) / limit.per_second;
  return {false, std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_s)))};
}

std::uint64_t RateLimiter::refused(RouteClass c) const {
  std::lock_guard lock(mu_);
  return refused_[static_cast<std::size_t>(c)];
}

}  // namespace nautilus::control
