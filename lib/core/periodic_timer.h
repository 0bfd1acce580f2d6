// Runs a function every interval on a Clock until stopped. Unlike a bare
// Clock::cancel(), stop() (and the destructor) return only when the function is
// not running and will not run again, so it may touch its owner freely. The
// function must not call stop() on its own timer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/clock.h"

namespace nautilus {

class PeriodicTimer {
 public:
  PeriodicTimer() = default;
  ~PeriodicTimer() { stop(); }
  PeriodicTimer(const PeriodicTimer&) = delete;
  PeriodicTimer& operator=(const PeriodicTimer&) = delete;

  // Restarts the timer if it was running. First run one interval from now.
  void start(Clock& clock, std::int64_t interval_ns, std::function<void()> fn);
  void stop();
  bool running() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace nautilus
