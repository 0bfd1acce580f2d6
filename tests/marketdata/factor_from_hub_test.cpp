// The factor engine fed by the real marketdata engine (synthetic source) on an
// in-process bus with the simulated clock: fundamentals and quotes through
// marketdata.request, factor.returns and factor.scores.* with real values,
// the same messages on a second run.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "core/clock.h"
#include "core/message.h"
#include "engines/factor/factor_engine.h"
#include "marketdata/marketdata_engine.h"
#include "marketdata/sources/synthetic_fundamentals.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kHour = 3'600'000'000'000;

struct Run {
  std::vector<nlohmann::json> returns;
  std::map<std::string, std::vector<nlohmann::json>> scores;
  nlohmann::json metrics;
};

Run run_hours(int hours) {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  std::mutex mu;
  Run run;
  auto sub = router->subscribe(BusKind::kEngine, "factor.*", [&](const MessagePtr& m) {
    std::lock_guard lock(mu);
    CHECK(m->type == MessageType::kFactorUpdate);
    auto j = nlohmann::json::parse(m->payload);
    if (m->topic == "factor.returns") run.returns.push_back(j);
    else run.scores[m->topic].push_back(j);
  });
  auto md = md::make_marketdata_engine();
  md->start(EngineContext{*router, clock,
                          {{"symbols", nlohmann::json::array()},
                           {"stream_interval_ms", 3'600'000},  // nothing streams here
                           {"sources", {{{"kind", "synthetic"}, {"step_ms", 60'000}, {"volatility", 0.6}}}}}});
  auto factor = make_factor_engine();
  factor->start(EngineContext{*router, clock,
                              {{"interval", "1h"}, {"momentum", {{"trailing", 3}, {"half_life", 2}, {"lag", 1}}}}});
  // The start's sample is answered at the start's time, before the clock moves.
  for (int i = 0; i < 4; ++i) REQUIRE(router->drain(std::chrono::seconds(30)));
  for (int h = 0; h < hours; ++h) {
    clock.advance_by(kHour);
    for (int i = 0; i < 4; ++i) REQUIRE(router->drain(std::chrono::seconds(30)));
  }
  run.metrics = factor->health().metrics;
  factor->stop();
  md->stop();
  router->close();
  return run;
}

}  // namespace

TEST_CASE("factor engine: a model step per interval from the hub's fundamentals and quotes", "[factor][engine]") {
  const Run run = run_hours(8);
  // A sample at start and one an hour: 8 periods with returns.
  REQUIRE(run.returns.size() == 8);
  CHECK(run.metrics["unanswered"].get<std::uint64_t>() == 0);
  for (std::size_t s = 0; s < run.returns.size(); ++s) {
    INFO("step " << s);
    const auto& r = run.returns[s];
    CHECK(r["n_assets"].get<std::size_t>() == md::synthetic_universe().size());
    REQUIRE(r["sectors"].size() == 11);
    double sum = 0;
    for (const auto& [name, v] : r["sectors"].items()) sum += v.get<double>();
    CHECK(std::fabs(sum) < 1e-15);
    CHECK(std::isfinite(r["market"].get<double>()));
    CHECK(r["market"].get<double>() != 0.0);
    CHECK(r["styles"]["value"].is_number());
    CHECK(r["styles"]["size"].is_number());
    // trailing 3 + lag 1 = 4 returns of history: momentum from the 4th period on
    CHECK(r["styles"]["momentum"].is_null() == (s < 3));
    CHECK(r["r_squared"].get<double>() > 0.0);
  }
  REQUIRE(run.scores.size() == md::synthetic_universe().size());
  const auto& it01 = run.scores.at("factor.scores.IT01");
  REQUIRE(it01.size() == 8);
  CHECK(it01.back()["sector"] == "information_technology");
  CHECK(it01.back()["scores"]["momentum"].is_number());
  CHECK(std::isfinite(it01.back()["residual"].get<double>()));
}

TEST_CASE("factor engine: the same market gives the same factor messages", "[factor][engine]") {
  const Run a = run_hours(3), b = run_hours(3);
  REQUIRE(a.returns.size() == 3);
  CHECK(a.returns == b.returns);
  CHECK(a.scores == b.scores);
}

TEST_CASE("factor engine: the default universe is the synthetic source's", "[factor][engine]") {
  const auto u = md::synthetic_universe();
  CHECK(default_factor_universe() == std::vector<std::string>(u.begin(), u.end()));
}
