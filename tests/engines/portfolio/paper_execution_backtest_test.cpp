// Paper execution's backtest models (issue 15): partial fills capped at a
// share of the bar's volume, shared by the orders in arrival order, and the
// latency model (fixed, and a seeded uniform jitter drawn independently here).
#include <catch2/catch.hpp>

#include <random>

#include "engines/portfolio/paper_execution.h"

using namespace nautilus::portfolio;

namespace {

PaperOrder order(const std::string& id, double qty, std::int64_t decided) {
  PaperOrder o;
  o.id = id;
  o.symbol = "AAPL";
  o.quantity = qty;
  o.decided_ns = decided;
  return o;
}

}  // namespace

TEST_CASE("paper execution: a bar fills at most max_volume_share of its volume, in whole units", "[portfolio][execution]") {
  ExecutionConfig c;
  c.max_volume_share = 0.1;
  PaperExecutor x(c);
  REQUIRE(x.add(order("a", 25, 0)).is_ok());
  REQUIRE(x.add(order("b", -8, 0)).is_ok());
  std::vector<PaperFill> fills;
  // 10 % of 155 = 15.5 → 15 units this bar: a takes all 15, b waits.
  REQUIRE(x.on_bar("AAPL", 10, 100, 101, 99, fills, 155).is_ok());
  REQUIRE(fills.size() == 1);
  CHECK(fills[0].order.id == "a");
  CHECK(fills[0].order.quantity == 15);
  CHECK(fills[0].remaining == 10);
  CHECK(x.pending() == 2);
  fills.clear();
  // 12 units: a's last 10, then 2 of b's 8.
  REQUIRE(x.on_bar("AAPL", 20, 100, 101, 99, fills, 120).is_ok());
  REQUIRE(fills.size() == 2);
  CHECK(fills[0].order.quantity == 10);
  CHECK(fills[0].remaining == 0);
  CHECK(fills[1].order.id == "b");
  CHECK(fills[1].order.quantity == -2);
  CHECK(fills[1].remaining == -6);
  fills.clear();
  // A bar without a volume (as the hub's without one) is not capped.
  REQUIRE(x.on_bar("AAPL", 30, 100, 101, 99, fills).is_ok());
  REQUIRE(fills.size() == 1);
  CHECK(fills[0].order.quantity == -6);
  CHECK(x.pending() == 0);
}

TEST_CASE("paper execution: a zero-volume bar fills nothing under a cap", "[portfolio][execution]") {
  ExecutionConfig c;
  c.max_volume_share = 0.5;
  PaperExecutor x(c);
  REQUIRE(x.add(order("a", 1, 0)).is_ok());
  std::vector<PaperFill> fills;
  REQUIRE(x.on_bar("AAPL", 10, 100, 101, 99, fills, 1).is_ok());  // 0.5 unit: less than one
  CHECK(fills.empty());
  REQUIRE(x.on_bar("AAPL", 20, 100, 101, 99, fills, 2).is_ok());
  CHECK(fills.size() == 1);
}

TEST_CASE("paper execution: fixed latency, and a seeded jitter the same every time", "[portfolio][execution]") {
  ExecutionConfig c;
  c.latency_ns = 100;
  PaperExecutor fixed(c);
  REQUIRE(fixed.add(order("a", 1, 1000)).is_ok());
  std::vector<PaperFill> fills;
  REQUIRE(fixed.on_quote("AAPL", 99, 101, 1099, fills).is_ok());
  CHECK(fills.empty());  // before decision + latency
  REQUIRE(fixed.on_bar("AAPL", 1050, 100, 101, 99, fills).is_ok());
  CHECK(fills.empty());  // a bar starting inside the latency is too early too
  REQUIRE(fixed.on_quote("AAPL", 99, 101, 1100, fills).is_ok());
  CHECK(fills.size() == 1);

  c.latency_jitter_ns = 50;
  c.latency_seed = 42;
  PaperExecutor a(c), b(c);
  std::mt19937_64 reference(42);  // the same draws: modulo (jitter + 1)
  for (int i = 0; i < 20; ++i) {
    REQUIRE(a.add(order("o" + std::to_string(i), 1, 1000)).is_ok());
    REQUIRE(b.add(order("o" + std::to_string(i), 1, 1000)).is_ok());
    const std::int64_t expected = 1000 + 100 + static_cast<std::int64_t>(reference() % 51);
    CHECK(a.pending_orders().back().fill_after_ns == expected);
    CHECK(b.pending_orders().back().fill_after_ns == expected);
  }
}
