// The risk engine on an in-process router with the simulated clock, alone and
// in the flash-crash chain: trades → vpin → flash_crash_warning → risk HALT.
#include <catch2/catch.hpp>

#include <mutex>
#include <random>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/risk/risk_engine.h"
#include "engines/vpin/vpin_engine.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

std::shared_ptr<Message> msg(const std::string& topic, MessageType type, const nlohmann::json& payload) {
  return make_message(topic, type, payload.dump());
}

nlohmann::json payload(const MessagePtr& m) { return nlohmann::json::parse(m->payload); }

}  // namespace

TEST_CASE("risk engine: orders on the bus get decisions; HALTED blocks adding orders", "[risk][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector decisions(*router, BusKind::kEngine, "risk.decision.*");
  test::Collector alerts(*router, BusKind::kEngine, "risk.alert.*");
  test::Collector states(*router, BusKind::kEngine, "risk.state");
  auto engine = make_risk_engine();
  engine->start(EngineContext{*router, clock, {{"cooldown_seconds", 0}}});

  REQUIRE(router->publish(msg("marketdata.real_time.trade.AAPL", MessageType::kTrade, {{"price", 100.0}, {"size", 10}})).is_ok());
  REQUIRE(router->publish(msg("marketdata.real_time.quote.MSFT", MessageType::kQuote, {{"bid", 49.0}, {"ask", 51.0}})).is_ok());
  REQUIRE(test::settle(*router));

  auto ok = msg("order.AAPL", MessageType::kOrder, {{"id", "o1"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 100}});
  auto big = msg("order.AAPL", MessageType::kOrder, {{"id", "o2"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 5000}});
  REQUIRE(router->publish(ok).is_ok());
  REQUIRE(test::settle(*router));
  REQUIRE(router->publish(big).is_ok());
  REQUIRE(router->publish(msg("order.AAPL", MessageType::kOrder, {{"symbol", "AAPL"}, {"side", "hold"}})).is_ok());
  REQUIRE(router->publish(make_message("order.AAPL", MessageType::kOrder, "{not json")).is_ok());
  REQUIRE(test::settle(*router));

  auto d = decisions.messages();
  REQUIRE(d.size() == 2);  // the malformed two are counted, not answered
  CHECK(d[0]->topic == "risk.decision.AAPL");
  CHECK(d[0]->correlation_id == ok->id.to_string());
  CHECK(d[0]->priority == Priority::kHigh);
  CHECK(payload(d[0])["approved"] == true);
  CHECK(payload(d[0])["order_id"] == "o1");
  CHECK(payload(d[1])["approved"] == false);  // 500k > the 100k order-notional limit
  CHECK(d[1]->correlation_id == big->id.to_string());
  bool order_alert = false;
  for (const auto& a : alerts.messages()) {
    if (a->topic == "risk.alert.order_notional") {
      order_alert = true;
      CHECK(a->type == MessageType::kRiskAlert);
      CHECK(a->priority == Priority::kUrgent);
      CHECK(payload(a)["value"].get<double>() == Approx(500'000));
      CHECK(payload(a)["limit"].get<double>() == Approx(100'000));
      CHECK(payload(a)["symbol"] == "AAPL");
    }
  }
  CHECK(order_alert);
  CHECK(engine->health().metrics["counters"]["malformed"] == 2);
  CHECK(engine->health().metrics["counters"]["orders"] == 2);

  // A position from the portfolio, then a flash crash warning: HALTED at once.
  REQUIRE(router->publish(msg("portfolio.position.AAPL", MessageType::kPositionUpdate, {{"symbol", "AAPL"}, {"quantity", 500}})).is_ok());
  auto warning = msg("vpin.alert.AAPL", MessageType::kFlashCrashWarning, {{"symbol", "AAPL"}, {"vpin", 0.9}, {"cdf", 0.995}});
  warning->priority = Priority::kFlashCrash;
  warning->correlation_id = "crash-1";
  REQUIRE(test::settle(*router));
  REQUIRE(router->publish(warning).is_ok());
  REQUIRE(test::settle(*router));
  auto s = states.messages();
  REQUIRE(!s.empty());
  CHECK(s.back()->priority == Priority::kUrgent);
  CHECK(payload(s.back())["state"] == "HALTED");
  CHECK(s.back()->correlation_id == "crash-1");
  CHECK(engine->command("state", {})["state"] == "HALTED");

  // The control-plane check and bus orders agree: adding denied, reducing approved.
  auto add = engine->command("check", {{"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 1}});
  CHECK(add["approved"] == false);
  auto reduce = engine->command("check", {{"symbol", "AAPL"}, {"side", "sell"}, {"quantity", 200}});
  CHECK(reduce["approved"] == true);
  CHECK_THROWS_AS(engine->command("check", {{"symbol", "AAPL"}}), std::invalid_argument);
  CHECK_THROWS_AS(engine->command("nope", {}), std::out_of_range);
  REQUIRE(router->publish(msg("order.AAPL", MessageType::kOrder, {{"id", "o3"}, {"symbol", "AAPL"}, {"side", "sell"}, {"quantity", 200}})).is_ok());
  REQUIRE(router->publish(msg("order.AAPL", MessageType::kOrder, {{"id", "o4"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 1}})).is_ok());
  REQUIRE(test::settle(*router));
  d = decisions.messages();
  REQUIRE(d.size() == 4);
  CHECK(payload(d[2])["approved"] == true);
  CHECK(payload(d[3])["approved"] == false);
  CHECK(payload(d[3])["state"] == "HALTED");

  // The operator lifts the halt; the toxicity (CDF 0.995 > 0.95) still holds REDUCING.
  auto resumed = engine->command("resume", {});
  CHECK(resumed["state"] == "REDUCING");
  CHECK(resumed["reason"].get<std::string>().find("vpin_toxicity AAPL") != std::string::npos);
  engine->stop();
}

TEST_CASE("risk engine: a crash episode → VPIN warning at flash_crash priority → risk HALT", "[risk][vpin][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector warnings(*router, BusKind::kEngine, "vpin.alert.*");
  test::Collector states(*router, BusKind::kEngine, "risk.state");
  auto vpin = make_vpin_engine();
  auto risk = make_risk_engine();
  vpin->start(EngineContext{*router, clock,
                            {{"bar_seconds", 1}, {"bucket_volume", 1000}, {"window_buckets", 20},
                             {"cdf_window", 1000}, {"min_cdf_samples", 200}}});
  // A VPIN halt lasts 5 simulated seconds, then the state follows the limits
  // (no cooldown): a calm-period false alarm has cleared long before the crash,
  // and the crash's halt still holds when the test ends within that second,
  // whatever the interleaving of the two buses' threads.
  risk->start(EngineContext{*router, clock, {{"vpin_halt_seconds", 5}, {"cooldown_seconds", 0}}});

  // Calm for 400 s (≈1 bucket a second), then 30 s of a 0.3%-a-second plunge on
  // ten times the volume.
  std::mt19937_64 rng(2012);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::uniform_int_distribution<int> size(50, 150);
  const std::int64_t t0 = clock.now_ns() - clock.now_ns() % kSec + kSec;
  constexpr int kCalm = 400, kCrash = 30;
  double p = 100.0;
  int seq = 0, first_crash_seq = -1;
  for (int s = 0; s < kCalm + kCrash; ++s) {
    const bool crash = s >= kCalm;
    for (int k = 0; k < 10; ++k) {
      const std::int64_t ts = t0 + s * kSec + k * (kSec / 10);
      clock.advance_to(ts);
      p = crash ? p * (1.0 - 0.0003) : std::max(1.0, p + noise(rng));
      if (crash && first_crash_seq < 0) first_crash_seq = seq;
      auto m = msg("marketdata.real_time.trade.AAPL", MessageType::kTrade,
                   {{"ts_ns", ts}, {"price", p}, {"size", size(rng) * (crash ? 10 : 1)}});
      m->correlation_id = "t" + std::to_string(seq++);
      m->origin_ns = ts;
      REQUIRE(router->publish(m).is_ok());
    }
    // Settled every second of the crash, so the loop stops right after the
    // first crash warning has gone through the whole chain.
    if (crash || s % 20 == 0) REQUIRE(test::settle(*router));
    if (crash && !warnings.messages().empty() &&
        std::stoi(warnings.messages().back()->correlation_id.substr(1)) >= first_crash_seq) {
      break;
    }
  }
  REQUIRE(test::settle(*router));

  // The first warning in the crash (a calm-period CDF of 1.0 can warn too: the
  // empirical CDF sits at its maximum ~1% of the time by construction).
  MessagePtr crash_warning;
  for (const auto& w : warnings.messages()) {
    CHECK(w->type == MessageType::kFlashCrashWarning);
    CHECK(w->priority == Priority::kFlashCrash);
    const int trade_seq = std::stoi(w->correlation_id.substr(1));
    if (trade_seq >= first_crash_seq && !crash_warning) crash_warning = w;
  }
  REQUIRE(crash_warning);
  CHECK(crash_warning->topic == "vpin.alert.AAPL");
  CHECK(payload(crash_warning)["cdf"].get<double>() >= 0.99);
  CHECK(crash_warning->origin_ns >= t0 + kCalm * kSec);

  // Risk went HALTED on that warning's chain, at urgent priority.
  bool halted_by_crash = false;
  INFO("warnings: " << warnings.messages().size() << ", state changes: " << states.messages().size());
  for (const auto& s : states.messages()) {
    CHECK(s->priority == Priority::kUrgent);
    if (payload(s)["to"] == "HALTED" && s->correlation_id == crash_warning->correlation_id) halted_by_crash = true;
  }
  CHECK(halted_by_crash);
  CHECK(risk->command("state", {})["state"] == "HALTED");
  CHECK(risk->command("check", {{"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 1}})["approved"] == false);
  vpin->stop();
  risk->stop();
}

TEST_CASE("risk engine: config problems by key path, the same list at start", "[risk][engine][config]") {
  struct Case {
    const char* name;
    nlohmann::json config;
    std::vector<std::pair<std::string, std::string>> want;  // (key, part of the reason)
  };
  const std::vector<Case> cases = {
      {"empty section: the defaults", nlohmann::json::object(), {}},
      {"a valid section", {{"cooldown_seconds", 0}, {"limits", {{"leverage", 3.0}}}, {"topics", {{"vpin", "vpin.alert.*"}}}}, {}},
      {"unknown key", {{"bogus", 1}}, {{"bogus", "unknown key"}}},
      {"range", {{"hysteresis", 1.5}}, {{"hysteresis", "must be between 0 and 1 (got 1.5)"}}},
      {"open bound", {{"initial_equity", 0}}, {{"initial_equity", "must be above 0"}}},
      {"type", {{"var_window", 2.5}}, {{"var_window", "must be an integer (got a number)"}}},
      {"relation", {{"var_window", 100}, {"var_min_samples", 200}, {"vol_long_window", 50}},
       {{"var_min_samples", "at most var_window (100)"}}},
      {"unknown limit kind", {{"limits", {{"nope", 1}}}}, {{"limits.nope", "unknown limit kind"}}},
      {"limit table key", {{"limits", {{"drawdown", {{"limit", 0.2}, {"halt", 1}}}}}}, {{"limits.drawdown.halt", "unknown key"}}},
      {"limit range", {{"limits", {{"leverage", {{"halt_at", 0.5}}}}}}, {{"limits.leverage.halt_at", "must be between 1 and"}}},
      {"per-symbol limit of a portfolio kind", {{"symbols", {{"AAPL", {{"leverage", 2}}}}}},
       {{"symbols.AAPL.leverage", "portfolio-wide"}}},
      {"per-symbol value", {{"symbols", {{"AAPL", {{"position_quantity", -5}}}}}},
       {{"symbols.AAPL.position_quantity", "must be between 0 and"}}},
      {"topics: a pattern or a list", {{"topics", {{"orders", 5}, {"fills", {1}}, {"extra", "x"}}}},
       {{"topics.orders", "must be an array of strings"}, {"topics.fills[0]", "must be a string"}, {"topics.extra", "unknown key"}}},
  };
  auto engine = make_risk_engine();
  for (const auto& cs : cases) {
    SECTION(cs.name) {
      auto problems = engine->config_problems(cs.config);
      INFO(join_problems(problems));
      REQUIRE(problems.size() == cs.want.size());
      for (const auto& [key, reason] : cs.want) {
        bool found = false;
        for (const auto& p : problems) found = found || (p.key == key && p.reason.find(reason) != std::string::npos);
        CHECK(found);
      }
      SimulatedClock clock;
      auto router = Router::from_urls("inproc://", "inproc://", &clock);
      auto e = make_risk_engine();
      if (cs.want.empty()) {
        e->start(EngineContext{*router, clock, cs.config});
        CHECK(e->state() == EngineState::kRunning);
        e->stop();
      } else {
        CHECK_THROWS_AS(e->start(EngineContext{*router, clock, cs.config}), std::runtime_error);
        CHECK(e->state() == EngineState::kError);
      }
    }
  }
}

TEST_CASE("risk engine: every halt, resume and state change is logged at warn with its reason", "[risk][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> lines;
  auto engine = make_risk_engine();
  engine->start(EngineContext{*router, clock, {{"cooldown_seconds", 0}, {"vpin_halt_seconds", 0}},
                              [&](std::string_view level, const std::string& line) {
                                std::lock_guard lock(mu);
                                lines.emplace_back(std::string(level), line);
                              }});
  auto logged = [&](const std::string& part) {
    std::lock_guard lock(mu);
    for (const auto& [level, line] : lines) {
      if (line.find(part) != std::string::npos) return level;
    }
    return std::string();
  };

  // A flash crash warning halts: the warning and the state change are logged.
  auto warning = msg("vpin.alert.AAPL", MessageType::kFlashCrashWarning,
                     {{"symbol", "AAPL"}, {"vpin", 0.97}, {"cdf", 0.999}, {"message", "VPIN 0.970 on AAPL"}});
  warning->priority = Priority::kFlashCrash;
  REQUIRE(router->publish(warning).is_ok());
  REQUIRE(test::settle(*router));
  CHECK(engine->command("state", {})["state"] == "HALTED");
  CHECK(logged("engine 'risk': flash crash warning on AAPL (VPIN 0.970 on AAPL): trading halted") == "warn");
  CHECK(logged("trading state ACTIVE -> HALTED: flash crash warning on AAPL") == "warn");

  // The operator: a halt (the state is already HALTED: logged anyway), a resume.
  engine->command("halt", {{"reason", "desk says stop"}});
  CHECK(logged("halt requested: desk says stop") == "warn");
  engine->command("resume", {});
  CHECK(logged("resume requested by the operator") == "warn");
  // The operator's resume lifts the halt; the AAPL toxicity (CDF 0.999 over
  // its 0.95 limit) is still a breach, so the state steps down to REDUCING
  // only, and says why.
  CHECK(engine->command("state", {})["state"] == "REDUCING");
  CHECK(logged("trading state HALTED -> REDUCING: vpin_toxicity") == "warn");
  engine->stop();
}
