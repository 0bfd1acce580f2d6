// A strategy instance without a bus: sizing deltas, the regime gate, open
// orders, REDUCING, the halt latch and its auto/manual resume, and the config.
#include <catch2/catch.hpp>

#include <cmath>

#include "engines/strategy/strategy_instance.h"

using namespace nautilus;
using namespace nautilus::strategy;

namespace {

// momentum with lookback 1: the signal is the sign of the last close change,
// so a test steers it bar by bar.
InstanceConfig momentum_config() {
  InstanceConfig c;
  c.name = "mom";
  c.kind = "momentum";
  c.symbols = {"AAPL"};
  c.rule.kind = "momentum";
  c.rule.momentum = {1, 0.0};
  c.sizing.quantity = 100;
  return c;
}

BarFeatures bar(double close, const std::string& symbol = "AAPL") {
  BarFeatures b;
  b.symbol = symbol;
  b.close = close;
  return b;
}

Cause risk_cause(const std::string& reason, std::int64_t at) {
  return {"risk_state", "", reason, at - 5, "corr-" + std::to_string(at), at};
}

}  // namespace

TEST_CASE("sizing: the order is the delta to the target, net of the position and open orders", "[strategy][instance]") {
  struct Case {
    const char* name;
    Sizing sizing;
    double price;
    Direction d;
    double position, want_target;
  };
  Sizing fixed;
  fixed.quantity = 100;
  Sizing notional;
  notional.mode = Sizing::Mode::kNotional;
  notional.notional = 10'000;
  notional.lot = 10;
  const Case cases[] = {
      {"fixed long from flat", fixed, 50, Direction::kLong, 0, 100},
      {"fixed long from part", fixed, 50, Direction::kLong, 30, 100},
      {"fixed short from long", fixed, 50, Direction::kShort, 100, -100},
      {"fixed flat from short", fixed, 50, Direction::kFlat, -40, 0},
      {"notional rounds down to lots", notional, 33.0, Direction::kLong, 0, 300},   // 303.03 → 300
      {"notional short", notional, 250.0, Direction::kShort, 0, -40},
      {"notional at a price over the notional", notional, 20'000.0, Direction::kLong, 0, 0},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      CHECK(c.sizing.target(c.d, c.price) == Approx(c.want_target));
      InstanceConfig cfg = momentum_config();
      cfg.sizing = c.sizing;
      StrategyInstance inst(cfg, "mom-1");
      inst.on_position("AAPL", c.position);
      // Warm up at the same price (flat), then one bar moves the signal.
      const double before = c.d == Direction::kLong ? c.price * 0.99 : c.d == Direction::kShort ? c.price * 1.01 : c.price;
      inst.on_bar(bar(before));
      if (c.d == Direction::kFlat) {
        // Bar 2 at the same close: flat.
      }
      const BarOutcome out = inst.on_bar(bar(c.price));
      REQUIRE(out.raw);
      CHECK(*out.raw == c.d);
      const double delta = c.want_target - c.position;
      if (std::fabs(delta) < 1e-9) {
        CHECK_FALSE(out.order);
      } else {
        REQUIRE(out.order);
        CHECK(out.order->quantity == Approx(delta));
        CHECK(out.order->id == "mom-1-1");
      }
    }
  }
}

TEST_CASE("open orders count toward the target until filled or denied; ids are unique", "[strategy][instance]") {
  StrategyInstance inst(momentum_config(), "mom-7");
  inst.on_bar(bar(100));
  auto o1 = inst.on_bar(bar(101)).order;  // long 100
  REQUIRE(o1);
  CHECK(o1->quantity == 100);
  // Still long, order open: nothing more.
  CHECK_FALSE(inst.on_bar(bar(102)).order);
  CHECK(inst.symbols().at("AAPL").pending == 100);
  // A partial fill moves the position; the rest stays open.
  CHECK(inst.on_fill(o1->id, 40));
  CHECK(inst.symbols().at("AAPL").position == 40);
  CHECK(inst.symbols().at("AAPL").pending == 60);
  CHECK_FALSE(inst.on_bar(bar(103)).order);
  // The book's position update is authoritative (here: the same 40).
  inst.on_position("AAPL", 40);
  // Denied: the 60 are no longer on their way, so the next bar re-orders them.
  CHECK(inst.on_decision(o1->id, false));
  CHECK(inst.open_orders() == 0);
  auto o2 = inst.on_bar(bar(104)).order;
  REQUIRE(o2);
  CHECK(o2->quantity == 60);
  CHECK(o2->id != o1->id);
  // A fill of someone else's order is not ours and changes nothing.
  CHECK_FALSE(inst.on_fill("other-1", 10));
  CHECK(inst.symbols().at("AAPL").position == 40);
  // Turn short: 60 still open long, position 40 → the order is −200.
  auto o3 = inst.on_bar(bar(90)).order;
  REQUIRE(o3);
  CHECK(o3->quantity == -200);
  CHECK_FALSE(o3->reduces);  // it crosses zero
}

TEST_CASE("the regime gate and allow_short shape the target", "[strategy][instance]") {
  InstanceConfig cfg = momentum_config();
  cfg.regime.bull = Gate::kLong;
  cfg.regime.bear = Gate::kShort;
  cfg.regime.high_vol = Gate::kFlat;
  cfg.regime.unknown = Gate::kAny;
  struct Case {
    const char* regime;
    bool up;
    Direction want;
  };
  const Case cases[] = {{"", true, Direction::kLong},        {"", false, Direction::kShort},
                        {"bull", true, Direction::kLong},    {"bull", false, Direction::kFlat},
                        {"bear", true, Direction::kFlat},    {"bear", false, Direction::kShort},
                        {"high_vol", true, Direction::kFlat}, {"high_vol", false, Direction::kFlat},
                        {"sideways", false, Direction::kShort}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION("regime '" << c.regime << "' " << (c.up ? "up" : "down")) {
      StrategyInstance inst(cfg, "g");
      if (*c.regime) inst.on_regime("AAPL", c.regime);
      inst.on_bar(bar(100));
      const BarOutcome out = inst.on_bar(bar(c.up ? 101 : 99));
      CHECK(out.signal == c.want);
      CHECK(out.regime == c.regime);
      CHECK(out.target == 100 * static_cast<int>(c.want));
    }
  }
  SECTION("allow_short = false turns short into flat") {
    InstanceConfig longs = momentum_config();
    longs.allow_short = false;
    StrategyInstance inst(longs, "l");
    inst.on_bar(bar(100));
    CHECK(inst.on_bar(bar(99)).signal == Direction::kFlat);
    CHECK_FALSE(inst.on_bar(bar(98)).order);
  }
}

TEST_CASE("a halt holds every order back and cancels the open ones; auto resume follows risk", "[strategy][instance]") {
  StrategyInstance inst(momentum_config(), "h");
  inst.on_bar(bar(100));
  auto open = inst.on_bar(bar(101)).order;
  REQUIRE(open);

  const StateOutcome halt = inst.on_risk_state(RiskState::kHalted, risk_cause("var critical", 1000));
  CHECK(halt.changed);
  CHECK(halt.from == RunState::kActive);
  CHECK(halt.to == RunState::kHalted);
  REQUIRE(halt.cancels.size() == 1);
  CHECK(halt.cancels[0].id == open->id);
  CHECK(halt.cancels[0].remaining == 100);
  CHECK(halt.cause.correlation_id == "corr-1000");
  CHECK(halt.cause.origin_ns == 995);
  CHECK(inst.open_orders() == 0);

  // Every bar while halted: the target moves, no order.
  for (double p : {90.0, 110.0, 80.0}) {
    const BarOutcome out = inst.on_bar(bar(p));
    CHECK_FALSE(out.order);
    CHECK(out.held_back == "halted");
  }
  // The cancelled order filled anyway: still ours, counted.
  CHECK(inst.on_fill(open->id, 100));
  CHECK(inst.fills_after_cancel() == 1);
  CHECK(inst.symbols().at("AAPL").position == 100);

  // Risk de-escalates one step: REDUCING, auto resume.
  const StateOutcome reducing = inst.on_risk_state(RiskState::kReducing, risk_cause("cooldown", 2000));
  CHECK(reducing.changed);
  CHECK(reducing.to == RunState::kReducing);
  // Falling (short signal): only down to flat goes out, not the short side.
  auto r = inst.on_bar(bar(79)).order;
  REQUIRE(r);
  CHECK(r->quantity == -100);
  CHECK(r->reduces);
  inst.on_fill(r->id, -100);
  // Adding exposure is held back in REDUCING.
  const BarOutcome add = inst.on_bar(bar(78));
  CHECK_FALSE(add.order);
  CHECK(add.held_back == "reducing");

  const StateOutcome active = inst.on_risk_state(RiskState::kActive, risk_cause("cooldown", 3000));
  CHECK(active.to == RunState::kActive);
  auto s = inst.on_bar(bar(77)).order;
  REQUIRE(s);
  CHECK(s->quantity == -100);
}

TEST_CASE("REDUCING cancels the open orders that add exposure and keeps the reducing ones", "[strategy][instance]") {
  StrategyInstance inst(momentum_config(), "r");
  inst.on_position("AAPL", 100);
  inst.on_bar(bar(100));
  auto down = inst.on_bar(bar(99)).order;  // −200: crosses zero, adds short exposure
  REQUIRE(down);
  CHECK(down->quantity == -200);
  const StateOutcome out = inst.on_risk_state(RiskState::kReducing, risk_cause("gross exposure", 10));
  REQUIRE(out.cancels.size() == 1);
  CHECK(out.cancels[0].id == down->id);

  StrategyInstance keep(momentum_config(), "k");
  keep.on_position("AAPL", 100);
  keep.on_bar(bar(100));
  keep.on_bar(bar(100));  // flat: sells the 100
  auto sell = keep.symbols().at("AAPL").pending;
  CHECK(sell == -100);
  const StateOutcome out2 = keep.on_risk_state(RiskState::kReducing, risk_cause("gross exposure", 10));
  CHECK(out2.cancels.empty());
  CHECK(keep.open_orders() == 1);
}

TEST_CASE("manual resume waits for the operator after risk clears", "[strategy][instance]") {
  InstanceConfig cfg = momentum_config();
  cfg.resume = ResumeMode::kManual;
  StrategyInstance inst(cfg, "m");
  inst.on_risk_state(RiskState::kHalted, risk_cause("manual halt", 100));
  CHECK(inst.state() == RunState::kHalted);
  CHECK_FALSE(inst.waiting_for_operator());

  const StateOutcome cleared = inst.on_risk_state(RiskState::kActive, risk_cause("resume", 200));
  CHECK(cleared.changed);  // reported once: now waiting
  CHECK(cleared.to == RunState::kHalted);
  CHECK(cleared.waiting_for_operator);
  CHECK(inst.waiting_for_operator());
  inst.on_bar(bar(100));
  CHECK(inst.on_bar(bar(101)).held_back == "halted");
  // Another ACTIVE while waiting says nothing new.
  CHECK_FALSE(inst.on_risk_state(RiskState::kActive, risk_cause("again", 300)).changed);

  const StateOutcome resumed = inst.resume({"operator", "", "", 400, "", 400});
  CHECK(resumed.changed);
  CHECK(resumed.to == RunState::kActive);
  CHECK(inst.on_bar(bar(102)).order);

  // Resume while risk is still HALTED does not lift risk's halt.
  inst.on_risk_state(RiskState::kHalted, risk_cause("var", 500));
  const StateOutcome early = inst.resume({"operator", "", "", 600, "", 600});
  CHECK_FALSE(early.changed);
  CHECK(inst.state() == RunState::kHalted);
  CHECK(inst.state_reason().find("HALTED") != std::string::npos);
}

TEST_CASE("a flash crash warning halts only an instance trading the symbol; a stale risk state does not clear it",
          "[strategy][instance]") {
  StrategyInstance inst(momentum_config(), "f");
  CHECK_FALSE(inst.on_flash_crash({"flash_crash_warning", "MSFT", "", 1, "c", 1000}).changed);
  CHECK(inst.state() == RunState::kActive);

  const StateOutcome w = inst.on_flash_crash({"flash_crash_warning", "AAPL", "VPIN CDF 0.995", 900, "trade-9", 1000});
  CHECK(w.changed);
  CHECK(w.to == RunState::kHalted);
  CHECK(w.cause.correlation_id == "trade-9");
  CHECK(w.cause.origin_ns == 900);
  // Risk's HALTED that follows changes nothing (already halted).
  CHECK_FALSE(inst.on_risk_state(RiskState::kHalted, risk_cause("vpin", 1001)).changed);
  // A second warning while halted is answered (same state, its own cause) and
  // takes the latch, so only a risk state newer than it clears the halt.
  const StateOutcome again = inst.on_flash_crash({"flash_crash_warning", "AAPL", "", 1900, "trade-19", 2000});
  CHECK(again.changed);
  CHECK(again.from == RunState::kHalted);
  CHECK(again.to == RunState::kHalted);
  CHECK(again.cause.correlation_id == "trade-19");
  CHECK(again.cancels.empty());
  CHECK_FALSE(inst.on_risk_state(RiskState::kActive, risk_cause("between", 1500)).to == RunState::kActive);
  CHECK(inst.on_risk_state(RiskState::kActive, risk_cause("after", 2500)).to == RunState::kActive);
  // An ACTIVE published before the warning (arriving late on its lane) does not clear it ...
  StrategyInstance late(momentum_config(), "late");
  late.on_flash_crash({"flash_crash_warning", "AAPL", "", 900, "trade-9", 1000});
  CHECK_FALSE(late.on_risk_state(RiskState::kActive, risk_cause("older", 999)).changed);
  CHECK(late.state() == RunState::kHalted);
  // ... one published after it does (auto).
  CHECK(late.on_risk_state(RiskState::kActive, risk_cause("clear", 5000)).to == RunState::kActive);
}

TEST_CASE("operator stop and resume", "[strategy][instance]") {
  StrategyInstance inst(momentum_config(), "o");
  inst.on_bar(bar(100));
  auto open = inst.on_bar(bar(101)).order;
  REQUIRE(open);
  const StateOutcome stop = inst.stop({"operator", "", "maintenance", 10, "", 10});
  CHECK(stop.to == RunState::kStopped);
  CHECK(stop.cancels.size() == 1);
  CHECK(inst.on_bar(bar(90)).held_back == "stopped");
  // A risk halt and its clearing while stopped leave it stopped.
  inst.on_risk_state(RiskState::kHalted, risk_cause("x", 20));
  inst.on_risk_state(RiskState::kActive, risk_cause("y", 30));
  CHECK(inst.state() == RunState::kStopped);
  CHECK(inst.resume({"operator", "", "", 40, "", 40}).to == RunState::kActive);
}

TEST_CASE("instance config: every problem by key path", "[strategy][config]") {
  struct Case {
    const char* name;
    const char* toml_json;
    std::vector<std::string> keys;  // problem keys expected (prefix "i.")
  };
  const Case cases[] = {
      {"missing name, kind and symbols", R"({})", {"i.name", "i.kind", "i.symbols"}},
      {"unknown kind", R"({"name":"a","kind":"arbitrage","symbols":["X"]})", {"i.kind"}},
      {"bad name and symbol", R"({"name":"a.b","kind":"momentum","symbols":["X*"]})", {"i.name", "i.symbols[0]"}},
      {"repeated symbol", R"({"name":"a","kind":"momentum","symbols":["X","X"]})", {"i.symbols[1]"}},
      {"fast not below slow", R"({"name":"a","kind":"ma_crossover","symbols":["X"],"params":{"fast":30,"slow":10}})",
       {"i.params.fast"}},
      {"same payload fields", R"({"name":"a","kind":"ma_crossover","symbols":["X"],"params":{"fast_field":"sma","slow_field":"sma"}})",
       {"i.params.slow_field"}},
      {"rsi thresholds crossed", R"({"name":"a","kind":"mean_reversion","symbols":["X"],"params":{"oversold":80,"overbought":20}})",
       {"i.params.oversold"}},
      {"param of another kind", R"({"name":"a","kind":"momentum","symbols":["X"],"params":{"fast":3}})", {"i.params.fast"}},
      {"notional without amount", R"({"name":"a","kind":"momentum","symbols":["X"],"sizing":{"mode":"notional"}})",
       {"i.sizing.notional"}},
      {"fixed with a notional key", R"({"name":"a","kind":"momentum","symbols":["X"],"sizing":{"notional":5}})",
       {"i.sizing.notional"}},
      {"zero quantity", R"({"name":"a","kind":"momentum","symbols":["X"],"sizing":{"quantity":0}})", {"i.sizing.quantity"}},
      {"bad gate and resume", R"({"name":"a","kind":"momentum","symbols":["X"],"regime":{"bull":"up"},"resume":"later"})",
       {"i.regime.bull", "i.resume"}},
      {"bad interval", R"({"name":"a","kind":"momentum","symbols":["X"],"interval":"soon"})", {"i.interval"}},
      {"unknown key", R"({"name":"a","kind":"momentum","symbols":["X"],"colour":"red"})", {"i.colour"}},
      {"valid", R"({"name":"a","kind":"mean_reversion","symbols":["X","Y"],"interval":"1s","params":{"mode":"both"},
                    "sizing":{"mode":"notional","notional":1000,"lot":5},"regime":{"high_vol":"flat"},"resume":"manual"})",
       {}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const nlohmann::json section = {{"i", nlohmann::json::parse(c.toml_json)}};
      ConfigReader root(section);
      ConfigReader r = root.table("i");
      const InstanceConfig cfg = InstanceConfig::read(r);
      root.finish();
      std::vector<std::string> got;
      for (const auto& p : root.problems()) got.push_back(p.key);
      INFO(join_problems(root.problems()));
      CHECK(got == c.keys);
      if (c.keys.empty()) {
        CHECK(cfg.resume == ResumeMode::kManual);
        CHECK(cfg.sizing.lot == 5);
        CHECK(cfg.regime.high_vol == Gate::kFlat);
        CHECK(cfg.rule.reversion.mode == ReversionMode::kBoth);
      }
    }
  }
}
