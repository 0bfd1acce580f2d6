// `nautilus backtest replay` as a user runs it: a run recorded with --record
// replays as "identical" (exit 0), the same recording with a tighter risk
// limit reports the first difference with both messages (exit 1), and bad
// input is exit 2 with one line on stderr and nothing on stdout.
#include <catch2/catch.hpp>

#include "backtest_test_support.h"

namespace {

using nautilus::test::run_cli;
using nautilus::test::TempDir;

}  // namespace

TEST_CASE("nautilus backtest replay: identical, then the first difference", "[backtest][cli][replay]") {
  TempDir dir;
  const std::string cfg = dir.write("config.toml", nautilus::test::momentum_config());
  const std::string data = dir.write("bars.csv", nautilus::test::alternating_bars_csv(12));
  const std::string rec = dir.path("rec.db");
  auto recorded = run_cli("--config " + cfg + " backtest run --no-progress --data " + data + " --record " + rec, dir);
  INFO(recorded.err);
  REQUIRE(recorded.exit_code == 0);

  auto same = run_cli("--config " + cfg + " backtest replay " + rec, dir);
  INFO(same.out + same.err);
  CHECK(same.exit_code == 0);
  CHECK_THAT(same.out, Catch::EndsWith("identical\n"));
  CHECK_THAT(same.out, Catch::Contains("replay: 12 market events of sqlite:"));
  CHECK_THAT(same.out, Catch::Contains("portfolio.fill.AAPL: "));

  // Recording into a file that exists is refused (two runs would replay as one).
  auto again = run_cli("--config " + cfg + " backtest run --no-progress --data " + data + " --record " + rec, dir);
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Catch::Contains("exists"));

  auto tighter = run_cli("--config " + cfg + " backtest replay " + rec + " --param risk.limits.order_notional=500", dir);
  INFO(tighter.out + tighter.err);
  CHECK(tighter.exit_code == 1);
  CHECK_THAT(tighter.out, Catch::Contains("first difference: risk.decision.AAPL, message 1 on the topic"));
  CHECK_THAT(tighter.out, Catch::Contains("  recorded: 2025-12-01T"));
  CHECK_THAT(tighter.out, Catch::Contains("\"approved\":true"));
  CHECK_THAT(tighter.out, Catch::Contains("\"approved\":false"));
  CHECK_THAT(tighter.out, Catch::Contains("differs in: approved"));

  auto json = run_cli("--json --config " + cfg + " backtest replay " + rec + " --param risk.limits.order_notional=500", dir);
  CHECK(json.exit_code == 1);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["identical"] == false);
  CHECK(j["first_difference"]["topic"] == "risk.decision.AAPL");
  CHECK(j["first_difference"]["recorded"]["payload"]["approved"] == true);
  CHECK(j["first_difference"]["replayed"]["payload"]["approved"] == false);

  // Leaving the prices out does not hide a denial.
  auto without_prices = run_cli("--json --config " + cfg + " backtest replay " + rec +
                                    " --ignore-prices --param risk.limits.order_notional=500", dir);
  CHECK(without_prices.exit_code == 1);
  const auto wp = nlohmann::json::parse(without_prices.out);
  CHECK(wp["first_difference"]["fields"] == nlohmann::json::array({"approved", "breaches", "decision", "reasons"}));
  CHECK(std::count(wp["ignored_fields"].begin(), wp["ignored_fields"].end(), "notional") == 1);

  // An empty window.
  auto empty = run_cli("--config " + cfg + " backtest replay " + rec + " --from 2030-01-01", dir);
  CHECK(empty.exit_code == 2);
  CHECK_THAT(empty.err, Catch::Contains("no recorded market data"));
  CHECK(empty.out.empty());
}

TEST_CASE("nautilus backtest replay: bad input is exit 2 with one line", "[backtest][cli][replay]") {
  TempDir dir;
  const std::string cfg = dir.write("config.toml", nautilus::test::momentum_config());
  struct Case {
    const char* what;
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"missing file", "--config " + cfg + " backtest replay " + dir.path("nope.db"), "nope.db: no such file"},
      {"not a store", "--config " + cfg + " backtest replay " + dir.write("notes.txt", "hello, not a database\n"),
       "notes.txt: not a history store"},
      {"empty file", "--config " + cfg + " backtest replay " + dir.write("zero.db", ""), "zero.db: not a history store"},
      {"a directory", "--config " + cfg + " backtest replay " + dir.path(), "is a directory"},
      {"no config", "backtest replay " + dir.path("nope.db"), "--config FILE is required"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto r = run_cli(c.args, dir);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(c.message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
  }
  CHECK_FALSE(std::filesystem::exists(dir.path("nope.db")));  // not created by looking
}
