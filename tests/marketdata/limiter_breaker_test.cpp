#include <catch2/catch.hpp>

#include "core/clock.h"
#include "marketdata/circuit_breaker.h"
#include "marketdata/rate_limiter.h"

using namespace nautilus;
using namespace nautilus::md;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
}

TEST_CASE("rate limiter: never exceeds burst + rate x elapsed over a long run", "[marketdata][limiter]") {
  struct Case {
    double rate;
    double burst;
    std::int64_t poll_ns;  // how often the caller tries
  };
  const Case cases[] = {
      {5.0, 1, 1'000'000},        // Alpha Vantage free tier-ish, polled every 1 ms
      {5.0, 5, 7'000'000},
      {50.0, 10, 333'333},
      {0.5, 2, 100'000'000},
      {4.0, 1, 250'000'000},      // polled at exactly the rate: every call granted
      {3.0, 2, 333'333'333},      // 1/3 s is not a whole number of ns; burst 2 absorbs it
  };
  for (const auto& c : cases) {
    SimulatedClock clock(0);
    RateLimiter limiter({c.rate, c.burst});
    const std::int64_t start = clock.now_ns();
    std::uint64_t granted = 0;
    std::int64_t worst_excess = INT64_MIN;
    // Check the bound over every prefix of a 10-minute run.
    for (std::int64_t t = start; t < start + 600 * kSec; t += c.poll_ns) {
      if (limiter.try_acquire(t)) ++granted;
      auto allowed = static_cast<std::int64_t>(c.burst + c.rate * static_cast<double>(t - start) / 1e9);
      worst_excess = std::max(worst_excess, static_cast<std::int64_t>(granted) - allowed);
    }
    INFO("rate " << c.rate << " burst " << c.burst);
    CHECK(worst_excess <= 0);
    // And it is not starving the caller: at least 99% of the rate is used.
    CHECK(static_cast<double>(granted) >= 0.99 * c.rate * 600);
  }
}

TEST_CASE("rate limiter: burst then steady rate, wait_ns says when", "[marketdata][limiter]") {
  RateLimiter limiter({2.0, 3});
  const std::int64_t t = 1000 * kSec;
  CHECK(limiter.try_acquire(t));
  CHECK(limiter.try_acquire(t));
  CHECK(limiter.try_acquire(t));
  CHECK_FALSE(limiter.try_acquire(t));
  CHECK(limiter.wait_ns(t) == kSec / 2);
  CHECK_FALSE(limiter.try_acquire(t + kSec / 2 - 1));
  CHECK(limiter.try_acquire(t + kSec / 2));
  CHECK(limiter.wait_ns(t + kSec / 2) == kSec / 2);
}

TEST_CASE("rate limiter: zero rate means unlimited", "[marketdata][limiter]") {
  RateLimiter limiter({0, 1});
  for (int i = 0; i < 10'000; ++i) REQUIRE(limiter.try_acquire(0));
  CHECK(limiter.wait_ns(0) == 0);
}

TEST_CASE("circuit breaker: opens after N consecutive failures, half-opens, closes", "[marketdata][breaker]") {
  CircuitBreaker b({3, 10 * kSec});
  std::int64_t t = 0;
  CHECK(b.state(t) == BreakerState::kClosed);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(b.allow(t));
    b.on_failure(t);
  }
  CHECK(b.state(t) == BreakerState::kClosed);
  REQUIRE(b.allow(t));
  b.on_failure(t);  // third in a row
  CHECK(b.state(t) == BreakerState::kOpen);
  CHECK(b.times_opened() == 1);
  CHECK_FALSE(b.allow(t + 10 * kSec - 1));
  // Cooldown over: exactly one probe goes through.
  CHECK(b.state(t + 10 * kSec) == BreakerState::kHalfOpen);
  CHECK(b.allow(t + 10 * kSec));
  CHECK_FALSE(b.allow(t + 10 * kSec));
  // The probe fails: open again for a full cooldown.
  b.on_failure(t + 10 * kSec);
  CHECK(b.state(t + 19 * kSec) == BreakerState::kOpen);
  CHECK(b.times_opened() == 2);
  CHECK(b.allow(t + 20 * kSec));
  b.on_success();
  CHECK(b.state(t + 20 * kSec) == BreakerState::kClosed);
  CHECK(b.consecutive_failures() == 0);
}

TEST_CASE("circuit breaker: a success resets the failure run", "[marketdata][breaker]") {
  CircuitBreaker b({3, kSec});
  for (int round = 0; round < 5; ++round) {
    b.on_failure(0);
    b.on_failure(0);
    b.on_success();
  }
  CHECK(b.state(0) == BreakerState::kClosed);
  CHECK(b.times_opened() == 0);
}

TEST_CASE("circuit breaker: an abandoned probe frees the half-open slot", "[marketdata][breaker]") {
  CircuitBreaker b({1, kSec});
  b.on_failure(0);
  REQUIRE(b.allow(kSec));
  b.abandon();
  CHECK(b.allow(kSec));
}
