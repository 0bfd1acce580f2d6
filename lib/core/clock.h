// Time for the whole system. LiveClock reads the wall clock; SimulatedClock is
// advanced by hand (tests, backtests) and fires its timers in a fixed order, so a
// run on it is deterministic.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace nautilus {

using TimerId = std::uint64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since the Unix epoch.
  virtual std::int64_t now_ns() const = 0;
  // Runs `fn` once at or after `at_ns` (on the clock's timer thread for the live
  // clock, inside advance_to() for the simulated one). Returns an id for cancel().
  virtual TimerId schedule_at(std::int64_t at_ns, std::function<void()> fn) = 0;
  virtual bool cancel(TimerId id) = 0;
  virtual bool is_simulated() const { return false; }

  TimerId schedule_after(std::int64_t delay_ns, std::function<void()> fn) {
    return schedule_at(now_ns() + delay_ns, std::move(fn));
  }
};

// The process-wide live clock.
Clock& live_clock();
std::int64_t wall_now_ns();
std::int64_t monotonic_now_ns();

class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(std::int64_t start_ns = 1'700'000'000'000'000'000);
  ~SimulatedClock() override;

  std::int64_t now_ns() const override;
  TimerId schedule_at(std::int64_t at_ns, std::function<void()> fn) override;
  bool cancel(TimerId id) override;
  bool is_simulated() const override { return true; }

  // Moves time forward to `t_ns`, firing due timers in (time, schedule order).
  // Timers scheduled by a firing timer run too if they fall due by `t_ns`.
  // Returns the number of timers fired. Time never moves backwards.
  std::size_t advance_to(std::int64_t t_ns);
  std::size_t advance_by(std::int64_t delta_ns) { return advance_to(now_ns() + delta_ns); }
  std::size_t pending_timers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus
