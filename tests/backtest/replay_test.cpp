// Incident replay (lib/backtest/replay.h): a backtest recorded through the
// Recorder reads back as the same market data timeline, replays with the
// same decisions, and a changed risk limit is found as the first difference.
// The comparison rules themselves (ignored fields, per-topic order, the
// earliest difference) are checked case by case on hand-made records.
#include <catch2/catch.hpp>

#include <cmath>

#include "backtest/replay.h"
#include "backtest_test_support.h"
#include "store/sqlite_store.h"

using namespace nautilus;
using namespace nautilus::backtest;

namespace {

using test::kMinute;
using test::kT0;
using test::alternating_bars_csv;
using test::momentum_config;

struct Replayed {
  std::size_t market_events = 0;
  std::vector<store::Record> decisions;
};

Replayed replay(const BacktestConfig& cfg, store::Store& recording) {
  Replayed out;
  auto events = recorded_market_events(recording, 0, INT64_MAX);
  out.market_events = events.size();
  RunOptions o;
  o.event_log = false;
  o.on_engine_message = [&](const Message& m) {
    if (is_decision_topic(m.topic)) out.decisions.push_back(store::to_record(m));
  };
  run_backtest(cfg, test::builtin_registry(), events, o);
  return out;
}

store::Record record(std::int64_t ts, std::string topic, std::string payload, MessageType type = MessageType::kOrder) {
  store::Record r;
  r.ts_ns = ts;
  r.topic = std::move(topic);
  r.type = type;
  r.payload = std::move(payload);
  return r;
}

}  // namespace

TEST_CASE("replay: a recorded backtest replays as identical; a changed risk limit is the first difference",
          "[backtest][replay]") {
  test::TempDir dir;
  const auto cfg = load_backtest_config(dir.write("config.toml", momentum_config()), test::builtin_registry());
  const auto events = parse_data_csv(alternating_bars_csv(12), "bars.csv", {});
  store::SqliteStore recording(dir.path("rec.db"));
  RunOptions o;
  o.record_to = &recording;
  const RunResult original = run_backtest(cfg, test::builtin_registry(), events, o);
  REQUIRE(original.fills.size() >= 2);

  // The market data reads back as the timeline that was published.
  const auto back = recorded_market_events(recording, 0, INT64_MAX);
  REQUIRE(back.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(back[i].at_ns == events[i].at_ns);
    CHECK(back[i].topic == events[i].topic);
    CHECK(back[i].payload == events[i].payload);
    CHECK(back[i].volume == events[i].volume);
  }

  const auto recorded = recorded_decisions(recording, 0, INT64_MAX);
  // Orders, approvals and fills were all recorded.
  const auto count = [&](std::string_view prefix) {
    return std::count_if(recorded.begin(), recorded.end(), [&](const store::Record& r) { return r.topic.starts_with(prefix); });
  };
  CHECK(count("strategy.order.") == static_cast<long>(original.decisions.orders));
  CHECK(count("risk.decision.") == static_cast<long>(original.decisions.approved + original.decisions.denied));
  CHECK(count("portfolio.fill.") == static_cast<long>(original.fills.size()));

  const Replayed same = replay(cfg, recording);
  CHECK(same.market_events == events.size());
  const auto c = compare_decisions(recorded, same.decisions);
  INFO(comparison_text(c));
  CHECK(c.identical());
  CHECK(c.recorded == recorded.size());
  CHECK(c.replayed == recorded.size());
  CHECK(comparison_text(c).ends_with("identical\n"));

  // An order limit under the strategy's order notional: the first order is denied.
  const auto tight = load_backtest_config(dir.write("tight.toml", momentum_config("[engines.risk.limits]\norder_notional = 500\n")),
                                          test::builtin_registry());
  // The same limit as an override, though the file has no [engines.risk.limits] table.
  const auto overridden = load_backtest_config(dir.path("config.toml"), test::builtin_registry(),
                                               {"risk.limits.order_notional=500"});
  const auto risk_section = [](const BacktestConfig& bc) {
    return std::find_if(bc.engines.begin(), bc.engines.end(), [](const EngineSpec& e) { return e.kind == "risk"; })->config;
  };
  CHECK(risk_section(overridden)["limits"]["order_notional"] == 500);
  CHECK(risk_section(overridden)["limits"] == risk_section(tight)["limits"]);
  const Replayed changed = replay(tight, recording);
  const auto d = compare_decisions(recorded, changed.decisions);
  REQUIRE_FALSE(d.identical());
  const DecisionDifference& first = *d.first_difference;
  CHECK(first.topic == "risk.decision.AAPL");
  CHECK(first.index == 0);
  REQUIRE(first.recorded);
  REQUIRE(first.replayed);
  CHECK(nlohmann::json::parse(first.recorded->payload)["approved"] == true);
  CHECK(nlohmann::json::parse(first.replayed->payload)["approved"] == false);
  CHECK(std::find(first.fields.begin(), first.fields.end(), "approved") != first.fields.end());
  // The first order itself is the same: the strategy decided before risk did.
  const auto orders_only = [](std::vector<store::Record> v) {
    std::erase_if(v, [](const store::Record& r) { return !r.topic.starts_with("strategy.order."); });
    return v;
  };
  const auto first_orders = compare_decisions(orders_only(recorded), orders_only(changed.decisions));
  if (!first_orders.identical()) CHECK(first_orders.first_difference->index > 0);
  const std::string text = comparison_text(d);
  CHECK_THAT(text, Catch::Contains("first difference: risk.decision.AAPL, message 1 on the topic"));
  CHECK_THAT(text, Catch::Contains("  recorded: "));
  CHECK_THAT(text, Catch::Contains("  replayed: "));
}

TEST_CASE("replay: what the comparison ignores and what it reports first", "[backtest][replay]") {
  const std::string fill = R"({"order_id":"a-1","symbol":"X","price":10.5,"market_ns":5,"decision_ns":4,"quantity":3})";
  struct Case {
    const char* what;
    std::vector<store::Record> recorded, replayed;
    bool identical;
    std::string topic;
    std::size_t index;
    std::vector<std::string> fields;
    bool ignore_prices = false;
  };
  const std::vector<Case> cases = {
      {"ids and timestamp fields differ",
       {record(10, "portfolio.fill.X", fill)},
       {record(11, "portfolio.fill.X",
               R"({"order_id":"b-9","symbol":"X","price":10.5,"market_ns":7,"decision_ns":6,"quantity":3})")},
       true, "", 0, {}},
      {"nested timestamps (a decision's breaches)",
       {record(1, "risk.decision.X", R"({"approved":false,"breaches":[{"kind":"order_notional","timestamp_ns":1}]})")},
       {record(1, "risk.decision.X", R"({"approved":false,"breaches":[{"kind":"order_notional","timestamp_ns":2}]})")},
       true, "", 0, {}},
      {"the order id quoted in a text",
       {record(1, "risk.decision.X", R"({"order_id":"t-100-13","breaches":[{"message":"order t-100-13 denied"}]})")},
       {record(1, "risk.decision.X", R"({"order_id":"t-200-1","breaches":[{"message":"order t-200-1 denied"}]})")},
       true, "", 0, {}},
      {"interleaving across topics differs",
       {record(1, "risk.state", R"({"state":"HALTED"})", MessageType::kRiskAlert), record(1, "vpin.alert.X", R"({"vpin":0.9})", MessageType::kFlashCrashWarning)},
       {record(1, "vpin.alert.X", R"({"vpin":0.9})", MessageType::kFlashCrashWarning), record(1, "risk.state", R"({"state":"HALTED"})", MessageType::kRiskAlert)},
       true, "", 0, {}},
      {"a price differs",
       {record(10, "portfolio.fill.X", fill)},
       {record(10, "portfolio.fill.X", R"({"order_id":"a-1","symbol":"X","price":10.6,"market_ns":5,"decision_ns":4,"quantity":3})")},
       false, "portfolio.fill.X", 0, {"price"}},
      {"a price differs, prices left out",
       {record(10, "portfolio.fill.X", R"({"price":10.5,"notional":31.5,"commission":1,"quantity":3})")},
       {record(10, "portfolio.fill.X", R"({"price":10.6,"notional":31.8,"commission":1.01,"quantity":3})")},
       true, "", 0, {}, true},
      {"a quantity differs, prices left out",
       {record(10, "portfolio.fill.X", R"({"price":10.5,"quantity":3})")},
       {record(10, "portfolio.fill.X", R"({"price":10.6,"quantity":4})")},
       false, "portfolio.fill.X", 0, {"quantity"}, true},
      {"the replay decided less",
       {record(1, "strategy.order.X", R"({"side":"buy"})"), record(2, "strategy.order.X", R"({"side":"sell"})")},
       {record(1, "strategy.order.X", R"({"side":"buy"})")},
       false, "strategy.order.X", 1, {}},
      {"the replay decided more, and a field only one side has",
       {record(5, "risk.state", R"({"state":"REDUCING"})", MessageType::kRiskAlert)},
       {record(5, "risk.state", R"({"state":"REDUCING","extra":1})", MessageType::kRiskAlert), record(6, "risk.state", R"({"state":"HALTED"})", MessageType::kRiskAlert)},
       false, "risk.state", 0, {"extra"}},
      {"the earliest difference wins over topic name order",
       {record(9, "portfolio.fill.X", R"({"price":1})", MessageType::kFill), record(3, "vpin.alert.X", R"({"vpin":0.5})", MessageType::kFlashCrashWarning)},
       {record(9, "portfolio.fill.X", R"({"price":2})", MessageType::kFill), record(3, "vpin.alert.X", R"({"vpin":0.6})", MessageType::kFlashCrashWarning)},
       false, "vpin.alert.X", 0, {"vpin"}},
      {"the envelope type differs",
       {record(1, "strategy.order.X", R"({"side":"buy"})", MessageType::kOrder)},
       {record(1, "strategy.order.X", R"({"side":"buy"})", MessageType::kTradingSignal)},
       false, "strategy.order.X", 0, {"type"}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto r = compare_decisions(c.recorded, c.replayed, {c.ignore_prices});
    INFO(comparison_text(r));
    REQUIRE(r.identical() == c.identical);
    if (c.identical) continue;
    CHECK(r.first_difference->topic == c.topic);
    CHECK(r.first_difference->index == c.index);
    CHECK(r.first_difference->fields == c.fields);
    CHECK(std::find(r.differing_topics.begin(), r.differing_topics.end(), c.topic) != r.differing_topics.end());
  }
}

TEST_CASE("replay: only recorded trades, quotes and bars are market events", "[backtest][replay]") {
  store::Record bar = record(kT0 + kMinute, "marketdata.real_time.bar.AAPL",
                             R"({"symbol":"AAPL","open":1,"close":2,"volume":300,"start_ns":)" + std::to_string(kT0) + "}",
                             MessageType::kBar);
  bar.bus = BusKind::kMarketData;
  bar.symbol = "AAPL";
  auto e = market_event_from_record(bar);
  REQUIRE(e);
  CHECK(e->kind == DataKind::kBars);
  CHECK(e->at_ns == kT0 + kMinute);  // delivered when it was recorded: at its close
  CHECK(e->ts_ns == kT0);
  CHECK(e->volume == 300.0);
  store::Record trade = bar;
  trade.topic = "marketdata.real_time.trade.AAPL";
  trade.type = MessageType::kTrade;
  trade.payload = R"({"symbol":"AAPL","price":1,"size":7})";
  REQUIRE(market_event_from_record(trade));
  CHECK(market_event_from_record(trade)->volume == 7.0);
  store::Record on_engine_bus = bar;
  on_engine_bus.bus = BusKind::kEngine;
  CHECK_FALSE(market_event_from_record(on_engine_bus));
  store::Record snapshot = bar;
  snapshot.type = MessageType::kMarketData;
  CHECK_FALSE(market_event_from_record(snapshot));
}
