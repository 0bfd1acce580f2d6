// The machine's own stalls, measured beside a benchmark in the same run: a
// thread that sleeps 1 ms at a time and records how late each wake-up is. On
// a shared VM a late wake-up of milliseconds is the scheduler, not the design
// under test; a reader needs both figures to tell which tail is which. It
// sleeps rather than spins, so it takes no core from the benchmark.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/histogram.h"

namespace nautilus::cli {

class SchedProbe {
 public:
  SchedProbe();
  ~SchedProbe();
  SchedProbe(const SchedProbe&) = delete;
  SchedProbe& operator=(const SchedProbe&) = delete;

  // Stops the probe; {"p50","p99","max" (µs), "samples", "late_over_1ms"}.
  nlohmann::json stop();

 private:
  std::atomic<bool> done_{false};
  HistogramSnapshot lateness_ns_;  // both written by the probe thread until stop() joins it
  std::uint64_t late_over_1ms_ = 0;
  std::thread thread_;
};

}  // namespace nautilus::cli
