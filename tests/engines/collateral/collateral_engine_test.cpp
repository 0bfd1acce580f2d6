// The collateral engine on an in-process bus with the real risk engine: the
// portfolio's messages (shaped as portfolio_engine.cpp publishes them) build a
// leveraged long, quotes walk the market down, and the account's margin call
// arrives at urgent while equity is still positive; risk reads its
// utilisation and halts trading.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/collateral/collateral_engine.h"
#include "engines/risk/risk_engine.h"

using namespace nautilus;

namespace {

nlohmann::json payload(const MessagePtr& m) { return nlohmann::json::parse(m->payload); }

struct Rig {
  SimulatedClock clock;
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector margin{*router, BusKind::kEngine, "collateral.margin.*"};
  test::Collector states{*router, BusKind::kEngine, "risk.state"};
  std::unique_ptr<Engine> collateral = make_collateral_engine();
  std::unique_ptr<Engine> risk = make_risk_engine();

  explicit Rig(nlohmann::json config) {
    risk->start(EngineContext{*router, clock, {{"cooldown_seconds", 0}}});
    collateral->start(EngineContext{*router, clock, std::move(config)});
  }
  ~Rig() {
    collateral->stop();
    risk->stop();
  }
  void send(BusKind bus, const std::string& topic, MessageType type, const nlohmann::json& p) {
    REQUIRE(router->publish(bus, make_message(topic, type, p.dump())).is_ok());
    REQUIRE(test::settle(*router));
  }
  void buy(const std::string& symbol, double quantity, double price, double position) {
    send(BusKind::kEngine, "portfolio.fill." + symbol, MessageType::kFill,
         {{"symbol", symbol}, {"side", "buy"}, {"quantity", quantity}, {"price", price}, {"commission", 0.0},
          {"position", position}});
    send(BusKind::kEngine, "portfolio.position." + symbol, MessageType::kPositionUpdate,
         {{"symbol", symbol}, {"quantity", position}, {"avg_price", price}, {"mark", price}});
  }
  void quote(const std::string& symbol, double mid) {
    send(BusKind::kMarketData, "marketdata.real_time.quote." + symbol, MessageType::kQuote,
         {{"bid", mid - 0.01}, {"ask", mid + 0.01}});
  }
  void advance(std::int64_t ns) {
    clock.advance_by(ns);
    REQUIRE(test::settle(*router));
  }
  std::optional<std::string> risk_state() {
    auto s = states.messages();
    if (s.empty()) return std::nullopt;
    return payload(s.back())["state"].get<std::string>();
  }
};

}  // namespace

TEST_CASE("collateral engine: a falling market calls the account before equity turns negative; risk halts",
          "[collateral][engine]") {
  // 1,000 shares at $100 with $50,000 of own money: a $50,000 loan (Reg T's 50%).
  Rig rig(nlohmann::json{{"account", "main"}, {"initial_cash", 50'000.0}, {"publish_interval", "1s"}});
  rig.buy("AAA", 1'000, 100.0, 1'000);
  rig.advance(1'000'000'000);
  auto show = rig.collateral->command("show", {});
  CHECK(show["equity"].get<double>() == Approx(50'000));
  CHECK(show["loan"].get<double>() == Approx(50'000));
  CHECK(show["utilization"].get<double>() == Approx(0.5));
  const double call_price = show["positions"][0]["call_price"].get<double>();
  CHECK(call_price == Approx(100.0 * 0.5 / 0.75));

  // Walk the market down a dollar a second.
  std::optional<nlohmann::json> first_call;
  Priority first_call_priority = Priority::kLow;
  std::size_t seen = 0;
  for (double mid = 99.0; mid >= 55.0 && !first_call; mid -= 1.0) {
    rig.quote("AAA", mid);
    rig.advance(1'000'000'000);
    auto ms = rig.margin.messages();
    for (; seen < ms.size(); ++seen) {
      auto j = payload(ms[seen]);
      CHECK(ms[seen]->topic == "collateral.margin.main");
      if (j["margin_call"].get<bool>() && !first_call) {
        first_call = j;
        first_call_priority = ms[seen]->priority;
      }
    }
  }
  REQUIRE(first_call);
  const double price_at_call = (*first_call)["positions"][0]["price"].get<double>();
  CHECK(price_at_call < call_price);
  CHECK(price_at_call > call_price - 1.0);  // the first quote under the call price
  CHECK((*first_call)["equity"].get<double>() > 0.0);  // called while there is equity left
  CHECK((*first_call)["utilization"].get<double>() > 1.0);
  CHECK(first_call_priority == Priority::kUrgent);
  // The risk engine read the utilisation: 100% halts (its margin_utilization limit).
  REQUIRE(rig.risk_state());
  CHECK(*rig.risk_state() == "HALTED");
  const auto last_state = payload(rig.states.messages().back());
  CHECK(last_state["reason"].get<std::string>().find("margin_utilization") != std::string::npos);
  CHECK(rig.collateral->health().metrics["margin_calls"].get<std::uint64_t>() == 1);
}

TEST_CASE("collateral engine: a summary resyncs cash only when it has seen the same fills", "[collateral][engine]") {
  Rig rig(nlohmann::json{{"initial_cash", 10'000.0}});
  rig.buy("AAA", 10, 100.0, 10);  // cash 9,000 from the fill
  CHECK(rig.collateral->command("show", {})["cash"].get<double>() == Approx(9'000));
  // A summary from before the fill (fills 0) must not undo it.
  rig.send(BusKind::kEngine, "portfolio.summary", MessageType::kPortfolioUpdate, {{"cash", 10'000.0}, {"fills", 0}});
  CHECK(rig.collateral->command("show", {})["cash"].get<double>() == Approx(9'000));
  // One that has seen it is the authority (here: a commission we did not know).
  rig.send(BusKind::kEngine, "portfolio.summary", MessageType::kPortfolioUpdate, {{"cash", 8'999.0}, {"fills", 1}});
  auto show = rig.collateral->command("show", {});
  CHECK(show["cash"].get<double>() == Approx(8'999));
  CHECK(show["counters"]["cash_resyncs"].get<std::uint64_t>() == 1);
  // Bad input is counted and changes nothing.
  rig.send(BusKind::kEngine, "portfolio.fill.AAA", MessageType::kFill, {{"symbol", "AAA"}, {"side", "hold"}});
  CHECK(rig.collateral->command("show", {})["counters"]["malformed"].get<std::uint64_t>() == 1);
  CHECK(rig.collateral->command("show", {})["cash"].get<double>() == Approx(8'999));
}

TEST_CASE("collateral engine: config problems by key path", "[collateral][engine]") {
  auto engine = make_collateral_engine();
  auto problems = engine->config_problems({{"account", "a.b"},
                                           {"equity", {{"long_maintenance", 0.6}}},
                                           {"instruments", {{"ES", {{"kind", "future"}, {"leverage", 0}}}}},
                                           {"bogus", 1}});
  std::vector<std::string> keys;
  for (const auto& p : problems) keys.push_back(p.key);
  CHECK(std::find(keys.begin(), keys.end(), "account") != keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "equity.long_maintenance") != keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "instruments.ES.leverage") != keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "bogus") != keys.end());
  CHECK(engine->config_problems({{"instruments", {{"EURUSD", {{"kind", "fx"}, {"leverage", 30}}}}}}).empty());
}
