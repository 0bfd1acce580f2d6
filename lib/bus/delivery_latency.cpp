#include "bus/delivery_latency.h"

#include <algorithm>

#include "bus/bus.h"

namespace nautilus {

std::string_view topic_family(std::string_view topic) {
  std::size_t first = topic.find('.');
  if (first == std::string_view::npos) return topic;
  std::size_t second = topic.find('.', first + 1);
  return second == std::string_view::npos ? topic : topic.substr(0, second);
}

void merge_families(std::vector<FamilyStats>& into, const std::vector<FamilyStats>& from) {
  for (const FamilyStats& f : from) {
    auto it = std::find_if(into.begin(), into.end(), [&](const FamilyStats& x) { return x.family == f.family; });
    if (it == into.end()) {
      into.push_back(f);
      continue;
    }
    it->delivered += f.delivered;
    it->latency_ns.merge(f.latency_ns);
    it->chain_ns.merge(f.chain_ns);
  }
}

struct DeliveryLatency::Slot {
  explicit Slot(std::string_view name) : family(name) {}
  const std::string family;
  std::atomic<std::uint64_t> delivered{0};
  LatencyHistogram latency;
  LatencyHistogram chain;
};

DeliveryLatency::DeliveryLatency() = default;
DeliveryLatency::~DeliveryLatency() = default;

namespace {
std::uint64_t non_negative(std::int64_t v) { return v > 0 ? static_cast<std::uint64_t>(v) : 0; }
}  // namespace

DeliveryLatency::Slot* DeliveryLatency::slot_for(std::string_view family) {
  std::size_t n = count_.load(std::memory_order_relaxed);  // only this thread writes it
  if (last_ < n && slots_[last_]->family == family) return slots_[last_].get();
  for (std::size_t i = 0; i < n; ++i) {
    if (slots_[i]->family == family) {
      last_ = i;
      return slots_[i].get();
    }
  }
  if (n >= kMaxFamilies) {
    if (n == kMaxFamilies) {
      slots_[kMaxFamilies] = std::make_unique<Slot>("other");
      count_.store(kMaxFamilies + 1, std::memory_order_release);
    }
    last_ = kMaxFamilies;
    return slots_[kMaxFamilies].get();
  }
  slots_[n] = std::make_unique<Slot>(family);
  count_.store(n + 1, std::memory_order_release);
  last_ = n;
  return slots_[n].get();
}

void DeliveryLatency::record(const Message& msg, std::int64_t now_ns) {
  const std::uint64_t latency = non_negative(now_ns - msg.timestamp_ns);
  by_lane_[lane_of(msg.priority)].record_single_writer(latency);
  Slot* slot = slot_for(topic_family(msg.topic));
  slot->delivered.store(slot->delivered.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  slot->latency.record_single_writer(latency);
  if (msg.origin_ns != 0) slot->chain.record_single_writer(non_negative(now_ns - msg.origin_ns));
}

void DeliveryLatency::fill(SubscriberStats& out) const {
  out.latency_ns.clear();
  for (std::size_t i = 0; i < kPriorityCount; ++i) {
    out.latency_by_priority[i] = by_lane_[i].snapshot();
    out.latency_ns.merge(out.latency_by_priority[i]);
  }
  out.families.clear();
  std::size_t n = count_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = *slots_[i];
    out.families.push_back(FamilyStats{s.family, s.delivered.load(std::memory_order_relaxed), s.latency.snapshot(),
                                       s.chain.snapshot()});
  }
}

void DeliveryTotals::add(const SubscriberStats& s) {
  delivered += s.delivered;
  dropped += s.dropped;
  handler_errors += s.handler_errors;
  for (std::size_t i = 0; i < kPriorityCount; ++i) latency_by_priority[i].merge(s.latency_by_priority[i]);
  merge_families(families, s.families);
}

void DeliveryTotals::copy_to(BusStats& out) const {
  out.delivered = delivered;
  out.dropped = dropped;
  out.handler_errors = handler_errors;
  out.latency_ns_by_priority = latency_by_priority;
  out.families = families;
}

}  // namespace nautilus
