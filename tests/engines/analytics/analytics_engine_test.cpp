// The analytics engine on in-process buses with the simulated clock: fed
// portfolio_update messages it samples the equity curve every sample_interval
// and publishes performance_metric with the figures of that curve; fills are
// attributed to the strategy that sent their order; attribution adds up; bad
// config is reported per key.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/analytics/analytics_engine.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

nlohmann::json payload(const MessagePtr& m) { return nlohmann::json::parse(m->payload); }

struct Rig {
  SimulatedClock clock;
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector metrics{*router, BusKind::kEngine, "analytics.performance.*"};
  std::unique_ptr<Engine> engine = make_analytics_engine();

  explicit Rig(const nlohmann::json& config) { engine->start(EngineContext{*router, clock, config}); }
  ~Rig() { engine->stop(); }

  void send(const std::string& topic, MessageType type, const nlohmann::json& body) {
    REQUIRE(router->publish(make_message(topic, type, body.dump(), Priority::kNormal, "portfolio")).is_ok());
    REQUIRE(test::settle(*router));
  }
  void summary(double equity, double cash) {
    send("portfolio.summary", MessageType::kPortfolioUpdate, {{"equity", equity}, {"cash", cash}});
  }
  void tick() {
    clock.advance_by(kSec);
    REQUIRE(test::settle(*router));
  }
  std::vector<nlohmann::json> published(const std::string& topic) {
    std::vector<nlohmann::json> out;
    for (const auto& m : metrics.messages()) {
      if (m->topic == topic) {
        CHECK(m->type == MessageType::kPerformanceMetric);
        out.push_back(payload(m));
      }
    }
    return out;
  }
};

double sample_std(const std::vector<double>& r) {
  double m = 0.0;
  for (double x : r) m += x;
  m /= static_cast<double>(r.size());
  double ss = 0.0;
  for (double x : r) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(r.size() - 1));
}

}  // namespace

TEST_CASE("analytics engine: portfolio updates become an equity curve and published figures", "[analytics][engine]") {
  Rig rig({{"sample_interval", "1s"}, {"publish_interval", "5s"}, {"periods_per_year", 1000}});
  const std::vector<double> equities = {1'000'000, 1'002'000, 999'000, 1'001'500, 1'004'000, 1'003'000,
                                        1'006'000, 1'005'500, 1'008'000, 1'007'000};
  for (double e : equities) {
    rig.summary(e, e);
    rig.tick();  // the sample of this second sees e
  }
  std::vector<double> r;
  for (std::size_t i = 1; i < equities.size(); ++i) r.push_back(equities[i] / equities[i - 1] - 1.0);
  double mean = 0.0;
  for (double x : r) mean += x;
  mean /= static_cast<double>(r.size());

  const auto out = rig.published("analytics.performance.portfolio");
  REQUIRE(out.size() == 3);  // at the first sample, 5 s and 10 s
  CHECK(out[0]["interval"]["returns"] == 0);
  const auto& last = out.back();
  CHECK(last["subject"] == "portfolio");
  CHECK(last["equity"] == 1'007'000.0);
  CHECK(last["interval"]["returns"] == r.size());
  CHECK(last["interval"]["cumulative_return"].get<double>() == Approx(1'007'000.0 / 1'000'000.0 - 1.0).epsilon(1e-12));
  CHECK(last["interval"]["sharpe"].get<double>() == Approx(mean / sample_std(r) * std::sqrt(1000.0)).epsilon(1e-9));
  CHECK(last["interval"]["max_drawdown"].get<double>() == Approx(999'000.0 / 1'002'000.0 - 1.0).epsilon(1e-12));
  CHECK(last["daily"]["returns"] == 0);  // ten seconds: no day closed
  CHECK(last["undefined"]["daily.sharpe"] == "no returns yet");
  CHECK(last["attribution"]["sector"]["periods"] == r.size());

  // The report command and metrics() say the same.
  const auto report = rig.engine->command("report", {});
  CHECK(report["portfolio"]["interval"]["sharpe"] == last["interval"]["sharpe"]);
  const auto m = rig.engine->health().metrics;
  CHECK(m["portfolio"]["returns"] == r.size());
  CHECK(m["portfolio"]["sharpe"] == last["interval"]["sharpe"]);
  CHECK(m["counters"]["summaries"] == equities.size());
  CHECK_THROWS_AS(rig.engine->command("bogus", {}), std::out_of_range);
}

TEST_CASE("analytics engine: fills attributed to their strategy by order id; sectors attribute the P&L", "[analytics][engine]") {
  Rig rig({{"sample_interval", "1s"},
           {"publish_interval", "1s"},
           {"strategy_capital", 100'000},
           {"sectors", {{"AAPL", "tech"}, {"XOM", "energy"}}},
           {"benchmark", {{"sectors", {{"tech", {{"weight", 0.5}, {"return", 0.001}}}, {"energy", {{"weight", 0.3}, {"return", -0.0005}}}}}}}});
  rig.summary(1'000'000, 1'000'000);
  rig.tick();
  rig.send("strategy.order.AAPL", MessageType::kOrder,
           {{"id", "momo-1"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 100}, {"instance", "momo"}});
  rig.send("portfolio.fill.AAPL", MessageType::kFill,
           {{"order_id", "momo-1"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 100}, {"price", 200.0},
            {"notional", 20'000.0}, {"realized_pnl", -1.0}, {"closed_quantity", 0.0}});
  rig.send("portfolio.position.AAPL", MessageType::kPositionUpdate,
           {{"symbol", "AAPL"}, {"quantity", 100.0}, {"avg_price", 200.0}, {"realized_pnl", -1.0}, {"mark", 200.0}});
  rig.summary(999'999, 979'999);
  rig.tick();
  // The price rises 1 %: a quote marks the long at its bid.
  rig.send("marketdata.real_time.quote.AAPL", MessageType::kQuote, {{"symbol", "AAPL"}, {"bid", 202.0}, {"ask", 202.1}});
  rig.summary(1'000'199, 979'999);
  rig.tick();

  const auto strat = rig.published("analytics.performance.momo");
  REQUIRE(strat.size() == 2);  // from the first sample after its fill
  CHECK(strat[0]["equity"].get<double>() == Approx(99'999.0));  // capital − the commission
  CHECK(strat[1]["subject"] == "strategy");
  CHECK(strat[1]["trades"]["fills"] == 1);
  CHECK(strat[1]["trades"]["traded_notional"] == 20'000.0);
  // Its equity: capital + realised + unrealised = 100,000 − 1 + 100·(202 − 200).
  CHECK(strat[1]["equity"].get<double>() == Approx(100'199.0));
  CHECK(strat[1]["interval"]["cumulative_return"].get<double>() == Approx(100'199.0 / 99'999.0 - 1.0).epsilon(1e-12));

  const auto report = rig.engine->command("report", {});
  const auto& sector = report["attribution"]["sector"];
  REQUIRE(sector["periods"] == 2);
  // Second period: tech held 20,000 of 999,999 and earned 200 (1 %).
  const auto& tech = sector["last_period"]["segments"]["tech"];
  CHECK(tech["portfolio_weight"].get<double>() == Approx(20'000.0 / 999'999.0).epsilon(1e-12));
  CHECK(tech["portfolio_return"].get<double>() == Approx(0.01).epsilon(1e-12));
  CHECK(tech["benchmark_weight"] == 0.5);
  const auto& lp = sector["last_period"];
  double sum = 0.0;
  for (const auto& [name, s] : lp["segments"].items()) {
    sum += s["allocation"].get<double>() + s["selection"].get<double>() + s["interaction"].get<double>();
  }
  CHECK(sum == Approx(lp["excess_return"].get<double>()).margin(1e-15));
  CHECK(sector["totals"]["total"].get<double>() == Approx(sector["excess_return"].get<double>()).margin(1e-12));
  // The first period: the opening commission of a position that held nothing at its start.
  CHECK(sector["unattributed_return"].get<double>() == Approx(-1.0 / 1'000'000.0).epsilon(1e-9));
  CHECK(report["attribution"]["strategy"]["last_period"]["segments"].contains("momo"));
  CHECK(rig.engine->health().metrics["counters"]["unattributed_fills"] == 0);
}

TEST_CASE("analytics engine: malformed input is counted; config problems are named by key", "[analytics][engine]") {
  Rig rig({{"sample_interval", "1s"}, {"publish_interval", "1s"}});
  rig.send("portfolio.summary", MessageType::kPortfolioUpdate, {{"cash", 5}});
  REQUIRE(rig.router->publish(make_message("portfolio.summary", MessageType::kPortfolioUpdate, "{not json")).is_ok());
  REQUIRE(test::settle(*rig.router));
  rig.tick();
  CHECK(rig.engine->health().metrics["counters"]["malformed"] == 2);
  CHECK(rig.published("analytics.performance.portfolio").empty());  // nothing sampled, nothing published

  struct Case {
    nlohmann::json config;
    std::string key;
  };
  const Case cases[] = {
      {{{"bogus", 1}}, "bogus"},
      {{{"sample_interval", "0s"}}, "sample_interval"},
      {{{"var_confidence", 1.5}}, "var_confidence"},
      {{{"sectors", {{"AAPL", 3}}}}, "sectors.AAPL"},
      {{{"benchmark", {{"sectors", {{"tech", {{"weight", 0.7}}}, {"energy", {{"weight", 0.6}}}}}}}}, "benchmark.sectors"},
      {{{"benchmark", {{"strategies", {{"momo", {{"weight", 0.2}, {"retrun", 0.1}}}}}}}}, "benchmark.strategies.momo.retrun"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.config.dump());
    const auto problems = rig.engine->config_problems(c.config);
    REQUIRE_FALSE(problems.empty());
    bool named = false;
    for (const auto& p : problems) named = named || p.key == c.key;
    CHECK(named);
  }
  CHECK(rig.engine->config_problems({{"sample_interval", "1m"}, {"risk_free_rate", 0.04}}).empty());
}
