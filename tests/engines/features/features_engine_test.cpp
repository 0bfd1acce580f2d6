// The features engine on an in-process router with the simulated clock.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "../engine_test_support.h"
#include "core/clock.h"
#include "engines/features/bar_builder.h"
#include "engines/features/feature_set.h"
#include "engines/features/features_engine.h"

using namespace nautilus;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

std::shared_ptr<Message> trade(const std::string& symbol, std::int64_t ts, double price, double size, int seq) {
  nlohmann::json p = {{"ts_ns", ts}, {"price", price}, {"size", size}, {"side", "B"}};
  auto m = make_message("marketdata.real_time.trade." + symbol, MessageType::kTrade, p.dump());
  m->correlation_id = "trade-" + symbol + "-" + std::to_string(seq);
  m->origin_ns = ts;
  return m;
}

nlohmann::json small_config() {
  return {{"intervals", {"1s", "1m"}}, {"sma_period", 5},  {"ema_period", 4},   {"rsi_period", 3},
          {"macd_fast", 3},            {"macd_slow", 6},   {"macd_signal", 3},  {"bollinger_period", 5},
          {"atr_period", 3},           {"volatility_period", 4}, {"vwap_period", 5}, {"close_delay", "2s"}};
}

features::FeatureParams small_params(std::int64_t interval_ns) {
  features::FeatureParams p;
  p.sma_period = 5;
  p.ema_period = 4;
  p.rsi_period = 3;
  p.macd_fast = 3;
  p.macd_slow = 6;
  p.macd_signal = 3;
  p.bollinger_period = 5;
  p.atr_period = 3;
  p.volatility_period = 4;
  p.vwap_period = 5;
  p.volatility_periods_per_year = 252.0 * 23'400.0 * kSec / static_cast<double>(interval_ns);
  return p;
}

struct Seen {
  std::string topic;
  std::string payload;
  std::string correlation;
  std::int64_t origin_ns;
  bool operator==(const Seen&) const = default;
};

struct Run {
  std::vector<Seen> updates;
  nlohmann::json status;
};

// 240 s of trades on AAPL and MSFT every 100 ms (alternating), and one trade
// on QUIET at the start; the clock advances a second at a time, the buses
// settled before each step so that the close timer never races a handler.
Run run_once(std::uint64_t seed) {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector updates(*router, BusKind::kEngine, "features.*");
  auto engine = make_features_engine();
  engine->start(EngineContext{*router, clock, small_config()});
  REQUIRE(engine->state() == EngineState::kRunning);

  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 0.05);
  std::uniform_int_distribution<int> size(1, 500);
  double prices[2] = {100.0, 50.0};
  const char* names[2] = {"AAPL", "MSFT"};
  const std::int64_t t0 = clock.now_ns() - clock.now_ns() % (60 * kSec) + 60 * kSec;
  clock.advance_to(t0);
  REQUIRE(router->publish(trade("QUIET", t0 + 1, 20.0, 10, 0)).is_ok());
  for (int i = 0; i < 2400; ++i) {
    const std::int64_t ts = t0 + i * (kSec / 10);
    if (i % 10 == 0) {
      // The close timer fires only inside advance_to, once the handlers are idle.
      REQUIRE(test::settle(*router));
      clock.advance_to(ts);
    }
    const int s = i % 2;
    prices[s] = std::max(1.0, std::round((prices[s] + step(rng)) * 100) / 100);
    REQUIRE(router->publish(trade(names[s], ts, prices[s], size(rng), i + 1)).is_ok());
  }
  REQUIRE(test::settle(*router));
  clock.advance_by(5 * kSec);  // the clock closes the last bars
  REQUIRE(test::settle(*router));
  Run run;
  for (const auto& m : updates.messages()) {
    CHECK(m->type == MessageType::kFeatureUpdate);
    CHECK(m->source == "features");
    run.updates.push_back({m->topic, m->payload, m->correlation_id, m->origin_ns});
  }
  run.status = engine->command("status", nlohmann::json::object());
  engine->stop();
  return run;
}

}  // namespace

TEST_CASE("features engine: feature_update per closed bar equals the calculators, same order every run",
          "[features][engine]") {
  const Run first = run_once(42);
  const Run second = run_once(42);
  REQUIRE_FALSE(first.updates.empty());
  CHECK(first.updates == second.updates);  // same outputs, same order, same chain ids

  // The same trades through a BarBuilder and a FeatureSet, for AAPL at 1 s.
  std::mt19937_64 rng(42);
  std::normal_distribution<double> step(0.0, 0.05);
  std::uniform_int_distribution<int> size(1, 500);
  double prices[2] = {100.0, 50.0};
  SimulatedClock probe;
  const std::int64_t t0 = probe.now_ns() - probe.now_ns() % (60 * kSec) + 60 * kSec;
  features::BarBuilder builder(kSec);
  features::FeatureSet reference(small_params(kSec));
  std::vector<features::FeatureValues> want;
  std::vector<features::Bar> want_bars;
  for (int i = 0; i < 2400; ++i) {
    const std::int64_t ts = t0 + i * (kSec / 10);
    const int s = i % 2;
    prices[s] = std::max(1.0, std::round((prices[s] + step(rng)) * 100) / 100);
    const double sz = size(rng);
    if (s != 0) continue;
    features::Bar closed;
    if (builder.add_trade(ts, prices[s], sz, closed) == features::TradeResult::kClosedBar) {
      REQUIRE(reference.update(closed).is_ok());
      want.push_back(reference.values());
      want_bars.push_back(closed);
    }
  }
  auto last = builder.close_due(INT64_MAX);
  REQUIRE(last.has_value());
  REQUIRE(reference.update(*last).is_ok());
  want.push_back(reference.values());
  want_bars.push_back(*last);

  std::vector<nlohmann::json> got;
  std::map<std::string, int> per_topic;
  for (const auto& u : first.updates) {
    ++per_topic[u.topic];
    if (u.topic == "features.1s.AAPL") got.push_back(nlohmann::json::parse(u.payload));
  }
  REQUIRE(got.size() == want.size());  // 240 bars
  auto same = [](const nlohmann::json& j, const std::optional<double>& v) {
    return v ? (j.is_number() && j.get<double>() == *v) : j.is_null();
  };
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("bar " << i);
    const auto& j = got[i];
    CHECK(j["symbol"] == "AAPL");
    CHECK(j["interval"] == "1s");
    CHECK(j["bar_index"] == i);
    CHECK(j["start_ns"] == want_bars[i].start_ns);
    CHECK(j["close_ns"] == want_bars[i].end_ns);
    CHECK(j["close"].get<double>() == want_bars[i].close);
    CHECK(j["volume"].get<double>() == want_bars[i].volume);
    CHECK(j["bar_vwap"].get<double>() == want_bars[i].vwap);
    const auto& v = want[i];
    CHECK(same(j["sma"], v.sma));
    CHECK(same(j["ema"], v.ema));
    CHECK(same(j["rsi"], v.rsi));
    CHECK(same(j["macd"], v.macd));
    CHECK(same(j["macd_signal"], v.macd_signal));
    CHECK(same(j["macd_histogram"], v.macd_histogram));
    CHECK(same(j["bollinger_upper"], v.bollinger_upper));
    CHECK(same(j["bollinger_lower"], v.bollinger_lower));
    CHECK(same(j["atr"], v.atr));
    CHECK(same(j["volatility"], v.volatility));
    CHECK(same(j["vwap"], v.vwap));
    CHECK(same(j["vwap_rolling"], v.vwap_rolling));
  }
  // Null, never 0, before each lookback: MACD(3,6,3) has lookback 7.
  CHECK(got[6]["macd"].is_null());
  CHECK(got[7]["macd"].is_number());
  CHECK(got[3]["sma"].is_null());
  CHECK(got[4]["sma"].is_number());

  // 1 m bars: 4 per active symbol; QUIET's one trade makes one bar of each
  // interval, closed by the clock (nothing else would ever close it).
  CHECK(per_topic["features.1m.AAPL"] == 4);
  CHECK(per_topic["features.1m.MSFT"] == 4);
  CHECK(per_topic["features.1s.MSFT"] == 240);
  CHECK(per_topic["features.1s.QUIET"] == 1);
  CHECK(per_topic["features.1m.QUIET"] == 1);

  // Chain ids: a bar closed by a trade carries that trade's; one the clock
  // closed carries its own last trade's.
  for (const auto& u : first.updates) {
    CHECK(u.correlation.rfind("trade-", 0) == 0);
    CHECK(u.origin_ns != 0);
    if (u.topic == "features.1s.QUIET") CHECK(u.correlation == "trade-QUIET-0");
  }

  // Status: symbols keyed by symbol, flat scalars per interval.
  const auto& syms = first.status["symbols"];
  REQUIRE(syms.contains("AAPL"));
  for (const auto& [key, value] : syms["AAPL"].items()) {
    INFO(key);
    CHECK((value.is_primitive()));
  }
  CHECK(syms["AAPL"]["1s.close"].get<double>() == want_bars.back().close);
  CHECK(syms["AAPL"]["1s.bars"] == 240);
  CHECK(same(syms["AAPL"]["1s.rsi"], want.back().rsi));
  CHECK(syms["AAPL"]["1m.bars"] == 4);
  CHECK(first.status["trades"] == 2401);
  CHECK(first.status["published"] == first.updates.size());
}

TEST_CASE("features engine: malformed trades and bad bars are counted, never published", "[features][engine]") {
  SimulatedClock clock;
  auto router = Router::from_urls("inproc://", "inproc://", &clock);
  test::Collector updates(*router, BusKind::kEngine, "features.*");
  auto engine = make_features_engine();
  engine->start(EngineContext{*router, clock, {{"intervals", {"1m"}}, {"input", "bars"}}});
  const std::int64_t t0 = clock.now_ns() - clock.now_ns() % (60 * kSec);
  auto bar = [&](std::int64_t start, double o, double h, double l, double c, double v, int interval_s = 60) {
    nlohmann::json p = {{"start_ns", start}, {"interval_s", interval_s}, {"open", o}, {"high", h},
                        {"low", l}, {"close", c}, {"volume", v}};
    return make_message("marketdata.real_time.bar.AAPL", MessageType::kBar, p.dump());
  };
  // Snapshots of a forming bar: the latest one counts, a later start closes it.
  REQUIRE(router->publish(bar(t0, 10, 10.5, 9.9, 10.2, 100)).is_ok());
  REQUIRE(router->publish(bar(t0, 10, 11.0, 9.8, 10.9, 250)).is_ok());
  REQUIRE(router->publish(bar(t0 + 60 * kSec, 10.9, 10.9, 10.9, 10.9, 1)).is_ok());
  // A bar of an interval not configured; a bar with high < low; one with a
  // negative volume; one missing its close; not JSON.
  REQUIRE(router->publish(bar(t0, 10, 11, 9, 10, 5, 1)).is_ok());
  REQUIRE(router->publish(bar(t0 + 120 * kSec, 10, 9, 11, 10, 5)).is_ok());
  REQUIRE(router->publish(bar(t0 + 180 * kSec, 10, 11, 9, 10, -5)).is_ok());
  REQUIRE(router->publish(make_message("marketdata.real_time.bar.AAPL", MessageType::kBar,
                                       "{\"start_ns\": 1, \"interval_s\": 60, \"open\": 1}")).is_ok());
  REQUIRE(router->publish(make_message("marketdata.real_time.bar.AAPL", MessageType::kBar, "not json")).is_ok());
  REQUIRE(router->publish(bar(t0 + 240 * kSec, 10, 10.5, 9.5, 10.1, 7)).is_ok());
  REQUIRE(router->publish(bar(t0 + 300 * kSec, 10, 10.5, 9.5, 10.1, 7)).is_ok());
  REQUIRE(test::settle(*router));

  auto msgs = updates.messages();
  // The bars at t0 (its last snapshot) and at t0+60s and t0+240s; the refused
  // ones published nothing and left the indicators alone.
  REQUIRE(msgs.size() == 3);
  auto j0 = nlohmann::json::parse(msgs[0]->payload);
  CHECK(j0["high"] == 11.0);
  CHECK(j0["volume"] == 250.0);
  CHECK(j0["bar_vwap"].get<double>() == Approx((11.0 + 9.8 + 10.9) / 3));  // the typical price
  CHECK(j0["sma"].is_null());
  auto j2 = nlohmann::json::parse(msgs[2]->payload);
  CHECK(j2["bar_index"] == 2);
  CHECK(j2["start_ns"] == t0 + 240 * kSec);
  auto status = engine->command("status", nlohmann::json::object());
  CHECK(status["malformed"] == 2);
  CHECK(status["unmatched_bars"] == 1);
  CHECK(status["refused_bars"] == 2);
  CHECK(status["refused_by_reason"]["high_below_low"] == 1);
  CHECK(status["refused_by_reason"]["negative_volume"] == 1);

  // reset_vwap starts a new session: the next bar's VWAP is its own price.
  CHECK(engine->command("reset_vwap", {{"symbol", "AAPL"}})["reset"] == 1);
  CHECK_THROWS_AS(engine->command("reset_vwap", {{"interval", "5m"}}), std::invalid_argument);
  REQUIRE(router->publish(bar(t0 + 360 * kSec, 10, 10.5, 9.5, 10.1, 7)).is_ok());
  REQUIRE(test::settle(*router));
  msgs = updates.messages();
  REQUIRE(msgs.size() == 4);
  auto j3 = nlohmann::json::parse(msgs[3]->payload);
  CHECK(j3["vwap"].get<double>() == Approx((10.5 + 9.5 + 10.1) / 3));
  engine->stop();
}

TEST_CASE("features engine: config_problems names every bad key; start refuses the same config",
          "[features][engine][config]") {
  auto engine = make_features_engine();
  CHECK(engine->config_problems(nlohmann::json::object()).empty());
  CHECK(engine->config_problems(small_config()).empty());
  struct Case {
    nlohmann::json config;
    std::string key;
  };
  const Case cases[] = {
      {{{"bogus", 1}}, "bogus"},
      {{{"intervals", {"1s", "fast"}}}, "intervals[1]"},
      {{{"intervals", {"7s"}}}, "intervals[0]"},       // does not divide a day
      {{{"intervals", {"1s", "1s"}}}, "intervals[1]"},  // repeated
      {{{"intervals", {"10ms"}}}, "intervals[0]"},     // below 100ms
      {{{"intervals", nlohmann::json::array()}}, "intervals"},
      {{{"intervals", "1s"}}, "intervals"},
      {{{"sma_period", 0}}, "sma_period"},
      {{{"rsi_period", "14"}}, "rsi_period"},
      {{{"volatility_period", 1}}, "volatility_period"},
      {{{"macd_fast", 26}}, "macd_fast"},  // not below macd_slow 26
      {{{"bollinger_k", -1}}, "bollinger_k"},
      {{{"input", "ticks"}}, "input"},
      {{{"close_delay", "soon"}}, "close_delay"},
      {{{"vwap_session", "1d"}, {"vwap_session_offset", "1d"}}, "vwap_session_offset"},
      {{{"max_symbols", 0}}, "max_symbols"},
  };
  for (const auto& c : cases) {
    INFO(c.config.dump());
    auto problems = engine->config_problems(c.config);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].key == c.key);
    SimulatedClock clock;
    auto router = Router::from_urls("inproc://", "inproc://", &clock);
    auto e = make_features_engine();
    CHECK_THROWS_AS(e->start(EngineContext{*router, clock, c.config}), std::runtime_error);
  }
  // Every problem at once.
  CHECK(engine->config_problems({{"sma_period", 0}, {"atr_period", -3}, {"oops", true}}).size() == 3);
}
