// Helpers for the backtest tests: temporary files, a config from TOML text,
// and one run from texts (config and CSVs) to a result and its report.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
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

}  // namespace nautilus::test
