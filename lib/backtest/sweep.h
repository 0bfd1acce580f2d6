// Parameter sweeps: the grid of --param KEY=v1,v2,... (every combination, the
// first parameter varying slowest), the figures each run's report gives, and
// the table sorted by one of them. Running the combinations (in parallel
// processes) is the CLI's job; this part is pure so the table is the same
// whatever order the runs finished in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nautilus::backtest {

struct SweepParam {
  std::string key;                  // "strategy.fast"
  std::vector<std::string> values;  // "5", "10", "20"
};

// "strategy.fast=5,10,20"; throws std::invalid_argument.
SweepParam parse_sweep_param(const std::string& text);
// Each combination as overrides ("strategy.fast=5", "strategy.slow=30").
std::vector<std::vector<std::string>> sweep_grid(const std::vector<SweepParam>& params);

inline constexpr const char* kSweepMetrics[] = {"pnl",  "return", "sharpe", "sortino", "max_drawdown",
                                                "win_rate", "profit_factor", "fills"};
// A figure of a report (build_report's JSON); nullopt when undefined.
std::optional<double> sweep_metric(const nlohmann::json& report, const std::string& metric);

struct SweepRow {
  std::size_t index = 0;                 // in the grid
  std::vector<std::string> overrides;
  nlohmann::json figures;                // metric -> value or null
};

// Sorted by `metric`, best first (highest; an undefined figure last), ties
// in grid order. {metric, rows: [{index, params: {key: value}, figures}]}.
nlohmann::json sweep_table(std::vector<SweepRow> rows, const std::string& metric);
std::string sweep_table_text(const nlohmann::json& table);

}  // namespace nautilus::backtest
