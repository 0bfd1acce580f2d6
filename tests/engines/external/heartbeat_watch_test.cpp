#include <catch2/catch.hpp>

#include <vector>

#include "engines/external/heartbeat_watch.h"

using nautilus::external::HeartbeatWatch;

namespace {
constexpr std::int64_t kMs = 1'000'000;
}

TEST_CASE("heartbeat watch: fresh strictly inside the timeout, stale at it", "[external]") {
  struct Case {
    std::int64_t beat_ms, now_ms;
    bool fresh;
    std::int64_t age_ms;
  };
  const std::vector<Case> cases = {
      {1000, 1000, true, 0},     // just beaten
      {1000, 2999, true, 1999},  // just inside a 2 s timeout
      {1000, 3000, false, 2000}, // exactly the timeout: stale
      {1000, 9000, false, 8000},
      {5000, 4000, true, 0},     // a clock read before the beat: age 0, never negative
  };
  for (const auto& c : cases) {
    CAPTURE(c.beat_ms, c.now_ms);
    HeartbeatWatch w(2000 * kMs);
    w.beat(c.beat_ms * kMs, 1);
    auto s = w.status(c.now_ms * kMs);
    CHECK(s.fresh == c.fresh);
    CHECK(s.age_ns == c.age_ms * kMs);
    CHECK(s.reason.empty() == c.fresh);
  }
}

TEST_CASE("heartbeat watch: no beat yet is not fresh and says so", "[external]") {
  HeartbeatWatch w(2000 * kMs);
  auto s = w.status(0);
  CHECK_FALSE(s.fresh);
  CHECK(s.age_ns == -1);
  CHECK(s.reason == "no heartbeat yet");
  CHECK(w.beats() == 0);
}

TEST_CASE("heartbeat watch: the stale reason names the age and the timeout", "[external]") {
  HeartbeatWatch w(2000 * kMs);
  w.beat(0, 1);
  CHECK(w.status(5500 * kMs).reason == "no heartbeat for 5500 ms (timeout 2000 ms)");
}

TEST_CASE("heartbeat watch: a sequence that goes down counts a process restart", "[external]") {
  HeartbeatWatch w(2000 * kMs);
  for (std::uint64_t seq : {1, 2, 3, 1, 2, 7, 7, 0, 1}) w.beat(0, seq);
  // 3 -> 1 is a restart; 7 -> 7 (a repeat) and 7 -> 0 (no sequence sent) are not;
  // 0 -> 1 after a beat without sequence is not either.
  CHECK(w.restarts() == 1);
  CHECK(w.beats() == 9);
  CHECK(w.last_sequence() == 1);
}
