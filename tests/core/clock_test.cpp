#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"

using namespace nautilus;

TEST_CASE("simulated clock fires timers in (time, schedule) order", "[clock]") {
  SimulatedClock clock(1000);
  std::vector<std::string> fired;
  clock.schedule_at(3000, [&] { fired.push_back("c"); });
  clock.schedule_at(2000, [&] { fired.push_back("a"); });
  clock.schedule_at(2000, [&] { fired.push_back("b"); });
  auto cancelled = clock.schedule_at(2500, [&] { fired.push_back("never"); });
  CHECK(clock.cancel(cancelled));
  CHECK_FALSE(clock.cancel(cancelled));

  CHECK(clock.advance_to(1999) == 0);
  CHECK(fired.empty());
  CHECK(clock.advance_to(2000) == 2);
  CHECK(fired == std::vector<std::string>{"a", "b"});
  CHECK(clock.now_ns() == 2000);
  CHECK(clock.advance_by(5000) == 1);
  CHECK(fired.back() == "c");
  CHECK(clock.now_ns() == 7000);
}

TEST_CASE("a timer sees the clock at its due time and may schedule more", "[clock]") {
  SimulatedClock clock(0);
  std::vector<std::int64_t> seen;
  std::function<void()> tick = [&] {
    seen.push_back(clock.now_ns());
    if (seen.size() < 5) clock.schedule_after(100, tick);
  };
  clock.schedule_at(100, tick);
  CHECK(clock.advance_to(1000) == 5);
  CHECK(seen == std::vector<std::int64_t>{100, 200, 300, 400, 500});
  CHECK(clock.now_ns() == 1000);
  CHECK(clock.pending_timers() == 0);
}

TEST_CASE("time never moves backwards", "[clock]") {
  SimulatedClock clock(500);
  clock.advance_to(100);
  CHECK(clock.now_ns() == 500);
}

TEST_CASE("live clock runs a timer on its own thread", "[clock]") {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  live_clock().schedule_after(1'000'000, [&] {
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  CHECK(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
  CHECK(wall_now_ns() > 1'600'000'000'000'000'000);
}
