// One backtest: the config's engines (the same code nautilusd runs) on two
// in-process buses with polled delivery and the simulated clock, fed the
// merged market data timeline event by event. Single-threaded and
// deterministic: the same config and data give the same fills, samples and
// event log, byte for byte (tests/backtest/backtest_run_test.cpp).
//
// For each event: the clock steps to its time (at most clock_step at a time,
// settling the buses after each step so engine timers fire in order), the
// event is published, and both buses are polled until quiet. No look-ahead:
// a bar is published at its close, and the portfolio fills an order only at
// market data that starts at or after risk's decision (paper_execution.h), so
// a signal on bar t fills at bar t+1's open at the earliest.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backtest/backtest_config.h"
#include "backtest/market_data_file.h"
#include "engines/registry.h"
#include "store/recorder.h"

namespace nautilus::backtest {

struct FillRow {
  std::int64_t ts_ns = 0;        // when the portfolio filled it (sim time)
  std::int64_t market_ns = 0;    // the quote's time or the bar's start whose price it took
  std::int64_t decision_ns = 0;  // risk's approval
  std::string order_id, symbol, side, strategy, source;
  double quantity = 0.0, price = 0.0, commission = 0.0, realized_pnl = 0.0, closed_quantity = 0.0;
  double remaining = 0.0, position = 0.0, notional = 0.0;
};

struct EquityRow {
  std::int64_t ts_ns = 0;
  double equity = 0.0, cash = 0.0, realized = 0.0, unrealized = 0.0, commission = 0.0, gross_exposure = 0.0;
  double drawdown = 0.0;  // equity / running peak − 1 (≤ 0)
};

struct PositionRow {
  std::int64_t ts_ns = 0;
  std::string symbol;
  double quantity = 0.0, avg_price = 0.0, market_value = 0.0, unrealized = 0.0, realized = 0.0;
};

struct Progress {
  std::size_t done = 0, total = 0;
  std::int64_t sim_ns = 0, first_ns = 0, last_ns = 0;
};

struct RunOptions {
  std::optional<std::int64_t> from_ns, to_ns;  // [from, to) on delivery time
  std::int64_t clock_step_ns = 0;              // largest clock jump between settles; 0: the config's
  bool event_log = true;                       // keep the engine bus as NDJSON
  std::function<void(const Progress&)> progress;  // every few thousand events
  // Each engine-bus message, in publish order, as the run absorbs it (replay
  // collects the decisions through this).
  std::function<void(const Message&)> on_engine_message;
  // Records both buses into this store through the daemon's Recorder with
  // these selections (`backtest run --record`); null: no recording.
  store::Store* record_to = nullptr;
  std::vector<store::TopicSelection> record_topics;
};

// The selections `backtest run --record` uses: the daemon's default
// ([recorder] topics) with trades and quotes switched on, so the recording
// holds the market data a replay needs.
std::vector<store::TopicSelection> backtest_recorded_topics();

struct DecisionCounts {
  std::uint64_t orders = 0, approved = 0, denied = 0, halts = 0, risk_state_changes = 0, vpin_warnings = 0;
};

struct RunResult {
  std::vector<std::string> engines;  // "name (kind)", start order
  std::size_t market_events = 0;     // published
  std::uint64_t engine_messages = 0; // published on the engine bus
  std::int64_t first_ns = 0, last_ns = 0;
  std::vector<FillRow> fills;
  std::vector<EquityRow> equity;
  std::vector<PositionRow> positions;
  DecisionCounts decisions;
  std::string event_log;             // engine bus in publish order, one JSON object a line
  bool has_portfolio = false;
  double initial_cash = 0.0;
};

// The symbols a config names (strategy instances, engines' `symbols` lists)
// that no data row has: a backtest of them would trade nothing. Sorted.
std::vector<std::string> symbols_without_data(const BacktestConfig& config, const std::vector<MarketEvent>& events);

// Throws std::runtime_error when an engine refuses to start.
RunResult run_backtest(const BacktestConfig& config, const EngineRegistry& registry,
                       const std::vector<MarketEvent>& events, const RunOptions& options = {});

}  // namespace nautilus::backtest
