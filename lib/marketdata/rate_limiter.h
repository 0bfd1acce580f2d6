// Token bucket for a source's documented rate limit, driven by a Clock.
// Implemented as GCRA (the cell-rate form of a token bucket) in exact integer
// arithmetic: time is counted in units of (ns x micro-calls-per-second), in
// which one call costs exactly 1e15 (micro, so a daily quota such as Alpha
// Vantage's 25 calls a day is not rounded up to a higher rate), so the limiter can never admit more than
// `burst + rate x elapsed` calls however long it runs, and a caller polling at
// exactly the rate is never turned away by rounding.
#pragma once

#include <cstdint>
#include <mutex>

namespace nautilus::md {

struct RateLimit {
  double per_second = 0;   // sustained rate; <= 0 means unlimited
  double burst = 1;        // bucket size (calls that may go back to back)
  bool unlimited() const { return per_second <= 0; }
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit = {});

  // Takes one token at `now_ns` if there is one.
  bool try_acquire(std::int64_t now_ns);
  // Nanoseconds until a token is available at `now_ns` (0: available now).
  std::int64_t wait_ns(std::int64_t now_ns) const;
  // Whole calls that could go out back to back at `now_ns` (the budget left);
  // -1 when unlimited.
  std::int64_t available(std::int64_t now_ns) const;
  const RateLimit& limit() const { return limit_; }

 private:
  __extension__ using Wide = __int128;
  Wide units(std::int64_t now_ns) const;  // caller holds mu_

  RateLimit limit_;
  std::int64_t micro_rate_ = 0;  // calls per 1e6 s, rounded down (never over the limit)
  std::int64_t burst_ = 1;
  mutable std::mutex mu_;
  bool started_ = false;
  std::int64_t origin_ns_ = 0;  // time 0 of the unit scale: the first call
  Wide tat_ = 0;                // theoretical arrival time of the next call, in units
};

}  // namespace nautilus::md
