// Paper execution: prices from after the decision only, the touch plus
// slippage, limits, bars at the next open, commission.
#include <catch2/catch.hpp>

#include "engines/portfolio/paper_execution.h"

using namespace nautilus::portfolio;

namespace {

PaperOrder order(const std::string& id, double qty, std::int64_t decided, OrderType type = OrderType::kMarket,
                 double limit = 0.0) {
  PaperOrder o;
  o.id = id;
  o.symbol = "AAPL";
  o.quantity = qty;
  o.type = type;
  o.limit_price = limit;
  o.decided_ns = decided;
  o.correlation_id = "c-" + id;
  o.origin_ns = 7;
  return o;
}

}  // namespace

TEST_CASE("paper execution: market orders at the touch after the decision, plus slippage", "[portfolio][execution]") {
  ExecutionConfig c;
  c.slippage_bps = 10;    // 0.1%
  c.slippage_ticks = 1;   // + one tick
  c.tick_size = 0.01;
  PaperExecutor ex(c);
  REQUIRE(ex.add(order("b", 100, 1'000)).is_ok());
  REQUIRE(ex.add(order("s", -40, 1'000)).is_ok());
  std::vector<PaperFill> fills;
  // A quote from before the decision never fills.
  REQUIRE(ex.on_quote("AAPL", 9.99, 10.01, 999, fills).is_ok());
  CHECK(fills.empty());
  // Another symbol's quote neither.
  REQUIRE(ex.on_quote("MSFT", 9.99, 10.01, 2'000, fills).is_ok());
  CHECK(fills.empty());
  REQUIRE(ex.on_quote("AAPL", 10.00, 10.02, 1'000, fills).is_ok());
  REQUIRE(fills.size() == 2);
  CHECK(fills[0].order.id == "b");
  CHECK(fills[0].price == Approx(10.02 + 10.02 * 0.001 + 0.01).epsilon(1e-14));
  CHECK(fills[1].order.id == "s");
  CHECK(fills[1].price == Approx(10.00 - 10.00 * 0.001 - 0.01).epsilon(1e-14));
  CHECK(fills[0].source == FillSource::kQuote);
  CHECK(fills[0].market_ns == 1'000);
  CHECK(fills[0].order.correlation_id == "c-b");
  CHECK(fills[0].order.origin_ns == 7);
  CHECK(ex.pending() == 0);
}

TEST_CASE("paper execution: trades fill only with fill_on_trades, at the trade's price after the decision",
          "[portfolio][execution]") {
  ExecutionConfig c;
  c.slippage_bps = 10;  // 0.1%
  c.commission_per_share = 0.01;
  std::vector<PaperFill> fills;
  {
    PaperExecutor off(c);  // the default: a trade is a mark, not a fill
    REQUIRE(off.add(order("b", 100, 1'000)).is_ok());
    REQUIRE(off.on_trade("AAPL", 10.0, 2'000, fills).is_ok());
    CHECK(fills.empty());
    CHECK(off.pending() == 1);
  }
  c.fill_on_trades = true;
  PaperExecutor ex(c);
  REQUIRE(ex.add(order("b", 100, 1'000)).is_ok());
  REQUIRE(ex.add(order("s", -50, 1'000)).is_ok());
  REQUIRE(ex.add(order("lim", 20, 1'000, OrderType::kLimit, 9.50)).is_ok());
  CHECK(ex.on_trade("AAPL", 0.0, 2'000, fills).code() == nautilus::StatusCode::kInvalidArgument);
  REQUIRE(ex.on_trade("AAPL", 10.0, 999, fills).is_ok());  // before the decision
  CHECK(fills.empty());
  REQUIRE(ex.on_trade("AAPL", 10.0, 1'500, fills).is_ok());
  REQUIRE(fills.size() == 2);  // the limit buy at 9.50 waits
  CHECK(fills[0].order.id == "b");
  CHECK(fills[0].price == Approx(10.0 * 1.001).epsilon(1e-14));
  CHECK(fills[0].commission == Approx(1.0).epsilon(1e-14));
  CHECK(fills[0].source == FillSource::kTrade);
  CHECK(to_string(fills[0].source) == "trade");
  CHECK(fills[0].market_ns == 1'500);
  CHECK(fills[1].order.id == "s");
  CHECK(fills[1].price == Approx(10.0 * 0.999).epsilon(1e-14));
  fills.clear();
  REQUIRE(ex.on_trade("AAPL", 9.45, 1'600, fills).is_ok());
  REQUIRE(fills.size() == 1);
  CHECK(fills[0].order.id == "lim");
  CHECK(fills[0].price == Approx(9.45 * 1.001).epsilon(1e-14));  // under the limit
  CHECK(ex.pending() == 0);
}

TEST_CASE("paper execution: limit orders fill when the quote crosses, never worse than the limit", "[portfolio][execution]") {
  ExecutionConfig c;
  c.slippage_ticks = 2;
  c.tick_size = 0.01;
  PaperExecutor ex(c);
  REQUIRE(ex.add(order("buy10", 10, 0, OrderType::kLimit, 10.00)).is_ok());
  REQUIRE(ex.add(order("sell11", -10, 0, OrderType::kLimit, 11.00)).is_ok());
  std::vector<PaperFill> fills;
  REQUIRE(ex.on_quote("AAPL", 10.50, 10.60, 1, fills).is_ok());
  CHECK(fills.empty());
  REQUIRE(ex.on_quote("AAPL", 9.95, 9.99, 2, fills).is_ok());  // ask 9.99 ≤ 10: buy fills, 9.99 + 0.02 capped at 10
  REQUIRE(fills.size() == 1);
  CHECK(fills[0].order.id == "buy10");
  CHECK(fills[0].price == Approx(10.00));
  REQUIRE(ex.on_quote("AAPL", 11.10, 11.12, 3, fills).is_ok());  // bid 11.10 ≥ 11: sell at 11.08
  REQUIRE(fills.size() == 2);
  CHECK(fills[1].price == Approx(11.08));
  // A bad limit is refused.
  CHECK_FALSE(ex.add(order("bad", 1, 0, OrderType::kLimit, 0.0)).is_ok());
  CHECK_FALSE(ex.add(order("zero", 0, 0)).is_ok());
  CHECK(ex.pending() == 0);
}

TEST_CASE("paper execution: on bars, at the open of the first bar starting at or after the decision", "[portfolio][execution]") {
  ExecutionConfig c;
  c.slippage_bps = 100;  // 1%
  PaperExecutor ex(c);
  REQUIRE(ex.add(order("m", 5, 60)).is_ok());
  REQUIRE(ex.add(order("lim", 5, 60, OrderType::kLimit, 19.0)).is_ok());
  std::vector<PaperFill> fills;
  REQUIRE(ex.on_bar("AAPL", 0, 18.0, 18.5, 17.5, fills).is_ok());  // started before the decision
  CHECK(fills.empty());
  REQUIRE(ex.on_bar("AAPL", 60, 20.0, 20.5, 18.8, fills).is_ok());
  REQUIRE(fills.size() == 2);
  CHECK(fills[0].order.id == "m");
  CHECK(fills[0].price == Approx(20.2));  // open + 1%
  CHECK(fills[0].source == FillSource::kBar);
  CHECK(fills[0].market_ns == 60);
  CHECK(fills[1].order.id == "lim");
  CHECK(fills[1].price == Approx(19.0));  // the low reached the limit after the open
  CHECK_FALSE(ex.on_bar("AAPL", 120, 25.0, 20.0, 19.0, fills).is_ok());  // open above high
}

TEST_CASE("paper execution: a bad quote is refused and fills nothing", "[portfolio][execution]") {
  PaperExecutor ex({});
  REQUIRE(ex.add(order("m", 5, 0)).is_ok());
  std::vector<PaperFill> fills;
  CHECK_FALSE(ex.on_quote("AAPL", 10.2, 10.1, 5, fills).is_ok());
  CHECK_FALSE(ex.on_quote("AAPL", -1, 10.1, 5, fills).is_ok());
  CHECK(fills.empty());
  CHECK(ex.pending() == 1);
  CHECK(ex.cancel("m"));
  CHECK_FALSE(ex.cancel("m"));
  CHECK(ex.pending() == 0);
}

TEST_CASE("paper execution: commission per share and in bps with a minimum", "[portfolio][execution]") {
  struct Case {
    double per_share, bps, min, qty, price, want;
  };
  const std::vector<Case> cases = {
      {0.005, 0, 1.0, 100, 10, 1.0},        // 0.50 → the minimum
      {0.005, 0, 1.0, 1'000, 10, 5.0},      // 5.00
      {0, 10, 0, 100, 50, 5.0},             // 10 bps of 5,000
      {0.01, 5, 2.0, -300, 20, 6.0},        // 3 + 3, a sell
      {0, 0, 5.0, 100, 10, 0.0},            // no rate: no commission, not even the minimum
  };
  for (const auto& k : cases) {
    ExecutionConfig c;
    c.commission_per_share = k.per_share;
    c.commission_bps = k.bps;
    c.commission_min = k.min;
    CHECK(commission_for(c, k.qty, k.price) == Approx(k.want).margin(1e-12));
  }
}
