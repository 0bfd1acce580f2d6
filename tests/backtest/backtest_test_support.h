// Helpers for the backtest tests: temporary files, a config from TOML text,
// and one run from texts (config and CSVs) to a result and its report.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "backtest/backtest_config.h"
#include "backtest/backtest_run.h"
#include "backtest/market_data_file.h"
#include "backtest/report.h"
#include "engines/registry.h"

namespace nautilus::test {

inline const EngineRegistry& builtin_registry() {
  static const EngineRegistry r = [] {
    EngineRegistry reg;
    register_builtin_engines(reg);
    return reg;
  }();
  return r;
}

// A directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "nautilus-bt-XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp");
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  std::string path(const std::string& name = {}) const { return (name.empty() ? path_ : path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunOutput {
  backtest::BacktestConfig config;
  backtest::RunResult result;
  nlohmann::json report;
};

inline RunOutput run_texts(const TempDir& dir, const std::string& toml, const std::vector<std::string>& csvs,
                           const std::vector<std::string>& overrides = {}) {
  RunOutput out;
  out.config = backtest::load_backtest_config(dir.write("config.toml", toml), builtin_registry(), overrides);
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < csvs.size(); ++i) paths.push_back(dir.write("data" + std::to_string(i) + ".csv", csvs[i]));
  backtest::LoadOptions lo;
  lo.default_bar_interval_ns = out.config.settings.bar_interval_ns;
  std::vector<backtest::DataFile> files;
  auto events = backtest::load_data_files(paths, lo, &files);
  out.result = backtest::run_backtest(out.config, builtin_registry(), events);
  out.report = backtest::build_report({&out.config, files, &out.result});
  return out;
}

inline constexpr std::int64_t kMinute = 60'000'000'000;
inline constexpr std::int64_t kT0 = 1'764'581'400'000'000'000;  // 2025-12-01T09:30:00Z

// One-bar momentum, long or flat, 10 shares of AAPL: long after a bar closes
// above the one before, flat after one closes at or below it. At about 100 a
// share, an order notional of about 1,000: under the default order limit and
// over 500. Extra lines go into the risk and portfolio sections.
inline std::string momentum_config(const std::string& risk_extra = {}, const std::string& portfolio_extra = {}) {
  return R"(
[engines.features]
input = "bars"
intervals = ["1m"]

[engines.risk]
initial_equity = 100000
[engines.risk.topics]
trades = ["marketdata.real_time.bar.*"]
)" + risk_extra + R"(

[engines.portfolio]
initial_cash = 100000
)" + portfolio_extra + R"(

[engines.strategy]
[[engines.strategy.instances]]
name = "mom"
kind = "momentum"
symbols = ["AAPL"]
interval = "1m"
allow_short = false
[engines.strategy.instances.params]
lookback = 1
[engines.strategy.instances.sizing]
mode = "fixed"
quantity = 10
)";
}

// Up, down, up...: the strategy goes long and flat in turn.
inline std::string alternating_bars_csv(int n) {
  std::string s = "ts_ns,symbol,open,high,low,close,volume\n";
  for (int i = 0; i < n; ++i) {
    const double close = 100.0 + ((i % 3 == 1) ? 1.0 : 0.0) + 0.1 * i;
    s += std::to_string(kT0 + i * kMinute) + ",AAPL," + nlohmann::json(100.0 + 0.1 * i).dump() + "," +
         nlohmann::json(close + 0.5).dump() + "," + nlohmann::json(99.0).dump() + "," + nlohmann::json(close).dump() +
         ",1000\n";
  }
  return s;
}

// The built `nautilus` run as a user runs it, stdout and stderr kept apart.
struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

inline CliRun run_cli(const std::string& args, const TempDir& dir) {
  const std::string out = dir.path("stdout"), err = dir.path("stderr");
  const std::string cmd = std::string(NAUTILUS_BINARY_DIR) + "/apps/nautilus-cli/nautilus " + args + " >" + out + " 2>" + err;
  const int st = std::system(cmd.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace nautilus::test
