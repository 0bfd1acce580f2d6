#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/periodic_timer.h"

#include <thread>

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

TEST_CASE("a periodic timer runs every interval until stopped", "[clock][timer]") {
  SimulatedClock clock(0);
  int runs = 0;
  {
    PeriodicTimer timer;
    timer.start(clock, 100, [&] { ++runs; });
    CHECK(timer.running());
    clock.advance_to(1000);
    CHECK(runs == 10);
    timer.stop();
    CHECK_FALSE(timer.running());
    clock.advance_to(5000);
    CHECK(runs == 10);
    timer.start(clock, 1000, [&] { runs += 100; });
    clock.advance_to(6000);
    CHECK(runs == 110);
  }  // the destructor stops it
  clock.advance_to(20000);
  CHECK(runs == 110);
  CHECK(clock.pending_timers() == 0);
}

TEST_CASE("stopping a live periodic timer waits for a running callback", "[clock][timer]") {
  std::atomic<bool> in_callback{false}, release{false}, finished{false};
  PeriodicTimer timer;
  timer.start(live_clock(), 1'000'000, [&] {
    in_callback = true;
    while (!release) std::this_thread::yield();
    finished = true;
  });
  while (!in_callback) std::this_thread::yield();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    release = true;
  });
  timer.stop();
  CHECK(finished);  // stop() returned only after the callback did
  releaser.join();
}
