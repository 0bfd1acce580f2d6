// The result of one `nautilus bench` run: printed as a table for people or as
// JSON for scripts (fields listed in nautilus(1)).
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/histogram.h"
#include "core/priority.h"

namespace nautilus::cli {

struct PriorityResult {
  std::uint64_t messages = 0;    // published at this priority
  std::uint64_t delivered = 0;   // handler calls, all subscribers
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  HistogramSnapshot latency_ns;
};

struct BenchReport {
  std::string scenario;
  std::string backend;
  int publishers = 1;
  int subscribers = 1;
  std::size_t payload_bytes = 0;
  double target_rate = 0;        // msgs/s, 0 = as fast as possible
  std::uint64_t messages = 0;    // published
  std::uint64_t delivered = 0;   // handler calls, all subscribers
  double duration_s = 0;         // first publish -> last delivery
  double publish_s = 0;          // first publish -> last publish returned; 0 = unknown (duration_s)
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  HistogramSnapshot latency_ns;
  std::array<PriorityResult, kPriorityCount> by_priority;
  nlohmann::json extra = nlohmann::json::object();  // scenario-specific fields
  std::vector<std::string> notes;

  double throughput() const { return duration_s > 0 ? static_cast<double>(messages) / duration_s : 0; }
  // Publish rate over the publishing time; delivery rate (handler calls, all
  // subscribers) over the whole run; and both as payload megabytes (1e6 B) per second.
  double publish_rate() const;
  double delivery_rate() const;
  double publish_mb_per_s() const { return publish_rate() * static_cast<double>(payload_bytes) / 1e6; }
  double delivery_mb_per_s() const { return delivery_rate() * static_cast<double>(payload_bytes) / 1e6; }
  nlohmann::json to_json() const;
  void print_table(std::ostream& out, bool color) const;
};

nlohmann::json latency_json_us(const HistogramSnapshot& h);

}  // namespace nautilus::cli
