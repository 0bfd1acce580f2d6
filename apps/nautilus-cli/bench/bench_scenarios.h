// The bus scenarios of `nautilus bench`, written against the Bus interface so
// they run unchanged on every backend.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "bench/bench_report.h"
#include "bus/bus.h"

namespace nautilus::cli {

struct BenchConfig {
  std::string backend = "inproc://";
  int publishers = 1;
  int subscribers = 1;
  std::size_t payload_bytes = 100;
  std::uint64_t count = 0;        // total messages; 0 = use duration
  double duration_s = 0;          // 0 = use count
  double rate = 0;                // msgs/s for all publishers together; 0 = flat out
  std::size_t queue_capacity = 65536;
  double drain_timeout_s = 30;    // how long to wait for stragglers after publishing
  // Priority mix as weights per lane, e.g. normal 99 + urgent 1.
  std::array<unsigned, kPriorityCount> mix{0, 1, 0, 0, 0};
};

// Parses "normal=99,urgent=1" (or a single priority name). Throws CliError.
std::array<unsigned, kPriorityCount> parse_priority_mix(const std::string& text);

BenchReport run_throughput(Bus& bus, const BenchConfig& cfg);
BenchReport run_latency(Bus& bus, const BenchConfig& cfg);

}  // namespace nautilus::cli
