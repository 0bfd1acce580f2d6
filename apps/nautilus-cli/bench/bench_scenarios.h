// The bus scenarios of `nautilus bench`, written against the Bus interface so
// they run unchanged on every backend.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_report.h"
#include "bus/bus.h"
#include "core/message_pool.h"

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
  bool progress = false;          // a live progress line on stderr (set for a terminal)
  // Priority mix as weights per lane, e.g. normal 99 + urgent 1.
  std::array<unsigned, kPriorityCount> mix{0, 1, 0, 0, 0};
};

// Parses "normal=99,urgent=1" (or a single priority name). Throws CliError.
std::array<unsigned, kPriorityCount> parse_priority_mix(const std::string& text);

BenchReport run_throughput(Bus& bus, const BenchConfig& cfg);
BenchReport run_latency(Bus& bus, const BenchConfig& cfg);

// ---- Building blocks shared by the scenarios (throughput, latency, flash-crash)

// Which priority message `seq` of a publisher gets: a fixed cycle through the
// mix, so lost messages can be attributed to a priority afterwards.
class PriorityCycle {
 public:
  explicit PriorityCycle(const std::array<unsigned, kPriorityCount>& mix);
  Priority at(std::uint64_t seq) const { return cycle_[seq % cycle_.size()]; }

 private:
  std::vector<Priority> cycle_;
};

// Payload: {"p":<publisher>,"s":<seq>,"pad":"xxx…"} padded to the requested
// size. parse_payload reads only the leading "p" and "s", so a scenario may
// append fields of its own after them.
void build_payload(std::string& out, int publisher, std::uint64_t seq, std::size_t size);

// Fills a publisher's pool (up to `slots` slots allocated, payloads grown)
// before the clock starts, so a run measures the steady state, not the first
// allocations.
void warm_up(MessagePool& pool, std::size_t payload_bytes, std::uint64_t slots = 1 << 18);
bool parse_payload(const std::string& s, int& publisher, std::uint64_t& seq);

// Everything one subscriber saw, per (publisher, seq). Written only by its
// delivery thread; read by others only through `unique` and `last_ns`, or
// after the subscription is cancelled.
struct Tracker {
  std::vector<std::vector<std::uint8_t>> seen;  // [publisher][seq] -> times seen
  std::array<HistogramSnapshot, kPriorityCount> latency;
  std::atomic<std::uint64_t> unique{0};
  std::uint64_t total = 0;
  std::uint64_t malformed = 0;
  std::atomic<std::int64_t> last_ns{0};  // monotonic time of a recent delivery

  Tracker(int publishers, std::uint64_t max_per_publisher)
      : seen(static_cast<std::size_t>(publishers), std::vector<std::uint8_t>(max_per_publisher, 0)) {}
  // Room for caps[p] messages of publisher p (0 for a publisher it never sees).
  explicit Tracker(const std::vector<std::uint64_t>& caps) {
    for (std::uint64_t c : caps) seen.emplace_back(c, 0);
  }
  // `now_wall`: the delivery time on the bus clock (latency = now - timestamp).
  void on_message(const Message& m, std::int64_t now_wall);
};

// Adds `published[p]` messages of each publisher p to r.messages and to the
// per-priority counts.
void count_published(BenchReport& r, const PriorityCycle& cycle, const std::vector<std::uint64_t>& published);
// Adds what `t` saw of those messages to `r`: lost, duplicated, delivered and
// latency, per priority and overall.
void count_delivered(BenchReport& r, const Tracker& t, const PriorityCycle& cycle,
                     const std::vector<std::uint64_t>& published);

// Busy-waits until monotonic time `t`, sleeping while far ahead, so a paced
// publisher is accurate to a microsecond or so.
void wait_until(std::int64_t t);

}  // namespace nautilus::cli
