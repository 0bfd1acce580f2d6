// The whole paper-trading chain on in-process buses and the simulated clock,
// every engine real: trades and quotes → features → strategy signal and order
// → risk approval → portfolio fill at the next quote → position update → risk
// sees the position. Then a crash warning halts it: the strategies stop, and
// nothing that adds exposure is filled after the halt (checked on the recorded
// timeline of engine-bus messages).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/features/features_engine.h"
#include "engines/portfolio/portfolio_engine.h"
#include "engines/risk/risk_engine.h"
#include "engines/strategy/strategy_engine.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

nlohmann::json payload(const MessagePtr& m) { return nlohmann::json::parse(m->payload); }

nlohmann::json momentum(const std::string& name, const std::string& symbol) {
  return {{"name", name},
          {"kind", "momentum"},
          {"symbols", {symbol}},
          {"interval", "1s"},
          {"params", {{"lookback", 1}}},
          {"sizing", {{"mode", "fixed"}, {"quantity", 10}}}};
}

struct Chain {
  SimulatedClock clock;
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector engine_bus{*router, BusKind::kEngine, "*"};
  std::unique_ptr<Engine> features = make_features_engine();
  std::unique_ptr<Engine> risk = make_risk_engine();
  std::unique_ptr<Engine> portfolio = make_portfolio_engine();
  std::unique_ptr<Engine> strategy = make_strategy_engine();
  std::mt19937_64 rng{7};
  std::map<std::string, double> price = {{"AAPL", 100.0}, {"MSFT", 50.0}};
  std::int64_t t = 0;

  Chain() {
    features->start(EngineContext{*router, clock, {{"intervals", {"1s"}}, {"close_on_clock", false}}});
    risk->start(EngineContext{*router, clock, {{"vpin_halt_seconds", 3600}, {"cooldown_seconds", 0}}});
    portfolio->start(EngineContext{*router, clock, {{"initial_cash", 1'000'000}, {"commission_per_share", 0.01}}});
    strategy->start(EngineContext{*router, clock, {{"instances", {momentum("aapl", "AAPL"), momentum("msft", "MSFT")}}}});
    t = clock.now_ns() - clock.now_ns() % kSec + kSec;
  }
  ~Chain() {
    for (auto* e : {&strategy, &portfolio, &risk, &features}) (*e)->stop();
  }

  // One second of market: ten ticks, each a trade and then a quote per symbol.
  void second() {
    std::normal_distribution<double> step(0.0, 0.05);
    for (int k = 0; k < 10; ++k) {
      clock.advance_to(t);
      for (auto& [symbol, px] : price) {
        px = std::max(1.0, px + step(rng));
        auto trade = make_message("marketdata.real_time.trade." + symbol, MessageType::kTrade,
                                  nlohmann::json{{"ts_ns", t}, {"price", px}, {"size", 100}}.dump());
        trade->origin_ns = t;
        REQUIRE(router->publish(trade).is_ok());
        auto quote = make_message("marketdata.real_time.quote." + symbol, MessageType::kQuote,
                                  nlohmann::json{{"ts_ns", t}, {"bid", px - 0.01}, {"ask", px + 0.01}}.dump());
        REQUIRE(router->publish(quote).is_ok());
      }
      // One settle a tick (each is a full drain of both buses, slow under
      // ASan): an order decided after this tick's quote fills at the next.
      REQUIRE(test::settle(*router));
      t += kSec / 10;
    }
  }

  std::vector<MessagePtr> timeline() const {
    auto all = engine_bus.messages();
    std::sort(all.begin(), all.end(), [](const MessagePtr& a, const MessagePtr& b) { return a->id < b->id; });
    return all;
  }
};

}  // namespace

TEST_CASE("trading chain: tick -> features -> signal -> risk -> fill -> position -> risk; a crash halts it",
          "[strategy][portfolio][risk][chain]") {
  Chain c;
  for (int s = 0; s < 15; ++s) c.second();

  auto all = c.timeline();
  std::map<std::string, int> count;
  for (const auto& m : all) count[m->topic.substr(0, m->topic.find('.', m->topic.find('.') + 1))]++;
  CHECK(count["features.1s"] > 0);
  CHECK(count["strategy.signal"] > 0);
  CHECK(count["strategy.order"] > 0);
  CHECK(count["risk.decision"] > 0);
  REQUIRE(count["portfolio.fill"] > 0);
  CHECK(count["portfolio.position"] == count["portfolio.fill"]);

  // Each fill: an order of the strategy that risk approved, filled at a quote
  // from after the decision, carrying the tick's origin through every hop.
  std::map<std::string, MessagePtr> orders;  // order id -> order
  std::map<std::string, MessagePtr> decisions;  // order message id -> decision
  for (const auto& m : all) {
    if (m->topic.rfind("strategy.order.", 0) == 0) orders[payload(m)["id"]] = m;
    if (m->topic.rfind("risk.decision.", 0) == 0) decisions[m->correlation_id] = m;
  }
  for (const auto& m : all) {
    if (m->topic.rfind("portfolio.fill.", 0) != 0) continue;
    const auto f = payload(m);
    INFO(f.dump());
    REQUIRE(orders.count(f["order_id"]));
    const MessagePtr& order = orders[f["order_id"]];
    REQUIRE(decisions.count(order->id.to_string()));
    const MessagePtr& decision = decisions[order->id.to_string()];
    CHECK(payload(decision)["approved"] == true);
    CHECK(f["decision_ns"] == decision->timestamp_ns);
    CHECK(f["market_ns"].get<std::int64_t>() >= decision->timestamp_ns);
    CHECK(m->origin_ns == order->origin_ns);
    CHECK(f["strategy"] == payload(order)["instance"]);
  }

  // Risk sees the portfolio's positions (from portfolio.position.*, counted once).
  auto positions = c.portfolio->command("positions", {})["positions"];
  auto risk_positions = c.risk->command("state", {})["positions"];
  for (const auto& p : positions) {
    const std::string symbol = p["symbol"];
    INFO(symbol);
    const double q = p["quantity"];
    if (q == 0.0) continue;
    REQUIRE(risk_positions.contains(symbol));
    CHECK(risk_positions[symbol]["quantity"].get<double>() == Approx(q));
    CHECK(std::fabs(q) == Approx(10.0));  // the target of a fixed-size momentum instance
  }

  // The crash: VPIN's warning for AAPL. Risk halts (portfolio-wide), both
  // instances stop, and nothing that adds exposure fills from then on.
  auto warning = make_message("vpin.alert.AAPL", MessageType::kFlashCrashWarning,
                              nlohmann::json{{"symbol", "AAPL"}, {"vpin", 0.97}, {"cdf", 0.999}}.dump(),
                              Priority::kFlashCrash, "vpin");
  REQUIRE(c.router->publish(warning).is_ok());
  REQUIRE(test::settle(*c.router));
  const MessageId halt_boundary = c.timeline().back()->id;
  CHECK(c.risk->command("state", {})["state"] == "HALTED");
  for (int s = 0; s < 4; ++s) c.second();

  all = c.timeline();
  MessagePtr halt;
  std::map<std::string, std::string> instance_state;
  std::size_t opening_fills_after = 0, fills_after = 0, orders_after = 0;
  for (const auto& m : all) {
    if (m->topic == "risk.state" && payload(m)["state"] == "HALTED" && !halt) halt = m;
    if (m->topic.rfind("strategy.state.", 0) == 0) instance_state[payload(m)["instance"]] = payload(m)["state"];
    if (!(halt_boundary < m->id)) continue;
    if (m->topic.rfind("strategy.order.", 0) == 0) ++orders_after;
    if (m->topic.rfind("portfolio.fill.", 0) == 0) {
      ++fills_after;
      if (payload(m)["opened_quantity"].get<double>() > 0) ++opening_fills_after;
    }
  }
  REQUIRE(halt);
  CHECK(halt->priority == Priority::kUrgent);
  CHECK(instance_state["aapl"] == "HALTED");
  CHECK(instance_state["msft"] == "HALTED");
  CHECK(orders_after == 0);
  CHECK(opening_fills_after == 0);
  // Orders approved before the halt and waiting for a quote were cancelled by
  // it, and the stopped strategies send nothing: no fill at all.
  CHECK(fills_after == 0);
  CHECK(c.portfolio->health().metrics["counters"]["approved"].get<int>() > 0);
  CHECK(c.portfolio->health().errors == 0);
  CHECK(c.strategy->health().errors == 0);
}
