// `nautilus backtest` as a user runs it (the built binary): the example's
// report and SVG, a sweep whose table is the same for -j 1 and -j 2, and bad
// input refused with exit 2 and nothing on stdout.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>

#include "backtest_test_support.h"

namespace {

const std::string kSource = NAUTILUS_SOURCE_DIR;
using Run = nautilus::test::CliRun;

Run run(const std::string& args, const nautilus::test::TempDir& dir) { return nautilus::test::run_cli(args, dir); }

std::string example_args() {
  return "--config " + kSource + "/examples/backtest/backtest.toml backtest run --data " + kSource +
         "/examples/backtest/aapl_1m.csv --data " + kSource + "/examples/backtest/msft_1m.csv";
}

}  // namespace

TEST_CASE("nautilus backtest run: the example prints a report and writes the SVG", "[backtest][cli]") {
  nautilus::test::TempDir dir;
  auto r = run(example_args() + " --to 2025-12-01T11:00:00Z --out " + dir.path("out"), dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("fill model"));
  CHECK_THAT(r.out, Catch::Contains("final equity"));
  const std::string svg = nautilus::test::read_file(dir.path("out/equity.svg"));
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK_THAT(svg, Catch::Contains("<polyline"));
  auto json = run("--json " + example_args() + " --to 2025-12-01T11:00:00Z", dir);
  REQUIRE(json.exit_code == 0);
  auto report = nlohmann::json::parse(json.out);
  CHECK(report["trades"].size() > 0);
}

TEST_CASE("nautilus backtest sweep: the same table with -j 1 and -j 2", "[backtest][cli][sweep]") {
  nautilus::test::TempDir dir;
  // The example's engines over its first 90 minutes: short enough for a sanitizer build.
  const std::string args = "--json --config " + kSource + "/examples/backtest/backtest.toml backtest sweep --data " +
                           kSource + "/examples/backtest/aapl_1m.csv --data " + kSource +
                           "/examples/backtest/msft_1m.csv --to 2025-12-01T11:00:00Z"
                           " --param strategy.fast=3,5 --param strategy.slow=10,30 --sort pnl";
  auto one = run(args + " -j 1", dir);
  INFO(one.err);
  REQUIRE(one.exit_code == 0);
  auto two = run(args + " -j 2", dir);
  REQUIRE(two.exit_code == 0);
  CHECK(one.out == two.out);
  auto table = nlohmann::json::parse(one.out);
  REQUIRE(table["rows"].size() == 4);
  // Sorted best first by P&L.
  for (std::size_t i = 1; i < table["rows"].size(); ++i) {
    CHECK(table["rows"][i - 1]["figures"]["pnl"].get<double>() >= table["rows"][i]["figures"]["pnl"].get<double>());
  }
  // Not all the same: the parameters reached the strategy.
  CHECK(table["rows"][0]["figures"]["pnl"] != table["rows"][3]["figures"]["pnl"]);
}

TEST_CASE("nautilus backtest: bad input is exit 2 with a clear error and no report", "[backtest][cli]") {
  nautilus::test::TempDir dir;
  const std::string cfg = kSource + "/examples/backtest/backtest.toml";
  const std::string good = kSource + "/examples/backtest/aapl_1m.csv", msft = kSource + "/examples/backtest/msft_1m.csv";
  struct Case {
    const char* what;
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"bad row", "--data " + dir.write("bad.csv", "ts_ns,symbol,price,size\n1,AAPL,1,1\n2,AAPL,x,1\n") + " --data " + msft,
       "bad.csv:3: bad number 'x' in column 'price'"},
      {"unsorted", "--data " + dir.write("uns.csv", "ts_ns,symbol,price,size\n2,AAPL,1,1\n1,AAPL,1,1\n") + " --data " + msft,
       "uns.csv:3: rows out of time order"},
      {"unknown column", "--data " + dir.write("col.csv", "ts_ns,symbol,price,size,venue\n1,AAPL,1,1,X\n"),
       "unknown column 'venue'"},
      {"empty file", "--data " + dir.write("empty.csv", ""), "empty.csv:1: empty file"},
      {"unknown symbol", "--data " + good, "symbol(s) in the config with no rows in the data: MSFT"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    INFO(c.what);
    const std::string out_dir = dir.path("out-" + std::to_string(i));
    auto r = run("--config " + cfg + " backtest run --out " + out_dir + " " + c.args, dir);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(c.message));
    CHECK(r.out.empty());
    CHECK(!std::filesystem::exists(out_dir));  // no half report
  }
  // A config problem: file:line and the key.
  const std::string bad_cfg = dir.write("bad.toml", "[engines.portfolio]\nslippage_bps = -1\n");
  auto r = run("--config " + bad_cfg + " backtest run --data " + good, dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("bad.toml:2: engines.portfolio.slippage_bps"));
}
