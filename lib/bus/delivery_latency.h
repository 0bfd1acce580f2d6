// Where one subscriber's publish-to-handler latencies go, on every backend:
// a histogram per priority lane, one per topic family, and, for messages that
// carry `origin_ns`, the chain's end-to-end latency (origin to this handler)
// per family. The subscriber's delivery thread records; anyone snapshots.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/histogram.h"
#include "core/message.h"
#include "core/priority.h"

namespace nautilus {

// The first two dot-separated segments of a topic ("marketdata.real_time",
// "risk.alert", "engine.status"); a one-segment topic is its own family.
std::string_view topic_family(std::string_view topic);

struct FamilyStats {
  std::string family;
  std::uint64_t delivered = 0;
  HistogramSnapshot latency_ns;  // publish-to-handler
  HistogramSnapshot chain_ns;    // origin-to-handler, messages with origin_ns only
};

// Adds `from` into `into`, family by family (control plane: allocates).
void merge_families(std::vector<FamilyStats>& into, const std::vector<FamilyStats>& from);

struct SubscriberStats;
struct BusStats;

class DeliveryLatency {
 public:
  // Families past this many share the slot "other": a subscriber to '*' on a
  // bus with unbounded topic prefixes must not grow without bound.
  static constexpr std::size_t kMaxFamilies = 16;

  DeliveryLatency();
  ~DeliveryLatency();
  DeliveryLatency(const DeliveryLatency&) = delete;
  DeliveryLatency& operator=(const DeliveryLatency&) = delete;

  // Delivery thread only (one writer at a time). A family's first message
  // allocates its slot; every later one is allocation-free.
  void record(const Message& msg, std::int64_t now_ns);

  // Fills the latency fields of a subscriber's stats.
  void fill(SubscriberStats& out) const;

 private:
  struct Slot;
  Slot* slot_for(std::string_view family);

  std::array<LatencyHistogram, kPriorityCount> by_lane_;
  // Published with release once filled; readers see [0, count_).
  std::array<std::unique_ptr<Slot>, kMaxFamilies + 1> slots_;
  std::atomic<std::size_t> count_{0};
  std::size_t last_ = 0;  // delivery thread: the slot the previous message used
};

// What a bus keeps of its subscribers, live and closed: the one way every
// backend folds subscriber stats into its BusStats.
struct DeliveryTotals {
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t handler_errors = 0;
  std::array<HistogramSnapshot, kPriorityCount> latency_by_priority;
  std::vector<FamilyStats> families;

  void add(const SubscriberStats& s);
  void copy_to(BusStats& out) const;  // sets delivered, dropped, errors, latencies, families
};

}  // namespace nautilus
