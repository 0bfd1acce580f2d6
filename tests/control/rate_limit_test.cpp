// Token buckets per principal and route class (control/rate_limiter.h) on the
// simulated clock: 429 with Retry-After past the limit, served again once the
// bucket refills, counted on /metrics.
#include <catch2/catch.hpp>

#include <cmath>

#include "auth_fixture.h"

using namespace nautilus;
using namespace nautilus::control;
using namespace nautilus::control::testing;

TEST_CASE("rate limiter: bucket arithmetic against a direct model") {
  SimulatedClock clock;
  RateLimits limits{};
  limits[static_cast<std::size_t>(RouteClass::kRead)] = {0.5, 3};  // one every 2 s, bursts of 3
  RateLimiter limiter(clock, limits);
  // The model: tokens(t) = min(burst, tokens + dt * rate), one per request.
  double tokens = 3;
  std::int64_t last = clock.now_ns();
  const std::int64_t steps_ms[] = {0, 0, 0, 0, 500, 1500, 0, 4000, 0, 0, 0, 10'000, 250};
  for (std::int64_t ms : steps_ms) {
    clock.advance_by(ms * 1'000'000);
    tokens = std::min(3.0, tokens + static_cast<double>(clock.now_ns() - last) / 1e9 * 0.5);
    last = clock.now_ns();
    RateDecision d = limiter.take("alice", RouteClass::kRead);
    bool expect = tokens >= 1.0;
    if (expect) tokens -= 1.0;
    INFO("after +" << ms << " ms, model tokens " << tokens);
    REQUIRE(d.allowed == expect);
    if (!expect) CHECK(d.retry_after_s == static_cast<std::int64_t>(std::ceil((1.0 - tokens) / 0.5)));
  }
  // Principals and classes have their own buckets; unlimited classes never refuse.
  CHECK(limiter.take("bob", RouteClass::kRead).allowed);
  for (int i = 0; i < 1000; ++i) REQUIRE(limiter.take("alice", RouteClass::kPublish).allowed);
  CHECK(limiter.refused(RouteClass::kRead) > 0);
  CHECK(limiter.refused(RouteClass::kPublish) == 0);
}

TEST_CASE("rate limit: 429 with Retry-After past the limit, served again after it, on /metrics") {
  AuthServer s([](ServerOptions& so) {
    so.rate_limits[static_cast<std::size_t>(RouteClass::kRead)] = {1, 2};
    so.rate_limits[static_cast<std::size_t>(RouteClass::kOperate)] = {0.2, 1};
  });
  const std::string viewer = bearer(s.token(Role::kViewer));
  const std::string op = bearer(s.token(Role::kOperator));
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", viewer).status == 200);
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", viewer).status == 200);
  RawResponse limited = raw_request(s.url, "GET", "/api/v1/engines", viewer);
  CHECK(limited.status == 429);
  CHECK(limited.headers["retry-after"] == "1");
  CHECK(nlohmann::json::parse(limited.body)["error"]["code"] == "rate_limited");
  // Another principal is not held back by this one's bucket.
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", op).status == 200);

  CHECK(raw_request(s.url, "POST", "/api/v1/engines/quiet/command/echo", op, "{}").status == 200);
  RawResponse slow = raw_request(s.url, "POST", "/api/v1/engines/quiet/command/echo", op, "{}");
  CHECK(slow.status == 429);
  CHECK(slow.headers["retry-after"] == "5");

  s.clock.advance_by(1'000'000'000);
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", viewer).status == 200);
  s.clock.advance_by(4'000'000'000);
  CHECK(raw_request(s.url, "POST", "/api/v1/engines/quiet/command/echo", op, "{}").status == 200);

  std::string metrics = raw_request(s.url, "GET", "/metrics", bearer(kAdminToken)).body;
  CHECK_THAT(metrics, Catch::Contains("nautilus_control_rate_limited_total{class=\"read\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("nautilus_control_rate_limited_total{class=\"operate\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("nautilus_control_rate_limited_total{class=\"publish\"} 0\n"));
  // A refused mutating request is in the audit log too.
  CHECK(s.log.contains("\"status\":429"));
}
