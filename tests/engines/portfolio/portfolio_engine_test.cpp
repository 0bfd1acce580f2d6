// The portfolio engine with the real risk engine on in-process buses and the
// simulated clock: order → risk decision → fill at the first quote after the
// decision → position update → risk sees the position. Bad input refused and
// counted; a halt cancels what waits to fill.
#include <catch2/catch.hpp>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/portfolio/portfolio_engine.h"
#include "engines/registry.h"
#include "engines/risk/risk_engine.h"

#include <cmath>
#include <set>

using namespace nautilus;

namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000 * kMs;

nlohmann::json payload(const MessagePtr& m) { return nlohmann::json::parse(m->payload); }

struct Rig {
  SimulatedClock clock;
  std::unique_ptr<Router> router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector fills{*router, BusKind::kEngine, "portfolio.fill.*"};
  test::Collector positions{*router, BusKind::kEngine, "portfolio.position.*"};
  test::Collector summaries{*router, BusKind::kEngine, "portfolio.summary"};
  test::Collector decisions{*router, BusKind::kEngine, "risk.decision.*"};
  std::unique_ptr<Engine> risk = make_risk_engine();
  std::unique_ptr<Engine> portfolio = make_portfolio_engine();

  explicit Rig(nlohmann::json portfolio_config) {
    // Risk's default topics: it takes the position from portfolio.position.*
    // and not portfolio.fill.* (which would count each fill twice).
    risk->start(EngineContext{*router, clock, {{"cooldown_seconds", 0}}});
    portfolio->start(EngineContext{*router, clock, std::move(portfolio_config)});
  }
  ~Rig() {
    portfolio->stop();
    risk->stop();
  }

  void quote(const std::string& symbol, double bid, double ask, std::int64_t ts, bool wait = true) {
    auto m = make_message("marketdata.real_time.quote." + symbol, MessageType::kQuote,
                          nlohmann::json{{"symbol", symbol}, {"bid", bid}, {"ask", ask}, {"ts_ns", ts}}.dump());
    m->origin_ns = ts;
    REQUIRE(router->publish(m).is_ok());
    if (wait) REQUIRE(test::settle(*router));
  }
  std::shared_ptr<Message> order(const nlohmann::json& body, const std::string& correlation = {}) {
    auto m = make_message("strategy.order." + body.value("symbol", std::string("X")), MessageType::kOrder, body.dump(),
                          Priority::kHigh, "strategy");
    m->correlation_id = correlation;
    m->origin_ns = clock.now_ns() - 5 * kMs;
    REQUIRE(router->publish(m).is_ok());
    REQUIRE(test::settle(*router));
    return m;
  }
  nlohmann::json metrics() { return portfolio->health().metrics; }
  nlohmann::json counters() { return metrics()["counters"]; }
};

}  // namespace

TEST_CASE("portfolio engine: order → risk approval → fill at the quote after the decision → position", "[portfolio][engine]") {
  Rig rig({{"initial_cash", 1'000'000}, {"commission_per_share", 0.01}, {"commission_min", 1.0},
           {"slippage_ticks", 1}, {"tick_size", 0.01}, {"summary_interval", "1s"}});
  const std::int64_t t0 = rig.clock.now_ns();
  rig.quote("AAPL", 99.9, 100.1, t0);

  auto o1 = rig.order({{"id", "o1"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 50}}, "tick-1");
  auto decisions = rig.decisions.messages();
  REQUIRE(decisions.size() == 1);
  CHECK(payload(decisions[0])["approved"] == true);
  const std::int64_t decided = decisions[0]->timestamp_ns;
  CHECK(rig.fills.messages().empty());  // the quote before the decision is not used

  // A late quote stamped before the decision does not fill it either.
  rig.clock.advance_by(10 * kMs);
  rig.quote("AAPL", 99.0, 99.2, decided - 1);
  CHECK(rig.fills.messages().empty());
  rig.quote("AAPL", 100.2, 100.3, rig.clock.now_ns());

  auto fills = rig.fills.messages();
  REQUIRE(fills.size() == 1);
  const auto& f = fills[0];
  auto fj = payload(f);
  CHECK(f->topic == "portfolio.fill.AAPL");
  CHECK(f->type == MessageType::kFill);
  CHECK(f->priority == Priority::kHigh);
  CHECK(f->source == "portfolio");
  CHECK(f->correlation_id == "tick-1");
  CHECK(f->origin_ns == o1->origin_ns);
  CHECK(fj["order_id"] == "o1");
  CHECK(fj["side"] == "buy");
  CHECK(fj["quantity"] == 50.0);
  CHECK(fj["price"].get<double>() == Approx(100.31));  // the ask + one tick
  CHECK(fj["commission"].get<double>() == Approx(1.0));  // 50 × 0.01 = 0.50 → the minimum
  CHECK(fj["realized_pnl"].get<double>() == Approx(-1.0));
  CHECK(fj["decision_ns"] == decided);
  CHECK(fj["market_ns"].get<std::int64_t>() >= decided);

  auto pos = rig.positions.messages();
  REQUIRE(pos.size() == 1);
  auto pj = payload(pos[0]);
  CHECK(pos[0]->type == MessageType::kPositionUpdate);
  CHECK(pos[0]->correlation_id == "tick-1");
  CHECK(pj["quantity"] == 50.0);
  CHECK(pj["avg_price"].get<double>() == Approx(100.31));
  CHECK(pj["unrealized_pnl"].get<double>() == Approx((100.2 - 100.31) * 50));  // a long at the bid

  // Risk sees the position.
  auto rs = rig.risk->command("state", {});
  CHECK(rs["positions"]["AAPL"]["quantity"] == 50.0);

  // The book, through the commands and metrics the CLI reads.
  auto show = rig.portfolio->command("show", {});
  CHECK(show["cash"].get<double>() == Approx(1'000'000 - 50 * 100.31 - 1.0));
  CHECK(show["equity"].get<double>() == Approx(1'000'000 - 50 * 100.31 - 1.0 + 50 * 100.2));
  CHECK(show["gross_exposure"].get<double>() == Approx(50 * 100.2));
  auto m = rig.metrics();
  CHECK(m["symbols"]["AAPL"]["qty"] == 50.0);
  CHECK(m["symbols"]["AAPL"]["avg"].get<double>() == Approx(100.31));
  CHECK(m["symbols"]["AAPL"]["last"].get<double>() == Approx(100.2));
  CHECK(m["symbols"]["AAPL"]["realised"].get<double>() == Approx(-1.0));
  CHECK(m["symbols"]["AAPL"]["unrealised"].get<double>() == Approx(-5.5));
  auto pnl = rig.portfolio->command("pnl", {});
  CHECK(pnl["total_pnl"].get<double>() == Approx(-6.5));

  // Denied by risk (500k > the 100k order-notional limit): dropped, counted, never filled.
  rig.order({{"id", "big"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 5000}});
  rig.clock.advance_by(10 * kMs);
  rig.quote("AAPL", 100.2, 100.3, rig.clock.now_ns());
  CHECK(rig.fills.messages().size() == 1);
  CHECK(rig.counters()["rejected"] == 1);
  CHECK(rig.counters()["approved"] == 1);

  // A sell at the bid minus the tick, realising against the average.
  rig.order({{"id", "o2"}, {"symbol", "AAPL"}, {"side", "sell"}, {"quantity", 20}});
  rig.clock.advance_by(10 * kMs);
  rig.quote("AAPL", 101.0, 101.1, rig.clock.now_ns());
  fills = rig.fills.messages();
  REQUIRE(fills.size() == 2);
  CHECK(payload(fills[1])["price"].get<double>() == Approx(100.99));
  CHECK(payload(fills[1])["realized_pnl"].get<double>() == Approx((100.99 - 100.31) * 20 - 1.0));
  CHECK(payload(rig.positions.messages().back())["quantity"] == 30.0);
  CHECK(rig.risk->command("state", {})["positions"]["AAPL"]["quantity"] == 30.0);
}

TEST_CASE("portfolio engine: bad input is refused, counted, and changes nothing", "[portfolio][engine]") {
  Rig rig(nlohmann::json{{"decision_grace", "500ms"}});
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());
  rig.order({{"id", "ok"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 10}});
  rig.clock.advance_by(kMs);
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());
  REQUIRE(rig.fills.messages().size() == 1);
  const auto before = rig.portfolio->command("show", {});
  const auto risk_before = rig.decisions.messages().size();

  rig.order({{"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 0}});
  rig.order({{"symbol", "AAPL"}, {"side", "buy"}, {"quantity", -5}});
  rig.order({{"symbol", "AAPL"}, {"quantity", 0}});
  rig.order({{"symbol", "AAPL"}, {"side", "hold"}, {"quantity", 5}});
  rig.order({{"id", "zzz"}, {"symbol", "ZZZ"}, {"side", "buy"}, {"quantity", 5}});  // never quoted
  // A decision for an order that does not exist.
  auto ghost = make_message("risk.decision.AAPL", MessageType::kOrder,
                            nlohmann::json{{"approved", true}, {"symbol", "AAPL"}, {"quantity", 10}, {"side", "buy"}}.dump(),
                            Priority::kHigh, "risk");
  ghost->correlation_id = "no-such-order";
  REQUIRE(rig.router->publish(ghost).is_ok());
  REQUIRE(test::settle(*rig.router));
  // A quote with bid > ask.
  rig.quote("AAPL", 100.5, 100.4, rig.clock.now_ns());
  // The ghost is counted once the grace for a late order has passed.
  rig.clock.advance_by(kSec);
  REQUIRE(test::settle(*rig.router));
  rig.clock.advance_by(kMs);
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());

  auto c = rig.counters();
  CHECK(c["bad_orders"] == 4);
  CHECK(c["unknown_symbol_orders"] == 1);
  CHECK(c["unknown_decisions"] == 1);
  CHECK(c["bad_quotes"] == 1);
  CHECK(c["approved"] == 1);
  CHECK(c["orders"] == 1);
  CHECK(rig.fills.messages().size() == 1);
  // Risk answered the ZZZ order (it has no market-data rule); its decision is
  // dropped quietly (the other new one on risk.decision.* is the ghost).
  CHECK(rig.decisions.messages().size() == risk_before + 2);
  const auto after = rig.portfolio->command("show", {});
  CHECK(after["cash"] == before["cash"]);
  CHECK(after["positions"] == before["positions"]);
  CHECK(after["pending_orders"].empty());
  CHECK(rig.metrics()["awaiting_decision"] == 0);
}

TEST_CASE("portfolio engine: a decision that overtakes its order is matched when the order arrives", "[portfolio][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector fills(*router, BusKind::kEngine, "portfolio.fill.*");
  auto engine = make_portfolio_engine();
  engine->start(EngineContext{*router, clock, nlohmann::json::object()});
  auto quote = [&](double bid, double ask) {
    REQUIRE(router->publish(make_message("marketdata.real_time.quote.MSFT", MessageType::kQuote,
                                         nlohmann::json{{"bid", bid}, {"ask", ask}}.dump())).is_ok());
    REQUIRE(test::settle(*router));
  };
  quote(50.0, 50.2);
  // The order message, made first (its id), published after its decision.
  auto order = make_message("strategy.order.MSFT", MessageType::kOrder,
                            nlohmann::json{{"symbol", "MSFT"}, {"side", "sell"}, {"quantity", 7}}.dump());
  order->id = MessageId{static_cast<std::uint64_t>(clock.now_ns()), 99};
  auto decision = make_message("risk.decision.MSFT", MessageType::kOrder, nlohmann::json{{"approved", true}}.dump(),
                               Priority::kHigh, "risk");
  decision->correlation_id = order->id.to_string();
  REQUIRE(router->publish(decision).is_ok());
  REQUIRE(test::settle(*router));
  REQUIRE(router->publish(order).is_ok());
  REQUIRE(test::settle(*router));
  clock.advance_by(kMs);
  quote(49.9, 50.1);
  auto f = fills.messages();
  REQUIRE(f.size() == 1);
  CHECK(payload(f[0])["price"] == 49.9);  // a sell at the bid, no slippage configured
  CHECK(payload(f[0])["quantity"] == 7.0);
  CHECK(engine->health().metrics["counters"]["unknown_decisions"] == 0);
  engine->stop();
}

TEST_CASE("portfolio engine: the summary is published on change, at most once per interval", "[portfolio][engine]") {
  Rig rig(nlohmann::json{{"summary_interval", "1s"}});
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());
  rig.order({{"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 10}});
  rig.clock.advance_by(kMs);
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());  // fills
  const auto first = rig.summaries.messages().size();
  CHECK(first >= 1);
  // Ten marks within the interval: nothing more now ...
  for (int i = 0; i < 10; ++i) rig.quote("AAPL", 100.0 + i * 0.01, 100.2 + i * 0.01, rig.clock.now_ns(), i == 9);
  CHECK(rig.summaries.messages().size() == first);
  // ... and one when the interval has passed, with the latest marks.
  rig.clock.advance_by(kSec);
  REQUIRE(test::settle(*rig.router));
  auto s = rig.summaries.messages();
  REQUIRE(s.size() == first + 1);
  CHECK(s.back()->type == MessageType::kPortfolioUpdate);
  CHECK(payload(s.back())["unrealized_pnl"].get<double>() == Approx((100.09 - 100.1) * 10));
  // Nothing changed since: no more summaries.
  rig.clock.advance_by(3 * kSec);
  REQUIRE(test::settle(*rig.router));
  CHECK(rig.summaries.messages().size() == first + 1);
}

TEST_CASE("portfolio engine: a halt cancels approved orders waiting to fill", "[portfolio][engine]") {
  Rig rig(nlohmann::json::object());
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());
  rig.order({{"id", "before-halt"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 10}});
  REQUIRE(rig.counters()["approved"] == 1);
  rig.risk->command("halt", {{"reason", "test"}});
  REQUIRE(test::settle(*rig.router));
  CHECK(rig.counters()["cancelled_on_halt"] == 1);
  // After the halt risk denies adding orders; nothing fills.
  rig.order({{"id", "after-halt"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 10}});
  rig.clock.advance_by(kMs);
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());
  CHECK(rig.fills.messages().empty());
  CHECK(rig.counters()["rejected"] == 1);
}

TEST_CASE("portfolio engine: an approval delivered after the halt fills only as far as it closes", "[portfolio][engine]") {
  // Risk approved these before it halted; the approvals reach the portfolio
  // after risk.state HALTED (separate subscriptions): the adding one is
  // dropped, the reducing ones fill until the position is flat, never past it
  // (risk judged both against the same long position of 8).
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector fills(*router, BusKind::kEngine, "portfolio.fill.*");
  auto engine = make_portfolio_engine();
  engine->start(EngineContext{*router, clock, nlohmann::json::object()});
  auto publish = [&](std::shared_ptr<Message> m) {
    REQUIRE(router->publish(std::move(m)).is_ok());
    REQUIRE(test::settle(*router));
  };
  auto order = [&](const char* side, double quantity, std::uint64_t seq) {
    auto o = make_message("strategy.order.MSFT", MessageType::kOrder,
                          nlohmann::json{{"symbol", "MSFT"}, {"side", side}, {"quantity", quantity}}.dump());
    o->id = MessageId{static_cast<std::uint64_t>(clock.now_ns()), seq};
    publish(o);
    return o->id.to_string();
  };
  auto approve = [&](const std::string& order_id, bool reduces) {
    auto d = make_message("risk.decision.MSFT", MessageType::kOrder,
                          nlohmann::json{{"approved", true}, {"reduces_exposure", reduces}}.dump(), Priority::kHigh, "risk");
    d->correlation_id = order_id;
    publish(d);
  };
  auto risk_state = [&](const char* state) {
    publish(make_message("risk.state", MessageType::kRiskAlert, nlohmann::json{{"state", state}}.dump(), Priority::kUrgent,
                         "risk"));
  };
  auto quote = [&] {
    clock.advance_by(kMs);
    publish(make_message("marketdata.real_time.quote.MSFT", MessageType::kQuote, nlohmann::json{{"bid", 49.9}, {"ask", 50.1}}.dump()));
  };
  quote();
  approve(order("buy", 8, 1), false);
  quote();
  REQUIRE(fills.messages().size() == 1);
  const std::string adding = order("buy", 5, 2);
  const std::string reducing = order("sell", 5, 3);
  const std::string also_reducing = order("sell", 5, 4);
  risk_state("HALTED");
  approve(adding, false);
  approve(reducing, true);
  approve(also_reducing, true);
  quote();
  auto f = fills.messages();
  REQUIRE(f.size() == 3);
  CHECK(payload(f[1])["side"] == "sell");
  CHECK(payload(f[1])["quantity"] == 5.0);
  CHECK(payload(f[1])["risk_state"] == "HALTED");  // what the engine knew as it filled
  CHECK(payload(f[2])["side"] == "sell");
  CHECK(payload(f[2])["quantity"] == 3.0);  // clipped at flat
  CHECK(payload(f[2])["opened_quantity"] == 0.0);
  CHECK(payload(f[2])["position"] == 0.0);
  auto c = engine->health().metrics["counters"];
  CHECK(c["dropped_while_halted"] == 1);
  CHECK(c["clipped_while_halted"] == 1);
  CHECK(c["approved"] == 3);

  // Once risk is ACTIVE again approvals fill as before.
  risk_state("ACTIVE");
  approve(order("buy", 5, 5), false);
  quote();
  REQUIRE(fills.messages().size() == 4);
  CHECK(payload(fills.messages()[3])["risk_state"] == "ACTIVE");
  CHECK(payload(fills.messages()[3])["opened_quantity"] == 5.0);
  engine->stop();
}

TEST_CASE("portfolio engine: a strategy's cancel withdraws its order, waiting for risk or to fill", "[portfolio][engine]") {
  Rig rig(nlohmann::json::object());
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());
  auto cancel = [&](const char* id) {
    auto m = make_message("strategy.cancel.AAPL", MessageType::kOrder,
                          nlohmann::json{{"action", "cancel"}, {"id", id}, {"symbol", "AAPL"}, {"instance", "ma"}}.dump(),
                          Priority::kUrgent, "strategy");
    REQUIRE(rig.router->publish(m).is_ok());
    REQUIRE(test::settle(*rig.router));
  };
  rig.order({{"id", "kept"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 10}, {"instance", "ma"}});
  rig.order({{"id", "withdrawn"}, {"symbol", "AAPL"}, {"side", "buy"}, {"quantity", 20}, {"instance", "ma"}});
  REQUIRE(rig.counters()["approved"] == 2);
  cancel("withdrawn");
  cancel("never-sent");
  CHECK(rig.counters()["cancels"] == 1);
  CHECK(rig.counters()["unknown_cancels"] == 1);
  rig.clock.advance_by(kMs);
  rig.quote("AAPL", 99.9, 100.1, rig.clock.now_ns());
  auto f = rig.fills.messages();
  REQUIRE(f.size() == 1);
  CHECK(payload(f[0])["order_id"] == "kept");
  CHECK(payload(f[0])["strategy"] == "ma");  // for analytics by strategy
  // A cancel for a filled order changes nothing.
  cancel("kept");
  CHECK(rig.counters()["unknown_cancels"] == 2);
  CHECK(rig.metrics()["symbols"]["AAPL"]["qty"] == 10.0);
}

TEST_CASE("portfolio engine: rebalance sends orders through risk; optimize on sampled prices", "[portfolio][engine]") {
  Rig rig({{"initial_cash", 100'000}, {"sample_interval", "1s"}});
  std::int64_t t = rig.clock.now_ns();
  // Two symbols with different paths, sampled once a second.
  for (int i = 0; i < 40; ++i) {
    const double a = 100.0 * (1.0 + 0.01 * std::sin(i * 0.7)) + i * 0.05;
    const double b = 50.0 * (1.0 + 0.02 * std::cos(i * 1.3)) + i * 0.01;
    rig.quote("AAPL", a - 0.01, a + 0.01, t, false);
    rig.quote("MSFT", b - 0.01, b + 0.01, t);
    rig.clock.advance_by(kSec);  // the sample timer runs here, on this thread
    t = rig.clock.now_ns();
  }
  auto r = rig.portfolio->command("optimize", {{"method", "min_variance"}, {"symbols", {"AAPL", "MSFT"}}});
  CHECK(r["observations"].get<int>() >= 38);
  const double wa = r["weights"]["AAPL"], wm = r["weights"]["MSFT"];
  CHECK(wa + wm == Approx(1.0).margin(1e-12));
  CHECK(wa >= 0.0);
  CHECK(wm >= 0.0);
  CHECK_THROWS_AS(rig.portfolio->command("optimize", {{"method", "nope"}}), std::invalid_argument);
  CHECK_THROWS_AS(rig.portfolio->command("optimize", {{"method", "efficient_risk"}}), std::invalid_argument);
  CHECK_THROWS_AS(rig.portfolio->command("optimize", {{"method", "min_variance"}, {"symbols", {"NOPE"}}}),
                  std::invalid_argument);
  auto given = rig.portfolio->command(
      "optimize", {{"method", "max_sharpe"}, {"prices", {{"A", {100, 101, 102, 101.5, 103}}, {"B", {10, 10.1, 10.0, 10.2, 10.1}}}}});
  CHECK(given["weights"]["A"].get<double>() + given["weights"]["B"].get<double>() == Approx(1.0));

  // 30% AAPL, 20% MSFT of 100k equity, at the mids.
  const auto price_a = rig.portfolio->command("positions", {});
  auto rb = rig.portfolio->command("rebalance", {{"weights", {{"AAPL", 0.3}, {"MSFT", 0.2}}}});
  REQUIRE(rb["orders"].size() == 2);
  CHECK(rig.counters()["approved"] == 2);  // risk approved both (each < 100k notional)
  rig.clock.advance_by(kMs);
  rig.quote("AAPL", 101.0, 101.02, rig.clock.now_ns());
  rig.quote("MSFT", 50.0, 50.02, rig.clock.now_ns());
  auto f = rig.fills.messages();
  REQUIRE(f.size() == 2);
  for (const auto& o : rb["orders"]) {
    const double target = o["target_weight"].get<double>() * 100'000 / o["price"].get<double>();
    CHECK(o["quantity"].get<double>() == std::trunc(target));
    CHECK(o["side"] == "buy");
  }
  CHECK_THROWS_AS(rig.portfolio->command("rebalance", {{"weights", {{"AAPL", 0.8}, {"MSFT", 0.5}}}}), std::invalid_argument);
  CHECK_THROWS_AS(rig.portfolio->command("rebalance", {{"weights", {{"ZZZ", 0.1}}}}), std::invalid_argument);
  (void)price_a;
}

TEST_CASE("portfolio engine: config problems by key; registered as a builtin kind", "[portfolio][engine]") {
  EngineRegistry registry;
  register_builtin_engines(registry);
  REQUIRE(registry.find("portfolio") != nullptr);
  auto e = registry.create("portfolio");
  CHECK(e->kind() == "portfolio");
  auto problems = e->config_problems({{"initial_cash", -1}, {"summary_interval", "soon"}, {"slippage_bps", "x"}, {"bogus", 1}});
  std::set<std::string> keys;
  for (const auto& p : problems) keys.insert(p.key);
  CHECK(keys == std::set<std::string>{"initial_cash", "summary_interval", "slippage_bps", "bogus"});
  CHECK(e->config_problems(nlohmann::json::object()).empty());
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  CHECK_THROWS_AS(e->start(EngineContext{*router, clock, {{"tick_size", 0}}}), std::runtime_error);
  CHECK(e->state() == EngineState::kError);
}
