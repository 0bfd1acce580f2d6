// Latency by topic family and chain latency: the stats `nautilus top` and
// /metrics show per family, on the simulated clock so every figure is exact.
#include <catch2/catch.hpp>

#include "bus/bus.h"
#include "bus/delivery_latency.h"
#include "core/clock.h"

using namespace nautilus;

namespace {

SubscribeOptions polled_options() {
  SubscribeOptions o;
  o.mode = DeliveryMode::kPolled;
  return o;
}

const FamilyStats* find_family(const std::vector<FamilyStats>& fs, std::string_view name) {
  for (const auto& f : fs) {
    if (f.family == name) return &f;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("topic_family keeps the first two segments", "[bus][family]") {
  struct Case {
    const char* topic;
    const char* family;
  };
  const Case cases[] = {
      {"marketdata.real_time.quote.AAPL", "marketdata.real_time"},
      {"risk.alert.var_breach", "risk.alert"},
      {"engine.status.risk", "engine.status"},
      {"risk.state", "risk.state"},
      {"heartbeat", "heartbeat"},
      {"a.b", "a.b"},
      {"", ""},
  };
  for (const auto& c : cases) {
    INFO(c.topic);
    CHECK(topic_family(c.topic) == c.family);
  }
}

TEST_CASE("stats: latency per topic family and chain latency from origin_ns", "[bus][stats][family]") {
  SimulatedClock clock(1'000'000'000);
  BusOptions bo;
  bo.clock = &clock;
  auto bus = make_bus("inproc://", bo);
  auto sub = bus->subscribe("*", [](const MessagePtr&) {}, polled_options());

  auto quote = make_message("marketdata.real_time.quote.AAPL", MessageType::kQuote);
  auto alert = make_message("risk.alert.vpin_toxicity", MessageType::kRiskAlert, "{}", Priority::kUrgent);
  alert->origin_ns = clock.now_ns() - 7'000;  // the chain began 7 us before the alert's publish
  REQUIRE(bus->publish(quote).is_ok());
  REQUIRE(bus->publish(alert).is_ok());
  clock.advance_by(1'000);
  REQUIRE(sub->poll(10) == 2);

  BusStats st = bus->stats();
  REQUIRE(st.families.size() == 2);
  const FamilyStats* md = find_family(st.families, "marketdata.real_time");
  const FamilyStats* risk = find_family(st.families, "risk.alert");
  REQUIRE(md);
  REQUIRE(risk);
  CHECK(md->delivered == 1);
  CHECK(md->latency_ns.max() == 1'000);
  CHECK(md->chain_ns.count() == 0);  // no origin_ns: not part of a chain
  CHECK(risk->latency_ns.max() == 1'000);
  REQUIRE(risk->chain_ns.count() == 1);
  CHECK(risk->chain_ns.max() == 8'000);
  CHECK(st.subscribers.at(0).families.size() == 2);
  CHECK(st.subscribers.at(0).latency_by_priority[lane_of(Priority::kUrgent)].count() == 1);
}

TEST_CASE("family stats outlive a cancelled subscription and merge across subscribers", "[bus][stats][family]") {
  SimulatedClock clock(1'000'000'000);
  BusOptions bo;
  bo.clock = &clock;
  auto bus = make_bus("inproc://", bo);
  auto a = bus->subscribe("risk.*", [](const MessagePtr&) {}, polled_options());
  auto b = bus->subscribe("risk.alert.*", [](const MessagePtr&) {}, polled_options());
  REQUIRE(bus->publish(make_message("risk.alert.x", MessageType::kRiskAlert)).is_ok());
  a->poll(10);
  b->poll(10);
  a->cancel();
  a.reset();
  BusStats st = bus->stats();
  const FamilyStats* f = find_family(st.families, "risk.alert");
  REQUIRE(f);
  CHECK(f->delivered == 2);
  CHECK(f->latency_ns.count() == 2);
}

TEST_CASE("a subscriber seeing unbounded families folds the excess into 'other'", "[bus][stats][family]") {
  SimulatedClock clock(1'000'000'000);
  BusOptions bo;
  bo.clock = &clock;
  auto bus = make_bus("inproc://", bo);
  SubscribeOptions o = polled_options();
  o.queue_capacity = 1024;
  auto sub = bus->subscribe("*", [](const MessagePtr&) {}, o);
  const std::size_t n = DeliveryLatency::kMaxFamilies + 10;
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(bus->publish(make_message("fam" + std::to_string(i) + ".x.y", MessageType::kEngineStatus)).is_ok());
  }
  REQUIRE(sub->poll(n) == n);
  BusStats st = bus->stats();
  CHECK(st.families.size() == DeliveryLatency::kMaxFamilies + 1);
  const FamilyStats* other = find_family(st.families, "other");
  REQUIRE(other);
  CHECK(other->delivered == 10);
  std::uint64_t total = 0;
  for (const auto& f : st.families) total += f.delivered;
  CHECK(total == n);
}
