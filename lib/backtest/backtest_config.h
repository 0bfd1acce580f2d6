// A backtest's configuration: the TOML file's [engines.*] sections, the very
// sections nautilusd runs (nautilusd.conf(5)), each checked by its engine, and
// a [backtest] section of its own. Hub-facing kinds (marketdata, heartbeat)
// are not run: the data comes from the --data files. The daemon's other
// sections ([daemon], [bus], [store], ...) are ignored so a daemon config can
// be backtested as it is.
//
//   [backtest]
//   bar_interval = "1m"       # bars files without an interval column
//   sample_interval = "1m"    # equity and positions sampled this often (sim time)
//   periods_per_year = 98280  # of the samples, for annualised figures (default
//                             # from sample_interval: 252 days of 6.5 h)
//   clock_step = "1m"         # the largest clock jump between settles: engine
//                             # timers due inside one step fire back to back
//   seed = 1                  # reported; engines' own seeds stay in their sections
//
// Sweep overrides ("strategy.fast=10") are applied to the parsed tree before
// the engines check it; see apply_override().
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engines/engine_host.h"
#include "engines/registry.h"

namespace nautilus::backtest {

struct BacktestSettings {
  std::int64_t bar_interval_ns = 60'000'000'000;
  std::int64_t sample_interval_ns = 60'000'000'000;
  double periods_per_year = 0.0;  // 0: from sample_interval
  std::int64_t clock_step_ns = 60'000'000'000;
  std::uint64_t seed = 1;
};

struct BacktestConfig {
  std::string source;                 // the file
  BacktestSettings settings;
  std::vector<EngineSpec> engines;    // in file order: the start order
  std::vector<std::string> skipped;   // sections not run, with why
  std::vector<std::string> overrides; // as given ("strategy.fast=10")
};

// Every problem of a config, one per line ("file:line: key: reason"). Exit 2.
class BacktestConfigError : public std::runtime_error {
 public:
  explicit BacktestConfigError(const std::vector<std::string>& errors);
};

// Reads and checks the file; throws BacktestConfigError.
BacktestConfig load_backtest_config(const std::string& path, const EngineRegistry& registry,
                                    const std::vector<std::string>& overrides = {});
// Sets "engine.key.sub=value" in `root` (the file as JSON): the value is
// parsed as JSON (10, 0.5, true, "x") or else taken as a string. A key of
// `strategy` that the section does not have is set in every instance's
// params (strategy.fast=10 → instances[*].params.fast). Throws
// std::invalid_argument for a malformed override.
void apply_override(nlohmann::json& root, const std::string& override_text);

}  // namespace nautilus::backtest
