// A backtest's report: one JSON document (what --json prints and report.json
// holds), a table for people, and the files of --out: equity.csv,
// trades.csv, positions.csv, events.ndjson (the engine bus) and equity.svg
// (equity over drawdown, plain SVG). Nothing in any of them depends on the
// wall clock or the machine, so two runs give the same bytes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backtest/backtest_config.h"
#include "backtest/backtest_run.h"

namespace nautilus::backtest {

struct ReportInputs {
  const BacktestConfig* config = nullptr;
  std::vector<DataFile> data;
  const RunResult* result = nullptr;
};

// The fill and latency model of the config's portfolio section, as the
// portfolio engine reads it ({slippage_bps, ..., latency_ns, ...}, text).
nlohmann::json execution_model(const BacktestConfig& config);
nlohmann::json build_report(const ReportInputs& in);
std::string report_table(const nlohmann::json& report);
// Writes the files into `dir` (created); throws std::runtime_error.
void write_report_files(const std::string& dir, const nlohmann::json& report, const RunResult& result);
std::string equity_svg(const std::vector<EquityRow>& equity);
// 2026-12-01T10:00:00Z (fractions when not whole seconds).
std::string iso_time(std::int64_t ns);

}  // namespace nautilus::backtest
