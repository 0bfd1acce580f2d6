// The strategy engine on in-process buses with the simulated clock, beside the
// REAL features, vpin and risk engines: a crash's warning and risk's HALT stop
// it at once (checked on the recorded timeline of engine-bus messages), open
// orders are cancelled, REDUCING lets only reducing orders out, auto and manual
// resume, commands, metrics and the config check.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/features/features_engine.h"
#include "engines/registry.h"
#include "engines/risk/risk_engine.h"
#include "engines/strategy/strategy_engine.h"
#include "engines/vpin/vpin_engine.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

nlohmann::json payload(const MessagePtr& m) { return nlohmann::json::parse(m->payload); }

std::shared_ptr<Message> msg(const std::string& topic, MessageType type, const nlohmann::json& p,
                             Priority prio = Priority::kNormal) {
  return make_message(topic, type, p.dump(), prio);
}

// A feature_update as the features engine publishes it (the fields a rule reads).
std::shared_ptr<Message> bar(const std::string& symbol, int index, double close) {
  auto m = msg("features.1s." + symbol, MessageType::kFeatureUpdate,
               {{"symbol", symbol}, {"interval", "1s"}, {"bar_index", index}, {"close", close}, {"sma", nullptr}});
  m->correlation_id = "bar-" + symbol + "-" + std::to_string(index);
  return m;
}

nlohmann::json momentum_instance(const std::string& name, const std::string& symbol, const std::string& resume = "auto") {
  return {{"name", name},
          {"kind", "momentum"},
          {"symbols", {symbol}},
          {"interval", "1s"},
          {"params", {{"lookback", 1}}},
          {"sizing", {{"mode", "fixed"}, {"quantity", 10}}},
          {"resume", resume}};
}

// The engine bus in publish order: ids are stamped by one generator per bus,
// strictly increasing, so sorting by id undoes the collector's lane reordering.
std::vector<MessagePtr> timeline(const test::Collector& c) {
  auto all = c.messages();
  std::sort(all.begin(), all.end(), [](const MessagePtr& a, const MessagePtr& b) { return a->id < b->id; });
  return all;
}

struct TimelineCheck {
  std::size_t orders = 0, orders_while_reducing = 0, halts = 0;
};

// Walks the timeline with each instance's state as its own strategy.state
// messages announced it: no order while HALTED or STOPPED, only reducing ones
// while REDUCING, and every cancel names an order sent before it.
TimelineCheck check_timeline(const std::vector<MessagePtr>& all) {
  TimelineCheck out;
  std::map<std::string, std::string> state;          // instance → state
  std::map<std::string, std::string> order_instance;  // order id → instance
  for (const auto& m : all) {
    if (m->topic.rfind("strategy.state.", 0) == 0) {
      auto p = payload(m);
      if (p["state"] == "HALTED" && state[p["instance"]] != "HALTED") ++out.halts;
      state[p["instance"]] = p["state"];
    } else if (m->topic.rfind("strategy.order.", 0) == 0) {
      auto p = payload(m);
      const std::string inst = p["instance"];
      INFO("order " << p.dump() << " while " << state[inst]);
      CHECK(state[inst] != "HALTED");
      CHECK(state[inst] != "STOPPED");
      if (state[inst] == "REDUCING") {
        CHECK(p["reduces_exposure"] == true);
        ++out.orders_while_reducing;
      }
      order_instance[p["id"]] = inst;
      ++out.orders;
    } else if (m->topic.rfind("strategy.cancel.", 0) == 0) {
      auto p = payload(m);
      INFO("cancel " << p.dump());
      REQUIRE(order_instance.count(p["id"]));
      CHECK(order_instance[p["id"]] == p["instance"]);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("strategy halt: a crash's VPIN warning stops the instance at once; risk's HALT stops the rest",
          "[strategy][halt][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector engine_bus(*router, BusKind::kEngine, "*");
  auto features = make_features_engine();
  auto vpin = make_vpin_engine();
  auto risk = make_risk_engine();
  auto strategy = make_strategy_engine();
  features->start(EngineContext{*router, clock, {{"intervals", {"1s"}}, {"close_on_clock", false}}});
  vpin->start(EngineContext{*router, clock,
                            {{"bar_seconds", 1}, {"bucket_volume", 1000}, {"window_buckets", 20}, {"cdf_window", 1000},
                             {"min_cdf_samples", 200}, {"warmup_buckets", 0}, {"persistence_buckets", 1},
                             {"vpin_floor", 0.0}}});
  risk->start(EngineContext{*router, clock, {{"vpin_halt_seconds", 5}, {"cooldown_seconds", 0}}});
  strategy->start(EngineContext{
      *router, clock, {{"instances", {momentum_instance("aapl_mom", "AAPL"), momentum_instance("msft_mom", "MSFT")}}}});

  // Calm for 400 s, then AAPL plunges 0.3 % a second on ten times the volume;
  // MSFT stays calm. The feed goes on for 4 s after the crash's first warning
  // so the strategy sees bars while halted.
  std::mt19937_64 rng(2012);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::uniform_int_distribution<int> size(50, 150);
  const std::int64_t t0 = clock.now_ns() - clock.now_ns() % kSec + kSec;
  constexpr int kCalm = 400, kCrash = 40;
  double pa = 100.0, pm = 50.0;
  int seq = 0, first_crash_seq = -1, after_warning = -1;
  MessagePtr crash_warning;
  for (int s = 0; s < kCalm + kCrash && after_warning < 4; ++s) {
    const bool crash = s >= kCalm;
    for (int k = 0; k < 10; ++k) {
      const std::int64_t ts = t0 + s * kSec + k * (kSec / 10);
      clock.advance_to(ts);
      pa = crash ? pa * (1.0 - 0.0003) : std::max(1.0, pa + noise(rng));
      pm = std::max(1.0, pm + noise(rng));
      if (crash && first_crash_seq < 0) first_crash_seq = seq;
      for (const bool aapl : {true, false}) {
        auto m = msg(std::string("marketdata.real_time.trade.") + (aapl ? "AAPL" : "MSFT"), MessageType::kTrade,
                     {{"ts_ns", ts}, {"price", aapl ? pa : pm}, {"size", size(rng) * (crash && aapl ? 10 : 1)}});
        m->correlation_id = "t" + std::to_string(seq++);
        m->origin_ns = ts;
        REQUIRE(router->publish(m).is_ok());
      }
    }
    if (crash || s % 20 == 0) REQUIRE(test::settle(*router));
    if (after_warning >= 0) ++after_warning;
    if (crash && !crash_warning) {
      for (const auto& w : engine_bus.messages()) {
        if (w->topic == "vpin.alert.AAPL" && std::stoi(w->correlation_id.substr(1)) >= first_crash_seq) {
          crash_warning = w;
          after_warning = 0;
          break;
        }
      }
    }
  }
  REQUIRE(test::settle(*router));
  REQUIRE(crash_warning);

  const auto all = timeline(engine_bus);
  const TimelineCheck tc = check_timeline(all);
  CHECK(tc.orders > 100);  // a 1-bar momentum flips often: orders all through the calm

  // The crash halt of aapl_mom: the first HALTED state after the warning,
  // carrying the warning's origin and correlation (vpin's, or risk's copy of it).
  const std::string corr = crash_warning->correlation_id;
  MessagePtr halt;
  for (const auto& m : all) {
    if (m->topic == "strategy.state.aapl_mom" && payload(m)["state"] == "HALTED" && m->correlation_id == corr) {
      halt = m;
      break;
    }
  }
  REQUIRE(halt);
  const auto hp = payload(halt);
  CHECK(halt->priority == Priority::kUrgent);
  CHECK(halt->type == MessageType::kEngineStatus);
  CHECK(hp["halt_correlation_id"] == corr);
  CHECK(hp["halt_origin_ns"] == crash_warning->origin_ns);
  CHECK(halt->origin_ns == crash_warning->origin_ns);
  // The toxicity rising to the warning may have put risk in REDUCING first.
  CHECK((hp["previous"] == "ACTIVE" || hp["previous"] == "REDUCING"));
  CHECK(hp["open_orders"] == 0);

  // No order is left open at the halt: every aapl_mom order sent before it
  // was cancelled (at this halt or an earlier state change; no portfolio
  // fills here) or denied by a decision published before it.
  std::set<std::string> sent, denied_before, cancelled_any;
  MessageId previous_state{};
  for (const auto& m : all) {
    if (m->id > halt->id) break;
    if (m->topic == "strategy.order.AAPL") sent.insert(payload(m)["id"]);
    if (m->topic == "risk.decision.AAPL" && payload(m)["approved"] == false) denied_before.insert(payload(m)["order_id"]);
    if (m->topic == "strategy.state.aapl_mom") {
      const auto p = payload(m);
      for (const auto& id : p["cancelled"]) cancelled_any.insert(id.get<std::string>());
      if (m->id < halt->id) previous_state = m->id;
    }
  }
  for (const auto& id : sent) {
    INFO(id);
    CHECK((cancelled_any.count(id) == 1 || denied_before.count(id) == 1));
  }
  // This halt's cancels went out at urgent just before its state message, in
  // the same handler, with the halt's correlation.
  std::set<std::string> cancelled, cancel_msgs;
  for (const auto& id : hp["cancelled"]) cancelled.insert(id.get<std::string>());
  for (const auto& m : all) {
    if (m->topic != "strategy.cancel.AAPL" || m->id < previous_state || m->id > halt->id) continue;
    CHECK(m->priority == Priority::kUrgent);
    CHECK(m->correlation_id == corr);
    cancel_msgs.insert(payload(m)["id"]);
  }
  CHECK(cancel_msgs == cancelled);

  // No aapl_mom order after the halt, although bars kept coming: they were held back.
  std::size_t bars_after = 0;
  for (const auto& m : all) {
    if (m->id <= halt->id) continue;
    CHECK(m->topic != "strategy.order.AAPL");
    if (m->topic == "features.1s.AAPL") ++bars_after;
  }
  CHECK(bars_after >= 3);
  const auto metrics = strategy->health().metrics;
  CHECK(metrics["symbols"]["AAPL"]["held_back"].get<int>() >= 1);
  CHECK(metrics["symbols"]["AAPL"]["state"] == "HALTED");
  CHECK(metrics["counters"]["malformed"] == 0);

  // Risk went HALTED on the same chain, and that halted msft_mom too.
  bool msft_halted = false;
  for (const auto& m : all) {
    if (m->topic == "strategy.state.msft_mom" && payload(m)["state"] == "HALTED" && m->correlation_id == corr) {
      msft_halted = true;
      CHECK(payload(m)["cause"] == "risk_state");
      CHECK(m->id > halt->id);  // after the warning's own halt of aapl_mom
    }
  }
  CHECK(msft_halted);
  CHECK(strategy->command("list", {})["instances"][1]["state"] == "HALTED");

  strategy->stop();
  risk->stop();
  vpin->stop();
  features->stop();
}

TEST_CASE("strategy: REDUCING lets only reducing orders out, and risk approves them", "[strategy][halt][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector engine_bus(*router, BusKind::kEngine, "*");
  auto risk = make_risk_engine();
  auto strategy = make_strategy_engine();
  risk->start(EngineContext{*router, clock, {{"cooldown_seconds", 0}}});
  strategy->start(EngineContext{*router, clock, {{"instances", {momentum_instance("mom", "AAPL")}}}});

  REQUIRE(router->publish(msg("marketdata.real_time.trade.AAPL", MessageType::kTrade, {{"price", 100.0}, {"size", 10}})).is_ok());
  // The book holds 5 long (the strategy and risk both read it).
  REQUIRE(router->publish(msg("portfolio.position.AAPL", MessageType::kPositionUpdate, {{"symbol", "AAPL"}, {"quantity", 5}})).is_ok());
  REQUIRE(test::settle(*router));
  // Toxicity above its limit (0.95), below critical: risk REDUCING.
  REQUIRE(router->publish(msg("vpin.toxicity.AAPL", MessageType::kVpinToxicity, {{"symbol", "AAPL"}, {"vpin", 0.5}, {"cdf", 0.97}})).is_ok());
  REQUIRE(test::settle(*router));
  REQUIRE(risk->command("state", {})["state"] == "REDUCING");
  CHECK(strategy->command("list", {})["instances"][0]["state"] == "REDUCING");

  int i = 0;
  auto feed = [&](double close) {
    clock.advance_by(kSec);
    REQUIRE(router->publish(bar("AAPL", i++, close)).is_ok());
    REQUIRE(test::settle(*router));
  };
  feed(100);
  feed(101);  // long: 5 → 10 would add: held back
  feed(102);
  feed(99);   // short: 5 → −10 is −15, clipped to −5 (flat)
  feed(98);   // still short: from flat that adds, held back

  const auto all = timeline(engine_bus);
  const TimelineCheck tc = check_timeline(all);
  REQUIRE(tc.orders == 1);
  CHECK(tc.orders_while_reducing == 1);
  std::string order_id;
  for (const auto& m : all) {
    if (m->topic != "strategy.order.AAPL") continue;
    const auto p = payload(m);
    CHECK(p["side"] == "sell");
    CHECK(p["quantity"] == 5.0);
    CHECK(p["reduces_exposure"] == true);
    CHECK(m->correlation_id == "bar-AAPL-3");
    order_id = p["id"];
  }
  bool approved = false;
  for (const auto& m : all) {
    if (m->topic == "risk.decision.AAPL" && payload(m)["order_id"] == order_id) approved = payload(m)["approved"] == true;
  }
  CHECK(approved);
  CHECK(strategy->health().metrics["symbols"]["AAPL"]["held_back"] == 3);

  // The fill arrives (as the portfolio would publish it): the instance is flat.
  REQUIRE(router->publish(msg("portfolio.fill.AAPL", MessageType::kFill,
                              {{"order_id", order_id}, {"symbol", "AAPL"}, {"side", "sell"}, {"quantity", 5}, {"price", 98.0}},
                              Priority::kHigh)).is_ok());
  REQUIRE(test::settle(*router));
  CHECK(strategy->health().metrics["symbols"]["AAPL"]["position"] == 0.0);
  CHECK(strategy->health().metrics["symbols"]["AAPL"]["fills"] == 1);
  CHECK(strategy->health().metrics["symbols"]["AAPL"]["pending"] == 0.0);

  // Toxicity gone: risk ACTIVE, the instance resumes (auto) and goes short.
  REQUIRE(router->publish(msg("vpin.toxicity.AAPL", MessageType::kVpinToxicity, {{"symbol", "AAPL"}, {"vpin", 0.2}, {"cdf", 0.3}})).is_ok());
  REQUIRE(test::settle(*router));
  clock.advance_by(kSec);  // risk's once-a-second evaluation steps down
  REQUIRE(test::settle(*router));
  REQUIRE(risk->command("state", {})["state"] == "ACTIVE");
  CHECK(strategy->command("list", {})["instances"][0]["state"] == "ACTIVE");
  feed(97);
  const auto after = timeline(engine_bus);
  CHECK(check_timeline(after).orders == 2);
  CHECK(payload(after.back())["order_id"].get<std::string>() != order_id);  // risk decided the new one
  strategy->stop();
  risk->stop();
}

TEST_CASE("strategy: auto resume follows risk, manual waits for the operator", "[strategy][halt][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector engine_bus(*router, BusKind::kEngine, "*");
  auto risk = make_risk_engine();
  auto strategy = make_strategy_engine();
  risk->start(EngineContext{*router, clock, {{"cooldown_seconds", 0}}});
  strategy->start(EngineContext{
      *router, clock, {{"instances", {momentum_instance("auto_mom", "AAPL"), momentum_instance("manual_mom", "MSFT", "manual")}}}});
  REQUIRE(router->publish(msg("marketdata.real_time.trade.AAPL", MessageType::kTrade, {{"price", 100.0}, {"size", 10}})).is_ok());
  REQUIRE(router->publish(msg("marketdata.real_time.trade.MSFT", MessageType::kTrade, {{"price", 50.0}, {"size", 10}})).is_ok());
  REQUIRE(test::settle(*router));

  int i = 0;
  auto both = [&](double a, double m) {
    clock.advance_by(kSec);
    REQUIRE(router->publish(bar("AAPL", i, a)).is_ok());
    REQUIRE(router->publish(bar("MSFT", i, m)).is_ok());
    ++i;
    REQUIRE(test::settle(*router));
  };
  auto orders_of = [&](const std::string& symbol) {
    std::size_t n = 0;
    for (const auto& m : engine_bus.messages()) n += m->topic == "strategy.order." + symbol;
    return n;
  };
  both(100, 50);
  both(101, 51);  // both long: an order each
  REQUIRE(orders_of("AAPL") == 1);
  REQUIRE(orders_of("MSFT") == 1);

  auto halted = risk->command("halt", {{"reason", "drill"}});
  REQUIRE(halted["state"] == "HALTED");
  REQUIRE(test::settle(*router));
  // The open (approved, unfilled) orders were cancelled by the halt.
  for (const auto& m : timeline(engine_bus)) {
    if (m->topic.rfind("strategy.state.", 0) == 0) CHECK(payload(m)["cancelled"].size() == 1);
  }
  auto list = strategy->command("list", {});
  CHECK(list["instances"][0]["state"] == "HALTED");
  CHECK(list["instances"][1]["state"] == "HALTED");
  CHECK(list["instances"][0]["halt"]["cause"] == "risk_state");
  CHECK(list["instances"][0]["reason"].get<std::string>().find("drill") != std::string::npos);
  both(99, 49);  // short: held back
  CHECK(orders_of("AAPL") == 1);
  CHECK(orders_of("MSFT") == 1);

  REQUIRE(risk->command("resume", {})["state"] == "ACTIVE");
  REQUIRE(test::settle(*router));
  list = strategy->command("list", {});
  CHECK(list["instances"][0]["state"] == "ACTIVE");
  CHECK(list["instances"][1]["state"] == "HALTED");
  CHECK(list["instances"][1]["waiting_for_operator"] == true);
  both(98, 48);
  CHECK(orders_of("AAPL") == 2);  // auto: trading again
  CHECK(orders_of("MSFT") == 1);  // manual: still waiting

  auto resumed = strategy->command("resume", {{"name", "manual_mom"}});
  CHECK(resumed["state"] == "ACTIVE");
  REQUIRE(test::settle(*router));
  both(97, 47);
  CHECK(orders_of("MSFT") == 2);

  // The operator's own stop: cancels, and holds until resume.
  auto stopped = strategy->command("stop", {{"name", "auto_mom"}, {"reason", "maintenance"}});
  CHECK(stopped["state"] == "STOPPED");
  REQUIRE(test::settle(*router));
  both(98, 48);
  CHECK(orders_of("AAPL") == 2);
  CHECK(check_timeline(timeline(engine_bus)).halts == 2);
  // Every state change was published at urgent, in order.
  std::vector<std::string> auto_states;
  for (const auto& m : timeline(engine_bus)) {
    if (m->topic == "strategy.state.auto_mom") {
      CHECK(m->priority == Priority::kUrgent);
      auto_states.push_back(payload(m)["state"]);
    }
  }
  // Risk steps down one state at a time (HALTED → REDUCING → ACTIVE), and the
  // auto instance follows each step.
  CHECK(auto_states == std::vector<std::string>{"HALTED", "REDUCING", "ACTIVE", "STOPPED"});

  CHECK_THROWS_AS(strategy->command("stop", {{"name", "nope"}}), std::out_of_range);
  CHECK_THROWS_AS(strategy->command("resume", {}), std::invalid_argument);
  CHECK_THROWS_AS(strategy->command("bogus", {}), std::out_of_range);
  strategy->stop();
  risk->stop();
}

TEST_CASE("strategy engine: bad input is counted, nothing else changes", "[strategy][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector orders(*router, BusKind::kEngine, "strategy.order.*");
  auto strategy = make_strategy_engine();
  strategy->start(EngineContext{*router, clock, {{"instances", {momentum_instance("mom", "AAPL")}}}});
  const std::pair<const char*, const char*> bad[] = {
      {"features.1s.AAPL", "not json"},
      {"features.1s.AAPL", R"({"symbol":"AAPL","close":-1})"},
      {"features.1s.AAPL", R"({"close":5})"},
      {"risk.state", R"({"state":"SIDEWAYS"})"},
      {"portfolio.position.AAPL", R"({"symbol":"AAPL","quantity":"many"})"},
  };
  for (const auto& [topic, text] : bad) {
    const std::string t = topic;
    const MessageType type = t == "risk.state" ? MessageType::kRiskAlert
                             : t.rfind("portfolio", 0) == 0 ? MessageType::kPositionUpdate
                                                            : MessageType::kFeatureUpdate;
    REQUIRE(router->publish(make_message(topic, type, text)).is_ok());
  }
  // Another interval and an untraded symbol: not ours, counted as unmatched.
  REQUIRE(router->publish(msg("features.1s.TSLA", MessageType::kFeatureUpdate, {{"symbol", "TSLA"}, {"close", 5.0}})).is_ok());
  REQUIRE(test::settle(*router));
  auto m = strategy->health().metrics;
  CHECK(m["counters"]["malformed"] == 5);
  CHECK(m["counters"]["unmatched"] == 1);
  CHECK(m["counters"]["bars"] == 0);
  CHECK(m["symbols"]["AAPL"]["position"] == 0.0);
  CHECK(m["instances"]["mom"]["state"] == "ACTIVE");
  CHECK(orders.messages().empty());
  strategy->stop();
}

TEST_CASE("strategy engine: config_problems for bad instances; registered kind", "[strategy][config]") {
  EngineRegistry registry;
  register_builtin_engines(registry);
  REQUIRE(registry.find("strategy") != nullptr);
  auto engine = registry.create("strategy");
  CHECK(engine->kind() == "strategy");

  struct Case {
    const char* name;
    nlohmann::json config;
    std::vector<std::string> keys;
  };
  auto good = momentum_instance("a", "AAPL");
  auto same_name = momentum_instance("a", "MSFT");
  auto same_symbol = momentum_instance("b", "AAPL");
  auto bad_kind = good;
  bad_kind["kind"] = "hodl";
  bad_kind["name"] = "c";
  bad_kind["symbols"] = {"TSLA"};
  const Case cases[] = {
      {"empty is valid (nothing trades)", nlohmann::json::object(), {}},
      {"one instance", {{"instances", {good}}}, {}},
      {"instances not tables", {{"instances", "x"}}, {"instances"}},
      {"repeated name", {{"instances", {good, same_name}}}, {"instances[1].name"}},
      {"symbol in two instances", {{"instances", {good, same_symbol}}}, {"instances[1].symbols[0]"}},
      {"bad kind and an unknown key", {{"instances", {good, bad_kind}}, {"speed", 3}}, {"instances[1].kind", "speed"}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      std::vector<std::string> got;
      for (const auto& p : engine->config_problems(c.config)) got.push_back(p.key);
      CHECK(got == c.keys);
    }
  }
  SECTION("start refuses a bad config with every problem") {
    SimulatedClock clock;
    auto router = Router::from_urls("inproc://", "inproc://", &clock);
    try {
      engine->start(EngineContext{*router, clock, {{"instances", {good, same_symbol}}}});
      FAIL("expected the start to fail");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find("instances[1].symbols[0]") != std::string::npos);
    }
    CHECK(engine->state() == EngineState::kError);
  }
}
