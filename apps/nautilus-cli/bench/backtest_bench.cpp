// nautilus bench backtest: replay throughput of lib/backtest in market events
// per second, single-threaded on the simulated clock, for
//   (a) data -> features -> strategy, no orders (a 1000 % threshold: the rule never fires), and
//   (b) the full chain: features -> strategy -> risk -> portfolio, orders and
//       fills (one-bar momentum on 1 s bars flips often).
// The data is a seeded random walk of trades over --symbols symbols at
// --rate trades per simulated second each; loading (CSV parse) is not timed,
// only run_backtest() (event log off: a bench keeps no NDJSON).
#include <cmath>
#include <iostream>
#include <random>

#include "backtest/backtest_config.h"
#include "backtest/backtest_run.h"
#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "core/clock.h"
#include "engines/registry.h"
#include "table.h"

namespace nautilus::cli {
namespace {

namespace bt = nautilus::backtest;

struct BacktestBenchArgs {
  std::size_t events = 400'000;
  int symbols = 4;
  int rate = 100;  // trades per simulated second per symbol
};

std::vector<bt::MarketEvent> make_trades(const BacktestBenchArgs& a) {
  std::mt19937_64 rng(15);
  std::normal_distribution<double> step(0.0, 0.0005);
  std::vector<double> price(static_cast<std::size_t>(a.symbols), 100.0);
  std::vector<bt::MarketEvent> out;
  out.reserve(a.events);
  const std::int64_t t0 = 1'764'581'400'000'000'000, gap = 1'000'000'000 / a.rate;
  for (std::size_t i = 0; i < a.events; ++i) {
    const auto s = i % static_cast<std::size_t>(a.symbols);
    price[s] *= 1.0 + step(rng);
    bt::MarketEvent e;
    e.kind = bt::DataKind::kTrades;
    e.type = MessageType::kTrade;
    e.symbol = "S" + std::to_string(s);
    e.topic = "marketdata.real_time.trade." + e.symbol;
    e.ts_ns = e.at_ns = t0 + static_cast<std::int64_t>(i / static_cast<std::size_t>(a.symbols)) * gap;
    e.volume = 100;
    nlohmann::json j = {{"ts_ns", e.ts_ns}, {"symbol", e.symbol}, {"price", std::round(price[s] * 100) / 100}, {"size", 100}};
    e.payload = j.dump();
    out.push_back(std::move(e));
  }
  return out;
}

bt::BacktestConfig make_config(const BacktestBenchArgs& a, bool full) {
  bt::BacktestConfig c;
  c.source = full ? "(bench: full chain)" : "(bench: features -> strategy)";
  c.settings.sample_interval_ns = 60'000'000'000;
  c.settings.clock_step_ns = 60'000'000'000;
  nlohmann::json symbols = nlohmann::json::array();
  for (int s = 0; s < a.symbols; ++s) symbols.push_back("S" + std::to_string(s));
  c.engines.push_back({"features", "features", {{"intervals", {"1s"}}, {"close_delay", "0s"}}, true});
  if (full) {
    c.engines.push_back({"risk", "risk", {{"initial_equity", 1e9}, {"cooldown_seconds", 0}, {"limits", {{"order_rate", 1e6}}}}, true});
    // Trades only: they are what fills (fill_on_trades), at the next trade's price.
    c.engines.push_back({"portfolio", "portfolio",
                         {{"initial_cash", 1e9}, {"slippage_bps", 1.0}, {"commission_per_share", 0.005}, {"fill_on_trades", true}},
                         true});
  }
  nlohmann::json instance = {{"name", "mom"},
                             {"kind", "momentum"},
                             {"symbols", symbols},
                             {"interval", "1s"},
                             {"params", {{"lookback", 1}, {"threshold", full ? 0.0 : 10.0}}},
                             {"sizing", {{"mode", "fixed"}, {"quantity", 10}}}};
  c.engines.push_back({"strategy", "strategy", {{"instances", {instance}}}, true});
  return c;
}

void run_bench(const GlobalOptions& g, const BacktestBenchArgs& a) {
  if (a.events == 0 || a.symbols < 1 || a.rate < 1) throw CliError(kExitUsage, "bench backtest: --events, --symbols, --rate must be positive");
  EngineRegistry registry;
  register_builtin_engines(registry);
  const auto events = make_trades(a);
  nlohmann::json results = nlohmann::json::array();
  Table t({"CHAIN", "EVENTS", "SECONDS", "EVENTS/S", "ENGINE MSGS", "ORDERS", "FILLS", "GOAL"});
  for (const bool full : {false, true}) {
    const bt::BacktestConfig cfg = make_config(a, full);
    bt::RunOptions o;
    o.event_log = false;
    const std::int64_t t0 = monotonic_now_ns();
    const bt::RunResult r = bt::run_backtest(cfg, registry, events, o);
    const double secs = static_cast<double>(monotonic_now_ns() - t0) / 1e9;
    const double rate = static_cast<double>(r.market_events) / secs;
    const double goal = full ? 500'000.0 : 2'000'000.0;
    const std::string chain = full ? "b: full chain, orders and fills" : "a: features -> strategy, no orders";
    results.push_back({{"chain", chain},
                       {"events", r.market_events},
                       {"seconds", secs},
                       {"events_per_s", rate},
                       {"engine_messages", r.engine_messages},
                       {"orders", r.decisions.orders},
                       {"fills", r.fills.size()},
                       {"goal_events_per_s", goal},
                       {"goal_met", rate >= goal}});
    t.add_row({chain, format_count(static_cast<double>(r.market_events)), format_fixed(secs, 3), format_count(rate),
               format_count(static_cast<double>(r.engine_messages)), format_count(static_cast<double>(r.decisions.orders)),
               format_count(static_cast<double>(r.fills.size())), (rate >= goal ? "met " : "MISSED ") + format_count(goal)});
  }
  if (g.json) {
    std::cout << nlohmann::json{{"bench", "backtest"}, {"symbols", a.symbols}, {"rate", a.rate}, {"results", results}}.dump(2) << "\n";
  } else {
    t.print(std::cout, g.color());
  }
}

}  // namespace

void add_backtest_bench_command(CLI::App& bench, GlobalOptions& global) {
  auto a = std::make_shared<BacktestBenchArgs>();
  auto* c = bench.add_subcommand("backtest", "Backtest replay throughput: (a) features -> strategy, (b) the full chain");
  c->add_option("--events", a->events, "Market events (trades) replayed per chain");
  c->add_option("--symbols", a->symbols, "Symbols");
  c->add_option("--rate", a->rate, "Trades per simulated second per symbol");
  c->callback([&global, a] { run_bench(global, *a); });
}

}  // namespace nautilus::cli
