// Time bars from trades: alignment, OHLCV and VWAP, when bars close, late and
// refused trades.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "engines/features/bar_builder.h"

using namespace nautilus::features;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1'700'000'000 * kSec;  // on a second boundary, 20 s past a minute one
}  // namespace

TEST_CASE("features: a bar closes at the first trade past its end with OHLCV and VWAP", "[features][bars]") {
  BarBuilder b(kSec);
  Bar closed;
  CHECK(b.add_trade(kT0 + 100'000'000, 10.0, 100, closed) == TradeResult::kAdded);
  CHECK(b.add_trade(kT0 + 500'000'000, 12.0, 50, closed) == TradeResult::kAdded);
  CHECK(b.add_trade(kT0 + 900'000'000, 9.0, 50, closed) == TradeResult::kAdded);
  CHECK(b.add_trade(kT0 + 999'999'999, 11.0, 200, closed) == TradeResult::kAdded);
  // Exactly on the boundary: the next bar's first trade.
  REQUIRE(b.add_trade(kT0 + kSec, 11.5, 10, closed) == TradeResult::kClosedBar);
  CHECK(closed.start_ns == kT0);
  CHECK(closed.end_ns == kT0 + kSec);
  CHECK(closed.open == 10.0);
  CHECK(closed.high == 12.0);
  CHECK(closed.low == 9.0);
  CHECK(closed.close == 11.0);
  CHECK(closed.volume == 400.0);
  CHECK(closed.trades == 4);
  CHECK(closed.vwap == Approx((1000.0 + 600.0 + 450.0 + 2200.0) / 400.0).epsilon(1e-15));
  CHECK(check_bar(closed) == BarProblem::kNone);

  SECTION("an interval without trades makes no bar") {
    REQUIRE(b.add_trade(kT0 + 5 * kSec + 1, 12.0, 1, closed) == TradeResult::kClosedBar);
    CHECK(closed.start_ns == kT0 + kSec);  // the 1..2 s bar; 2..5 s made nothing
    CHECK(closed.close == 11.5);
    CHECK_FALSE(b.close_due(kT0 + 5 * kSec + 999'999'999).has_value());
    auto last = b.close_due(kT0 + 6 * kSec);  // due at its end
    REQUIRE(last.has_value());
    CHECK(last->start_ns == kT0 + 5 * kSec);
    CHECK_FALSE(b.has_open_bar());
  }
  SECTION("a trade in a bar already closed is late, counted and dropped") {
    REQUIRE(b.close_due(kT0 + 2 * kSec).has_value());
    CHECK(b.add_trade(kT0 + kSec + 5, 99.0, 1, closed) == TradeResult::kLate);  // the bar just closed
    CHECK(b.add_trade(kT0 + 10, 99.0, 1, closed) == TradeResult::kLate);
    CHECK(b.late_trades() == 2);
    CHECK(b.add_trade(kT0 + 2 * kSec, 13.0, 1, closed) == TradeResult::kAdded);  // a new bar opens normally
  }
  SECTION("bad trades are refused and counted") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(b.add_trade(kT0 + kSec + 1, nan, 1, closed) == TradeResult::kRefused);
    CHECK(b.add_trade(kT0 + kSec + 1, 10.0, -1, closed) == TradeResult::kRefused);
    CHECK(b.add_trade(kT0 + kSec + 1, 0.0, 1, closed) == TradeResult::kRefused);
    CHECK(b.refused_trades() == 3);
    auto open = b.close_due(kT0 + 2 * kSec);
    REQUIRE(open.has_value());
    CHECK(open->trades == 1);  // only the 11.5 trade
    CHECK(open->volume == 10.0);
  }
}

TEST_CASE("features: bars align on the epoch for every interval", "[features][bars]") {
  struct Case {
    std::int64_t interval_ns;
    std::int64_t ts;
    std::int64_t want_start;
  };
  const Case cases[] = {
      {kSec, kT0 + 1'234'567'890, kT0 + kSec},
      {60 * kSec, kT0 + 1, kT0 - 20 * kSec},  // 1,700,000,000 s is 20 s past a minute
      {3'600 * kSec, kT0, kT0 - (1'700'000'000 % 3'600) * kSec},
      {250'000'000, kT0 + 600'000'000, kT0 + 500'000'000},
  };
  for (const auto& c : cases) {
    BarBuilder b(c.interval_ns);
    Bar closed;
    REQUIRE(b.add_trade(c.ts, 10.0, 1.0, closed) == TradeResult::kAdded);
    auto bar = b.close_due(std::numeric_limits<std::int64_t>::max());
    REQUIRE(bar.has_value());
    CHECK(bar->start_ns == c.want_start);
    CHECK(bar->end_ns == c.want_start + c.interval_ns);
  }
}
