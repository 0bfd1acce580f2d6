// The risk engine's inputs as they arrive on the bus (not at manager level):
// fills on both default topics, margin status, strategy orders, and the
// `topics` section that moves each input to other patterns. Only the engine's
// public behaviour is used: what it publishes, its `state` command, its
// metrics and its config problems.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/config_reader.h"
#include "engines/risk/risk_engine.h"

using namespace nautilus;

namespace {

std::shared_ptr<Message> msg(const std::string& topic, MessageType type, const nlohmann::json& payload) {
  return make_message(topic, type, payload.dump());
}

nlohmann::json payload(const MessagePtr& m) { return nlohmann::json::parse(m->payload); }

struct Rig {
  SimulatedClock clock;
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector alerts{*router, BusKind::kEngine, "risk.alert.*"};
  test::Collector states{*router, BusKind::kEngine, "risk.state"};
  test::Collector decisions{*router, BusKind::kEngine, "risk.decision.*"};
  std::unique_ptr<Engine> engine = make_risk_engine();

  explicit Rig(nlohmann::json config = nlohmann::json::object()) {
    config["cooldown_seconds"] = 0;
    engine->start(EngineContext{*router, clock, std::move(config)});
  }
  ~Rig() { engine->stop(); }
  void send(const std::shared_ptr<Message>& m) {
    REQUIRE(router->publish(m).is_ok());
    REQUIRE(test::settle(*router));
  }
  nlohmann::json positions() { return engine->command("state", {})["positions"]; }
  std::uint64_t malformed() { return engine->health().metrics["counters"]["malformed"].get<std::uint64_t>(); }
  std::vector<MessagePtr> alerts_of(const std::string& topic) {
    std::vector<MessagePtr> out;
    for (const auto& a : alerts.messages()) {
      if (a->topic == topic) out.push_back(a);
    }
    return out;
  }
};

nlohmann::json fill(const std::string& symbol, const std::string& side, double quantity, double price) {
  return {{"symbol", symbol}, {"side", side}, {"quantity", quantity}, {"price", price}};
}

}  // namespace

TEST_CASE("risk bus inputs: fills on the default topic move positions; a bad fill is counted", "[risk][engine]") {
  Rig rig;
  rig.send(msg("execution.fill.AAPL", MessageType::kFill, fill("AAPL", "buy", 100, 50.0)));
  rig.send(msg("execution.fill.MSFT", MessageType::kFill, fill("MSFT", "sell", 10, 20.0)));
  rig.send(msg("execution.fill.AAPL", MessageType::kFill, fill("AAPL", "buy", 100, 60.0)));
  auto p = rig.positions();
  REQUIRE(p.contains("AAPL"));
  REQUIRE(p.contains("MSFT"));
  CHECK(p["AAPL"]["quantity"].get<double>() == Approx(200));
  CHECK(p["AAPL"]["avg_price"].get<double>() == Approx(55.0));  // (100*50 + 100*60) / 200
  CHECK(p["MSFT"]["quantity"].get<double>() == Approx(-10));

  // A fill with no price changes nothing and is counted; a fill on a topic the
  // engine does not read is not seen at all.
  rig.send(msg("execution.fill.AAPL", MessageType::kFill, {{"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 5}}));
  CHECK(rig.malformed() == 1);
  rig.send(msg("ledger.fill.AAPL", MessageType::kFill, fill("AAPL", "buy", 1000, 50.0)));
  CHECK(rig.positions()["AAPL"]["quantity"].get<double>() == Approx(200));
  CHECK(rig.malformed() == 1);
}

// The portfolio publishes a fill AND the resulting absolute position for each
// execution: risk must count it once, in either delivery order.
TEST_CASE("risk bus inputs: a portfolio fill and its position update count once", "[risk][engine]") {
  Rig rig;
  rig.send(msg("portfolio.fill.AAPL", MessageType::kFill, fill("AAPL", "buy", 100, 50.0)));
  rig.send(msg("portfolio.position.AAPL", MessageType::kPositionUpdate,
               {{"symbol", "AAPL"}, {"quantity", 100}, {"avg_price", 50.0}}));
  rig.send(msg("portfolio.position.AAPL", MessageType::kPositionUpdate,
               {{"symbol", "AAPL"}, {"quantity", 150}, {"avg_price", 52.0}}));
  rig.send(msg("portfolio.fill.AAPL", MessageType::kFill, fill("AAPL", "buy", 50, 56.0)));
  auto p = rig.positions();
  REQUIRE(p.contains("AAPL"));
  CHECK(p["AAPL"]["quantity"].get<double>() == Approx(150));
  CHECK(p["AAPL"]["avg_price"].get<double>() == Approx(52.0));
}

TEST_CASE("risk bus inputs: margin status on collateral.margin.* breaches, then halts", "[risk][engine]") {
  Rig rig;
  // Default limit 0.8 of equity; 1.25 x the limit (100% utilisation) halts.
  rig.send(msg("collateral.margin.main", MessageType::kMarginStatus, {{"utilization", 0.5}}));
  CHECK(rig.alerts_of("risk.alert.margin_utilization").empty());
  CHECK(rig.engine->command("state", {})["state"] == "ACTIVE");

  auto breach = msg("collateral.margin.main", MessageType::kMarginStatus, {{"utilization", 0.9}});
  rig.send(breach);
  auto a = rig.alerts_of("risk.alert.margin_utilization");
  REQUIRE(a.size() == 1);
  CHECK(a[0]->priority == Priority::kUrgent);
  CHECK(payload(a[0])["level"] == "breach");
  CHECK(payload(a[0])["value"].get<double>() == Approx(0.9));
  CHECK(payload(a[0])["limit"].get<double>() == Approx(0.8));
  CHECK(a[0]->correlation_id == breach->id.to_string());  // the alert names its cause
  CHECK(rig.engine->command("state", {})["state"] == "REDUCING");

  // The alternative key, at 100%: HALTED, announced on risk.state.
  rig.send(msg("collateral.margin.main", MessageType::kMarginStatus, {{"margin_utilization", 1.0}}));
  CHECK(rig.engine->command("state", {})["state"] == "HALTED");
  auto s = rig.states.messages();
  REQUIRE_FALSE(s.empty());
  CHECK(payload(s.back())["state"] == "HALTED");

  // No utilization at all: counted, nothing changes.
  rig.send(msg("collateral.margin.main", MessageType::kMarginStatus, {{"used", 3}}));
  CHECK(rig.malformed() == 1);
}

TEST_CASE("risk bus inputs: strategy.order.* gets a decision that answers it", "[risk][engine]") {
  Rig rig;
  rig.send(msg("marketdata.real_time.trade.AAPL", MessageType::kTrade, {{"price", 100.0}, {"size", 1}}));
  auto small = msg("strategy.order.AAPL", MessageType::kOrder,
                   {{"id", "s1"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 10}});
  auto huge = msg("strategy.order.AAPL", MessageType::kOrder,
                  {{"id", "s2"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 100000}});
  rig.send(small);
  rig.send(huge);
  auto d = rig.decisions.messages();
  REQUIRE(d.size() == 2);
  CHECK(d[0]->topic == "risk.decision.AAPL");
  CHECK(d[0]->correlation_id == small->id.to_string());
  CHECK(payload(d[0])["order_id"] == "s1");
  CHECK(payload(d[0])["approved"] == true);
  CHECK(d[1]->correlation_id == huge->id.to_string());
  CHECK(payload(d[1])["approved"] == false);  // 10M notional over the default order-notional limit
}

TEST_CASE("risk bus inputs: [engines.risk.topics] moves each input to its own patterns", "[risk][engine]") {
  nlohmann::json topics = {{"fills", "desk.fill.*"},
                            {"margin", {"prime.margin.*", "clearing.margin.*"}},
                            {"orders", "desk.order.*"},
                            {"trades", "feed.trade.*"}};
  Rig rig(nlohmann::json{{"topics", topics}});
  auto subs = rig.engine->subscribes_to();
  for (const char* p : {"desk.fill.*", "prime.margin.*", "clearing.margin.*", "desk.order.*", "feed.trade.*"}) {
    CHECK(std::find(subs.begin(), subs.end(), std::string(p)) != subs.end());
  }
  for (const char* p : {"portfolio.fill.*", "execution.fill.*", "collateral.margin.*", "order.*", "strategy.order.*",
                        "marketdata.real_time.trade.*"}) {
    CHECK(std::find(subs.begin(), subs.end(), std::string(p)) == subs.end());
  }

  // The default topics are no longer read ...
  rig.send(msg("execution.fill.AAPL", MessageType::kFill, fill("AAPL", "buy", 100, 50.0)));
  rig.send(msg("collateral.margin.main", MessageType::kMarginStatus, {{"utilization", 0.9}}));
  rig.send(msg("order.AAPL", MessageType::kOrder, {{"id", "x"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 1}}));
  CHECK_FALSE(rig.positions().contains("AAPL"));
  CHECK(rig.alerts_of("risk.alert.margin_utilization").empty());
  CHECK(rig.decisions.messages().empty());

  // ... the configured ones are, each list entry included.
  rig.send(msg("feed.trade.AAPL", MessageType::kTrade, {{"price", 52.0}, {"size", 1}}));
  rig.send(msg("desk.fill.AAPL", MessageType::kFill, fill("AAPL", "buy", 100, 50.0)));
  auto p = rig.positions();
  REQUIRE(p.contains("AAPL"));
  CHECK(p["AAPL"]["quantity"].get<double>() == Approx(100));
  CHECK(p["AAPL"]["mark"].get<double>() == Approx(52.0));  // the trade came in on feed.trade.*
  rig.send(msg("clearing.margin.eu", MessageType::kMarginStatus, {{"utilization", 0.9}}));
  CHECK(rig.alerts_of("risk.alert.margin_utilization").size() == 1);
  rig.send(msg("prime.margin.us", MessageType::kMarginStatus, {{"utilization", 0.5}}));
  CHECK(rig.engine->command("state", {})["state"] != "HALTED");
  rig.send(msg("desk.order.AAPL", MessageType::kOrder, {{"id", "d1"}, {"symbol", "AAPL"}, {"side", "sell"}, {"quantity", 1}}));
  REQUIRE(rig.decisions.messages().size() == 1);
  CHECK(payload(rig.decisions.messages()[0])["order_id"] == "d1");
}

TEST_CASE("risk bus inputs: a bad topics section names each problem by its path", "[risk][engine]") {
  auto engine = make_risk_engine();
  nlohmann::json topics = {{"fills", 5}, {"orders", {"ok.*", 7}}, {"bogus", "x.*"}};
  nlohmann::json section = {{"topics", topics}};
  INFO(section.dump());
  auto problems = engine->config_problems(section);
  std::vector<std::string> keys;
  for (const auto& p : problems) keys.push_back(p.key);
  INFO(join_problems(problems));
  CHECK(std::find(keys.begin(), keys.end(), "topics.fills") != keys.end());
  CHECK(std::find_if(keys.begin(), keys.end(), [](const std::string& k) { return k.starts_with("topics.orders"); }) !=
        keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "topics.bogus") != keys.end());
  CHECK(engine->config_problems({{"topics", {{"fills", "desk.fill.*"}}}}).empty());
}
