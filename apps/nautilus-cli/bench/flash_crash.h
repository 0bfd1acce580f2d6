// nautilus bench flash-crash (SPEC section 9): the stress test. A synthetic
// feed crashes several symbols, staggered, each again and again (a symbol
// recovers, VPIN re-arms, it crashes again), on the marketdata bus while a
// paced background flood fills both buses; the real vpin and risk engines
// turn each crash into a flash_crash_warning and a HALT. Reported: onset ->
// first warning, onset -> HALT and the chain's end-to-end latency over every
// crash (hundreds a run, so a p99 is a percentile, not the worst of a few),
// each with its sample count, the machine's own wake-up lateness over the
// same phase, and the flood's delivery latency, losses and duplicates per
// priority.
//
// The feed runs on accelerated market time (one VPIN bar every `bar_wall_ms`
// of wall time) after a calm history replayed as fast as the bus takes it, so
// a run of seconds has a crash per symbol and a VPIN with a few hundred
// buckets of history behind it. Feed time ends before the wall clock, so a
// daemon's own (real-time) symbols are not pushed into the future.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "bench/bench_report.h"
#include "bus/router.h"

namespace nautilus::cli {

struct FlashCrashConfig {
  std::string backend = "inproc://";  // for the report only: the router is given
  double duration_s = 10;             // flood and feed, wall seconds
  double rate = 100'000;              // background msgs/s over both buses together
  int symbols = 16;                   // crash symbols, staggered onsets
  // Crashes of each symbol; 0: as many as the run holds with the bench's own
  // engines (13 at the default duration and bar speed: 208 in all), 1 with a daemon's
  // (its σ window and CDF history are its own: a repeat inside them is a
  // milder crash to its VPIN, so only the bench's settings are known to fit).
  int crashes_per_symbol = 0;
  std::uint64_t seed = 42;            // synthetic feed
  double bar_wall_ms = 25;            // wall time of one VPIN bar (sets the feed's speed)
  std::size_t payload_bytes = 100;
  std::size_t queue_capacity = 65536;  // per lane, the bench's own subscribers
  // Background priorities as weights per lane (low, normal, high, urgent,
  // flash_crash: lane_of order).
  std::array<unsigned, kPriorityCount> mix{40, 138, 20, 1, 1};
  double drain_timeout_s = 10;        // wait for stragglers after the flood
  std::string group_prefix = "bench";  // Redis consumer groups of the bench's subscribers

  // false: the vpin and risk engines already run elsewhere (--backend daemon);
  // only the feed, the flood and the observers run here, and the VPIN
  // settings below must be the engines' (they shape the feed).
  bool start_engines = true;
  double vpin_bar_s = 1;
  double vpin_bucket_volume = 1000;
  int vpin_history_buckets = 210;     // window_buckets + min_cdf_samples
  // Called after the calm history is published with its trade count; returns
  // when the engines have taken it in (start_engines = false only).
  std::function<void(std::uint64_t trades)> wait_for_warmup;
  // Progress lines for people ("running: ..."), or nothing when empty.
  std::function<void(const std::string&)> progress;
};

// Runs the scenario on `router` (both buses). Setting `stop` ends the flood
// and the feed early; what was measured so far is still reported. Throws
// CliError when an engine cannot start.
BenchReport run_flash_crash(Router& router, const FlashCrashConfig& cfg, const std::atomic<bool>& stop);

// 0 lost at high and above, and every crashed symbol halted.
bool flash_crash_passed(const BenchReport& r);
void print_flash_crash(const BenchReport& r, std::ostream& out, bool color);

}  // namespace nautilus::cli
