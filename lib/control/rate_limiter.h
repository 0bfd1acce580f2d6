// Per-principal, per-route-class token buckets for the control API. Each
// (principal, route class) pair has a bucket of `burst` requests refilled at
// `per_second`; a request that finds it empty is refused with the seconds
// until the next token (HTTP 429 + Retry-After). Time comes from a Clock, so
// tests drive it with the simulated clock.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "control/auth.h"
#include "core/clock.h"

namespace nautilus::control {

struct RateLimit {
  double per_second = 0;  // 0: no limit for the class
  double burst = 0;       // bucket size; at least 1 when limited
  bool operator==(const RateLimit&) const = default;
};
using RateLimits = std::array<RateLimit, kRouteClassCount>;
// Generous enough for the CLI and dashboards polling, tight enough that one
// principal cannot keep the server's threads busy.
RateLimits default_rate_limits();

struct RateDecision {
  bool allowed = true;
  std::int64_t retry_after_s = 0;  // whole seconds, at least 1 when refused
};

class RateLimiter {
 public:
  RateLimiter(Clock& clock, RateLimits limits);
  RateDecision take(const std::string& principal, RouteClass c);
  std::uint64_t refused(RouteClass c) const;  // for /metrics
  const RateLimits& limits() const { return limits_; }

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated_ns = 0;
  };
  Clock& clock_;
  RateLimits limits_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, RouteClass>, Bucket> buckets_;
  std::array<std::uint64_t, kRouteClassCount> refused_{};
};

}  // namespace nautilus::control
