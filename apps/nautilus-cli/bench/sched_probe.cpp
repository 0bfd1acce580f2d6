#include "bench/sched_probe.h"

#include <time.h>

#include <algorithm>
#include <cstdint>

namespace nautilus::cli {
namespace {

constexpr std::int64_t kPeriodNs = 1'000'000;

std::int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

SchedProbe::SchedProbe() {
  thread_ = std::thread([this] {
    std::int64_t due = mono_ns() + kPeriodNs;
    while (!done_.load(std::memory_order_relaxed)) {
      timespec ts{static_cast<time_t>(due / 1'000'000'000), static_cast<long>(due % 1'000'000'000)};
      ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      const std::int64_t now = mono_ns();
      const std::int64_t late = now > due ? now - due : 0;
      lateness_ns_.add(static_cast<std::uint64_t>(late));
      late_over_1ms_ += late > 1'000'000 ? 1 : 0;
      // After a stall, start again from now: one long stall is one sample.
      due = std::max(due, now) + kPeriodNs;
    }
  });
}

SchedProbe::~SchedProbe() { (void)stop(); }

nlohmann::json SchedProbe::stop() {
  done_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e3; };
  const std::uint64_t n = lateness_ns_.count();
  return {{"p50", us(lateness_ns_.percentile(0.50))},
          {"p99", us(lateness_ns_.percentile(0.99))},
          {"max", us(lateness_ns_.max())},
          {"samples", n},
          {"late_over_1ms", late_over_1ms_}};
}

}  // namespace nautilus::cli
