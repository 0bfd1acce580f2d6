// Backtests through the real engines (features → strategy → risk →
// portfolio) on the simulated clock: a run checked by hand, no look-ahead,
// partial fills under the bar volume cap, and two runs the same byte for byte.
#include <catch2/catch.hpp>

#include <cmath>

#include "backtest_test_support.h"

using namespace nautilus;
using namespace nautilus::backtest;

namespace {

using test::kMinute;
using test::kT0;

std::string config(const std::string& portfolio_extra = {}) { return test::momentum_config({}, portfolio_extra); }

struct Bar {
  double open, close;
  double volume = 1000;
};

std::string bars_csv(const std::vector<Bar>& bars) {
  std::string s = "ts_ns,symbol,open,high,low,close,volume\n";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const double hi = std::max(b.open, b.close), lo = std::min(b.open, b.close);
    s += std::to_string(kT0 + static_cast<std::int64_t>(i) * kMinute) + ",AAPL," + nlohmann::json(b.open).dump() + "," +
         nlohmann::json(hi).dump() + "," + nlohmann::json(lo).dump() + "," + nlohmann::json(b.close).dump() + "," +
         nlohmann::json(b.volume).dump() + "\n";
  }
  return s;
}

// The rule, written again here: the target position after each bar's close.
std::vector<double> targets(const std::vector<Bar>& bars, double quantity) {
  std::vector<double> out(bars.size(), 0.0);
  for (std::size_t i = 1; i < bars.size(); ++i) out[i] = bars[i].close > bars[i - 1].close ? quantity : 0.0;
  return out;
}

struct Expected {
  double cash;
  double position;
  std::vector<std::pair<double, double>> fills;  // (signed quantity, price)
};

// Fills at the NEXT bar's open, slippage against the order, commission per share.
Expected simulate(const std::vector<Bar>& bars, double slip_bps, double per_share, bool at_own_close = false) {
  Expected e{100000.0, 0.0, {}};
  const auto t = targets(bars, 10.0);
  for (std::size_t i = 0; i + (at_own_close ? 0 : 1) < bars.size(); ++i) {
    const double want = t[i];
    if (want == e.position) continue;
    const double q = want - e.position;
    const double ref = at_own_close ? bars[i].close : bars[i + 1].open;
    const double price = q > 0 ? ref + ref * slip_bps / 1e4 : ref - ref * slip_bps / 1e4;
    e.cash -= q * price + std::fabs(q) * per_share;
    e.position = want;
    e.fills.emplace_back(q, price);
  }
  return e;
}

}  // namespace

TEST_CASE("backtest: a hand-checkable run fills at the next open with slippage and commission", "[backtest][run]") {
  const std::vector<Bar> bars = {{100, 100}, {100, 101}, {102, 103}, {103.5, 102}, {101, 101}, {101, 104}, {105, 106}};
  test::TempDir dir;
  auto out = test::run_texts(dir, config("slippage_bps = 10\ncommission_per_share = 0.01"), {bars_csv(bars)});
  const Expected want = simulate(bars, 10.0, 0.01);
  // Buys after bar 1 (fill at bar 2's open 102), sells after bar 3 (bar 4's
  // open 101), buys after bar 5 (bar 6's open 105): three fills.
  REQUIRE(want.fills.size() == 3);
  REQUIRE(out.result.fills.size() == want.fills.size());
  for (std::size_t i = 0; i < want.fills.size(); ++i) {
    INFO("fill " << i);
    const auto& f = out.result.fills[i];
    CHECK((f.side == "buy" ? f.quantity : -f.quantity) == Approx(want.fills[i].first));
    CHECK(f.price == Approx(want.fills[i].second).epsilon(1e-12));
    CHECK(f.commission == Approx(0.1));
    CHECK(f.source == "bar");
  }
  CHECK(out.result.fills[0].price == Approx(102.102));  // 102 + 10 bps
  CHECK(out.result.fills[1].price == Approx(100.899));  // 101 − 10 bps
  CHECK(out.result.fills[0].market_ns == kT0 + 2 * kMinute);  // bar 2's start: its open
  // Final equity: cash plus the open 10 shares at the last close.
  const double equity = want.cash + want.position * bars.back().close;
  REQUIRE(!out.result.equity.empty());
  CHECK(out.result.equity.back().equity == Approx(equity).epsilon(1e-12));
  CHECK(out.report["summary"]["pnl"].get<double>() == Approx(equity - 100000.0).epsilon(1e-9));
  // Closed round trip: (100.899 − 102.102)·10, less the closing fill's commission.
  CHECK(out.result.fills[1].realized_pnl == Approx(-12.03 - 0.1).epsilon(1e-9));
  CHECK(out.report["decisions"]["orders"] == 3);
}

TEST_CASE("backtest: no look-ahead; a signal that pays only at its own bar's close makes nothing", "[backtest][run]") {
  // Each cycle: a bar closes up (the signal), the next opens at the level it
  // closes at, two flat bars. Filled at the signal bar's close the long would
  // earn the gap; filled at the next open it earns nothing.
  std::vector<Bar> bars = {{100, 100}};
  double level = 100;
  for (int cycle = 0; cycle < 5; ++cycle) {
    bars.push_back({level, level + 1});      // closes up: buy signal
    bars.push_back({level + 3, level + 3});  // gaps up at its open
    bars.push_back({level + 3, level + 3});  // flat: sell signal
    bars.push_back({level + 3, level + 3});
    level += 3;
  }
  const Expected cheat = simulate(bars, 0.0, 0.0, /*at_own_close=*/true);
  REQUIRE(cheat.cash + cheat.position * bars.back().close - 100000.0 == Approx(100.0));  // the data would reward it
  test::TempDir dir;
  auto out = test::run_texts(dir, config(), {bars_csv(bars)});
  CHECK(out.result.fills.size() == 10);
  CHECK(out.report["summary"]["pnl"].get<double>() == Approx(0.0).margin(1e-9));
  for (const auto& f : out.result.fills) CHECK(f.market_ns >= f.decision_ns);  // never a price from before the decision
}

TEST_CASE("backtest: partial fills capped at a share of the bar's volume, the rest on the next bar", "[backtest][run]") {
  // 10 shares wanted, 4 % of 100 = 4 shares a bar: 4, 4, 2.
  std::vector<Bar> bars = {{100, 100, 100}, {100, 101, 100}, {102, 102, 100}, {103, 103, 100}, {104, 104, 100}};
  test::TempDir dir;
  auto out = test::run_texts(dir, config("max_volume_share = 0.04"), {bars_csv(bars)});
  // Every bar closes up: the instance stays long; read the buys.
  std::vector<double> buys;
  for (const auto& f : out.result.fills) {
    if (f.side == "buy") buys.push_back(f.quantity);
  }
  REQUIRE(buys.size() >= 1);
  CHECK(buys[0] == 4.0);
  CHECK(out.result.fills[0].remaining == 6.0);
  CHECK(out.result.fills[0].price == 102.0);
  CHECK(out.report["model"]["fill"]["max_volume_share"] == 0.04);
  CHECK_THAT(out.report["model"]["fill"]["text"].get<std::string>(), Catch::Contains("4.00 % of a bar's volume"));
}

TEST_CASE("backtest: latency delays the fill past the next bar's open", "[backtest][run]") {
  const std::vector<Bar> bars = {{100, 100}, {100, 101}, {102, 103}, {104, 105}, {106, 107}};
  test::TempDir dir;
  auto out = test::run_texts(dir, config("latency = \"1s\""), {bars_csv(bars)});
  REQUIRE(!out.result.fills.empty());
  // Decided at bar 1's close (= bar 2's start) + 1 s: bar 2 starts too early, bar 3's open fills.
  CHECK(out.result.fills[0].price == 104.0);
  CHECK(out.report["model"]["latency"]["text"] == "fixed 1s");
}

TEST_CASE("backtest: the same config and data give the same report and event log, byte for byte", "[backtest][determinism]") {
  // A seeded walk of 120 bars: enough crossings of the one-bar rule to trade.
  std::vector<Bar> bars;
  std::uint64_t x = 88172645463325252ULL;  // xorshift64: the same walk everywhere
  double p = 100;
  for (int i = 0; i < 120; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const double move = (static_cast<double>(x % 2001) - 1000.0) / 1000.0 * 0.5;
    bars.push_back({p, std::max(1.0, p + move), 500.0 + static_cast<double>(x % 1000)});
    p = bars.back().close;
  }
  // One directory (the report names the config and data paths), two outputs.
  test::TempDir dir;
  auto once = [&](const std::string& out_dir) {
    auto out = test::run_texts(dir, config("slippage_bps = 2\ncommission_per_share = 0.01\nmax_volume_share = 0.01\n"
                                           "latency = \"10ms\"\nlatency_jitter = \"50s\"\nlatency_seed = 9"),
                               {bars_csv(bars)});
    write_report_files(dir.path(out_dir), out.report, out.result);
    return std::make_pair(out.report.dump(), out.result.event_log);
  };
  const auto first = once("a"), second = once("b");
  CHECK(!first.second.empty());
  CHECK(nlohmann::json::parse(first.first)["trades"].size() > 2);  // it did trade
  CHECK(first.first == second.first);
  CHECK(first.second == second.second);
  for (const char* f : {"report.json", "equity.csv", "trades.csv", "positions.csv", "events.ndjson", "equity.svg"}) {
    INFO(f);
    const std::string x1 = test::read_file(dir.path("a/" + std::string(f)));
    CHECK(!x1.empty());
    CHECK(x1 == test::read_file(dir.path("b/" + std::string(f))));
  }
}
