#include "marketdata/circuit_breaker.h"

#include <algorithm>

namespace nautilus::md {

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(BreakerConfig config) : config_(config) {
  config_.failure_threshold = std::max(1, config_.failure_threshold);
  config_.cooldown_ns = std::max<std::int64_t>(0, config_.cooldown_ns);
}

bool CircuitBreaker::allow(std::int64_t now_ns) {
  std::lock_guard lock(mu_);
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (now_ns - opened_at_ns_ < config_.cooldown_ns) return false;
      state_ = BreakerState::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::on_success() {
  std::lock_guard lock(mu_);
  failures_ = 0;
  probe_in_flight_ = false;
  state_ = BreakerState::kClosed;
}

void CircuitBreaker::abandon() {
  std::lock_guard lock(mu_);
  probe_in_flight_ = false;
}

void CircuitBreaker::on_failure(std::int64_t now_ns) {
  std::lock_guard lock(mu_);
  ++failures_;
  if (state_ == BreakerState::kHalfOpen || failures_ >= config_.failure_threshold) {
    if (state_ != BreakerState::kOpen) ++times_opened_;
    state_ = BreakerState::kOpen;
    opened_at_ns_ = now_ns;
    probe_in_flight_ = false;
  }
}

BreakerState CircuitBreaker::state(std::int64_t now_ns) const {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kOpen && now_ns - opened_at_ns_ >= config_.cooldown_ns) {
    return BreakerState::kHalfOpen;
  }
  return state_;
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::uint64_t CircuitBreaker::times_opened() const {
  std::lock_guard lock(mu_);
  return times_opened_;
}

}  // namespace nautilus::md
