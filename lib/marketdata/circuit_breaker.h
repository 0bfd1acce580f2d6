// Per-source circuit breaker: CLOSED until `failure_threshold` consecutive
// failures, then OPEN (calls refused) for `cooldown_ns`, then HALF_OPEN: one
// probe call is let through; its success closes the breaker, its failure opens
// it for another cooldown. Driven by the caller's clock.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>

namespace nautilus::md {

enum class BreakerState : unsigned char { kClosed, kOpen, kHalfOpen };
std::string_view to_string(BreakerState s);  // "closed", "open", "half_open"

struct BreakerConfig {
  int failure_threshold = 5;
  std::int64_t cooldown_ns = 30'000'000'000;  // 30 s
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(BreakerConfig config = {});

  // May a call go out at `now_ns`? In HALF_OPEN only one probe is admitted
  // until its outcome is reported.
  bool allow(std::int64_t now_ns);
  void on_success();
  // The admitted call did not go out after all (e.g. the rate limiter said no):
  // frees the half-open probe slot without judging the source.
  void abandon();
  void on_failure(std::int64_t now_ns);
  // The state as of `now_ns` (an OPEN breaker past its cooldown reads HALF_OPEN).
  BreakerState state(std::int64_t now_ns) const;
  int consecutive_failures() const;
  std::uint64_t times_opened() const;
  const BreakerConfig& config() const { return config_; }

 private:
  BreakerConfig config_;
  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;
  int failures_ = 0;
  std::int64_t opened_at_ns_ = 0;
  bool probe_in_flight_ = false;
  std::uint64_t times_opened_ = 0;
};

}  // namespace nautilus::md
